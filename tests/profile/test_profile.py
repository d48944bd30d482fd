"""hlsgen profile: integer bits by hand, Keras as the oracle for the profiled values, configs written
from the profile, and the command end to end (slow: small data, 1 epoch)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from specs import REFERENCE, mnist_subset

from hlsgen.config import config_from_dict, load_config
from hlsgen.fixed import FixedType
from hlsgen.profile.ranges import (
    needed_integer_bits,
    overflow_count,
    precision_block,
    profile_values,
    uniform_precision,
    variant,
    write_config,
    zero_count,
)

T = FixedType.parse
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ integer bits by hand

def test_needed_integer_bits_by_hand():
    # ap_fixed<8,0> holds [-0.5, 0.4961]; ap_fixed<8,1> [-1, 0.9922]; ap_fixed<8,2> [-2, 1.984]
    assert needed_integer_bits(np.array([0.3, -0.5]), T("ap_fixed<8,3>")) == 0
    assert needed_integer_bits(np.array([0.3, -0.7]), T("ap_fixed<8,3>")) == 1
    assert needed_integer_bits(np.array([1.0]), T("ap_fixed<8,3>")) == 2
    # ap_ufixed<8,0> max 255/256: 0.999 (255.74 LSBs) truncates to 255, but rounds up to 1.0 under AP_RND
    assert needed_integer_bits(np.array([0.999]), T("ap_ufixed<8,3>")) == 0
    assert needed_integer_bits(np.array([0.999]), T("ap_ufixed<8,3,AP_RND>")) == 1
    # small values: negative I. ap_fixed<8,-2> holds [-0.125, 0.1240]
    assert needed_integer_bits(np.array([0.1, -0.125]), T("ap_fixed<8,1>")) == -2
    assert needed_integer_bits(np.zeros(5), T("ap_fixed<8,1>")) is None


def test_saturation_fraction_lets_outliers_saturate():
    values = np.concatenate([np.full(1000, 0.1), [100.0]])
    assert needed_integer_bits(values, T("ap_fixed<8,1>")) == 8            # 100 needs 7 bits + sign
    assert needed_integer_bits(values, T("ap_fixed<8,1>"), saturation=0.01) == -2
    assert needed_integer_bits(values, T("ap_fixed<8,1>"), saturation=0.0005) == 8  # 1/1001 > 0.0005
    with pytest.raises(ValueError, match="saturation"):
        needed_integer_bits(values, T("ap_fixed<8,1>"), saturation=1.5)


def test_overflow_and_zero_counts_agree_with_quantize():
    rng = np.random.default_rng(3)
    values = rng.normal(0, 2, 5000)
    t = T("ap_fixed<8,2,AP_RND_CONV,AP_SAT>")
    wide = T("ap_fixed<40,34,AP_RND_CONV,AP_SAT>")  # same LSB, never overflows here
    codes = wide.quantize(values)
    assert overflow_count(values, t) == np.count_nonzero((codes > t.max_code) | (codes < t.min_code)) > 0
    tiny = np.array([0.0, 1 / 128, 1 / 64, -1 / 128, 0.5])  # LSB 1/64: 1/128 is a tie, to even -> 0
    assert zero_count(tiny, t) == 2


def test_profile_values_recommends_unsigned_after_relu():
    t = T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
    p = profile_values("fc1", "result", t, np.array([0.0, 1.0, 5.5]), 0.0, unsigned=True)
    assert p.recommended == T("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>")   # 5.5 < 8: 3 bits unsigned
    assert (p.lo, p.hi, p.smallest) == (0.0, 5.5, 1.0)
    assert p.saturated == pytest.approx(1 / 3)                       # 5.5 > 3.97 in the signed type
    accum = profile_values("fc1", "accum", t, np.array([-3.0, 1.0]), 0.0)
    assert accum.recommended is None and accum.needed_integer == 3


# ------------------------------------------------------------------------------ configs

def _config_file(tmp_path: Path) -> Path:
    raw = copy.deepcopy(REFERENCE)
    raw["precision"]["layers"]["fc1"]["accum"] = "ap_fixed<30,15>"
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_precision_block_sets_every_type_and_keeps_the_rest(tmp_path):
    cfg = load_config(_config_file(tmp_path))
    raw = yaml.safe_load(cfg.source.read_text())
    types = {("input", "result"): T("ap_ufixed<8,0>"), ("conv1", "weight"): T("ap_fixed<8,2>"),
             ("fc1", "result"): T("ap_ufixed<8,4,AP_RND_CONV,AP_SAT>")}
    block = precision_block(cfg, raw, types)
    assert block["layers"]["conv1"] == {"weight": "ap_fixed<8,2>", "result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"}
    assert block["layers"]["fc1"]["accum"] == "ap_fixed<30,15>"               # the user's accumulator stays
    assert block["layers"]["fc1"]["result"] == "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"
    assert block["softmax"] == REFERENCE["precision"]["softmax"]
    new = variant(cfg, raw, block)
    assert new.precision["conv1"].weight == T("ap_fixed<8,2>")
    assert new.precision["pool1"].input == T("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>")  # the pool follows conv1


def test_uniform_precision_is_one_type_everywhere(tmp_path):
    cfg = load_config(_config_file(tmp_path))
    raw = yaml.safe_load(cfg.source.read_text())
    naive = variant(cfg, {**raw, "precision": {}}, uniform_precision(raw, 6, exact_accum=False))
    for name in ("conv1", "fc1", "fc2"):
        p = naive.precision[name]
        assert {str(p.weight), str(p.bias), str(p.result), str(p.accum)} == {"ap_fixed<8,6>"}
    exact = variant(cfg, raw, uniform_precision(raw, 4, exact_accum=True))
    assert str(exact.precision["fc1"].result) == "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"
    assert exact.precision["fc1"].accum_derived


def test_write_config_is_complete_and_builds_elsewhere(tmp_path):
    raw = copy.deepcopy(REFERENCE)
    raw["data"]["path"] = "data.npz"  # relative to the current directory
    src = tmp_path / "cfgdir" / "in.yaml"
    src.parent.mkdir()
    src.write_text(yaml.safe_dump(raw))
    cfg = load_config(src)
    block = precision_block(cfg, raw, {("fc2", "result"): T("ap_fixed<8,6,AP_RND_CONV,AP_SAT>")})
    out = tmp_path / "elsewhere" / "x.yaml"
    write_config(out, cfg, raw, block, "# header\n")
    assert out.read_text().startswith("# header\n")
    loaded = load_config(out)
    assert str(loaded.precision["fc2"].result) == "ap_fixed<8,6,AP_RND_CONV,AP_SAT>"
    assert str(loaded.output_dir) == "build/mnist_cnn_profiled"
    assert loaded.data.path == Path("data.npz").resolve()  # the same file, from wherever it is built
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


# ------------------------------------------------------------------------------ Keras as the oracle

def test_float_values_match_keras_layer_outputs():
    tf = pytest.importorskip("tensorflow")
    from hlsgen.profile.ranges import float_values
    from hlsgen.train import build_float_model

    cfg = config_from_dict(copy.deepcopy(REFERENCE))
    tf.keras.utils.set_random_seed(0)
    model = build_float_model(cfg)
    x = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 1)).astype(np.float32) / 256
    values = float_values(cfg, model, x)
    conv_out = tf.keras.Model(model.inputs, model.get_layer("conv1").output)(x).numpy()
    np.testing.assert_allclose(values[("conv1", "result")], conv_out, rtol=1e-5, atol=1e-6)
    assert values[("conv1", "accum")].min() < 0 <= values[("conv1", "result")].min()  # before / after ReLU
    probs = model(x).numpy()
    logits = values[("fc2", "result")]
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probs, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(values[("fc1", "weight")], model.get_layer("fc1").kernel.numpy())


def test_float_values_fold_batchnorm_and_follow_standalone_relu():
    tf = pytest.importorskip("tensorflow")
    from hlsgen.profile.ranges import float_values
    from hlsgen.train import build_float_model
    from hlsgen.train.codes import fold_batchnorm

    raw = copy.deepcopy(REFERENCE)
    raw["model"]["layers"][:1] = [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "linear"},
        {"type": "BatchNormalization", "name": "bn1"},
        {"type": "Activation", "name": "relu1", "activation": "relu"}]
    raw["precision"]["layers"].pop("conv1")
    cfg = config_from_dict(raw)
    tf.keras.utils.set_random_seed(1)
    model = build_float_model(cfg)
    bn = model.get_layer("bn1")
    bn.set_weights([np.full(2, 1.5), np.full(2, 0.25), np.full(2, 0.1), np.full(2, 4.0)])  # gamma beta mean var
    x = np.random.default_rng(1).integers(0, 256, (4, 28, 28, 1)).astype(np.float32) / 256
    values = float_values(cfg, model, x)
    bn_out = tf.keras.Model(model.inputs, bn.output)(x).numpy()
    np.testing.assert_allclose(values[("conv1", "accum")], bn_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values[("relu1", "result")], np.maximum(bn_out, 0), rtol=1e-5, atol=1e-6)
    conv = model.get_layer("conv1")
    w, b = fold_batchnorm(conv.kernel.numpy(), conv.bias.numpy(), bn)
    np.testing.assert_allclose(values[("conv1", "weight")], w)
    np.testing.assert_allclose(values[("conv1", "bias")], b)
    assert [k[0] for k in values][:6] == ["input", "conv1", "conv1", "conv1", "conv1", "relu1"]  # network order


# ------------------------------------------------------------------------------ the command (slow)

def hlsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_profile_command_end_to_end(tmp_path):
    mnist_subset(tmp_path / "small.npz", 1000, 200)
    raw = copy.deepcopy(REFERENCE)
    raw["data"]["path"] = str(tmp_path / "small.npz")
    raw["train"]["epochs"] = 1
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(raw))
    res = hlsgen("profile", "cfg.yaml", "--images", "300", "--apply", "x.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "precision:" in res.stdout and "most sensitive layer:" in res.stdout
    out = tmp_path / "build" / "mnist_cnn-profile"
    for name in ("summary.md", "profile.json", "precision.yaml", "ranges.png", "accuracy_vs_integer_bits.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "ranges.png").read_bytes()[:4] == b"\x89PNG"
    result = json.loads((out / "profile.json").read_text())
    assert result["profile_images"] == 300 and result["test_images"] == 200
    acc = result["accuracy"]
    assert set(acc) == {"float", "config_ptq", "profiled_ptq"}  # no cached QAT training here
    for key, value in acc.items():
        assert value * 200 == round(value * 200), (key, value)  # a count of the 200 test images
    assert acc["float"] > 0.2, acc  # well above chance (0.1): 8 training steps got it to 0.365 here
    assert abs(acc["profiled_ptq"] - acc["float"]) <= 0.05, acc  # the profiled types keep the float accuracy
    # the hardware's own weights and biases: the float ones rounded half to even and saturated into the
    # configured types (naive PTQ, no QAT cached), so their range is the float range rounded
    from hlsgen.train.codes import round_codes

    params = [p for p in result["profiles"] if p["quantity"] in ("weight", "bias")]
    assert {p["layer"] for p in params} == {"conv1", "fc1", "fc2"} and len(params) == 6
    for p in params:
        t = T(p["current"])
        hw = (round_codes(t, np.array([p["min"], p["max"]])) * t.lsb).tolist()
        assert [p["hw_min"], p["hw_max"]] == hw, p
    applied = load_config(tmp_path / "x.yaml")
    for p in result["profiles"]:
        if p["recommended"] and p["layer"] != "input":
            assert str(getattr(applied.precision[p["layer"]], p["quantity"])) == p["recommended"]
    # the profiled config builds, and its hardware is bit-exact with the golden model
    if shutil.which("g++") and shutil.which("make"):
        build = hlsgen("build", "x.yaml", "--output", "prj", "--images", "10", cwd=tmp_path)
        assert build.returncode == 0, build.stderr[-3000:]
        csim = subprocess.run(["make", "--no-print-directory", "-C", str(tmp_path / "prj"), "csim", "HLS_TOOL=gxx"],
                              capture_output=True, text=True, timeout=900)
        assert csim.returncode == 0 and "csim: 10/10 images bit-exact" in csim.stdout, csim.stdout[-3000:]
    # nothing is overwritten silently: the same command again refuses the existing OUT.yaml
    before = (tmp_path / "x.yaml").read_text()
    again = hlsgen("profile", "cfg.yaml", "--images", "300", "--apply", "x.yaml", cwd=tmp_path)
    assert again.returncode == 2 and "x.yaml: exists" in again.stderr and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert (tmp_path / "x.yaml").read_text() == before


def test_profile_rejects_bad_arguments(tmp_path):
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(REFERENCE))
    res = hlsgen("profile", "cfg.yaml", "--saturation", "2", cwd=tmp_path)
    assert res.returncode == 2 and "--saturation" in res.stderr and "Traceback" not in res.stderr
    res = hlsgen("profile", "cfg.yaml", "--apply", "cfg.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "exists" in res.stderr
