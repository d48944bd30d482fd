"""Config validation: the reference config resolves, and every bad input gets a one-line error."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hlsgen.config import config_from_dict, load_config, quote_types
from hlsgen.config.precision import derive_accum
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType

ROOT = Path(__file__).resolve().parents[2]
MNIST_YAML = ROOT / "configs" / "mnist.yaml"


def base() -> dict:
    return yaml.safe_load(quote_types(MNIST_YAML.read_text()))


def test_reference_config_resolves():
    cfg = load_config(MNIST_YAML)
    assert cfg.name == "mnist_cnn"
    assert [lc.name for lc in cfg.layers] == ["conv1", "pool1", "flatten", "fc1", "drop1", "fc2"]
    assert cfg.layer("conv1").output_shape == (26, 26, 2)
    assert cfg.layer("pool1").output_shape == (13, 13, 2)
    assert cfg.layer("flatten").output_shape == (338,)
    assert cfg.layer("fc2").output_shape == (10,)
    p = cfg.precision
    assert str(p["conv1"].input) == "ap_ufixed<8,0>"
    assert str(p["conv1"].result) == "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"
    assert p["pool1"].result == p["conv1"].result  # max pooling keeps its input type
    assert p["fc1"].input == p["pool1"].result
    assert str(p["fc2"].weight) == "ap_fixed<8,2>"
    assert str(p["fc1"].weight) == "ap_fixed<8,1>"
    assert cfg.hls.reuse_factor == {"conv1": 9, "fc1": 338, "fc2": 64}
    assert "drop1" not in p and "flatten" not in p


def test_derived_accum_is_overflow_free_by_hand():
    # conv1: 9 products of ap_ufixed<8,0> (codes 0..255, frac 8) x ap_fixed<8,1> (codes -128..127, frac 7)
    # -> product codes in [-32640, 32385] at frac 15; 9 of them plus a bias (frac 7 -> x256):
    #    lo = 9*-32640 - 128*256 = -326528, hi = 9*32385 + 127*256 = 303977 -> 20 signed bits.
    cfg = load_config(MNIST_YAML)
    acc = cfg.precision["conv1"].accum
    assert (acc.width, acc.frac, acc.signed) == (20, 15, True)
    assert cfg.precision["conv1"].accum_derived
    t = derive_accum(FixedType.parse("ap_ufixed<2,0>"), FixedType.parse("ap_ufixed<2,0>"),
                     FixedType.parse("ap_ufixed<1,0>"), 1)
    # product max 3*3 = 9 at frac 4, bias max 1 at frac 1 -> 8 at frac 4: 17 -> 5 unsigned bits
    assert (t.width, t.frac, t.signed) == (5, 4, False)


def test_resolved_yaml_round_trips_and_names_derived_types():
    cfg = load_config(MNIST_YAML)
    text = cfg.resolved_yaml()
    data = yaml.safe_load(text)
    assert data["precision"]["layers"]["fc1"]["input"] == "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"
    assert data["precision"]["layers"]["fc1"]["accum"] == "ap_fixed<25,13>"
    assert "# accum derived (overflow-free) for: conv1, fc1, fc2" in text
    assert data["hls"]["reuse_factor"]["fc1"] == 338
    assert cfg.digest() == load_config(MNIST_YAML).digest()


def test_same_padding_and_strides_shapes():
    raw = base()
    raw["model"]["layers"][0].update(padding="same", strides=2)
    cfg = config_from_dict(raw)
    assert cfg.layer("conv1").output_shape == (14, 14, 2)
    assert cfg.layer("pool1").output_shape == (7, 7, 2)


def test_batchnorm_and_activation_layers():
    raw = base()
    raw["model"]["layers"][0]["activation"] = "linear"
    raw["model"]["layers"][1:1] = [{"type": "BatchNormalization", "name": "bn1"},
                                   {"type": "Activation", "name": "act1", "activation": "relu"}]
    cfg = config_from_dict(raw)
    assert cfg.layer("bn1").args["epsilon"] == 0.001
    assert "act1" in cfg.precision


def _mutate(path_value):
    raw = base()
    path, value = path_value
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


DELETE = object()
BAD = [
    ((["model", "layers", 0, "filtres"], 2), "model.layers[0] (conv1).filtres: unknown argument for Conv2D; "
     "did you mean 'filters'?"),
    ((["hls", "io_typ"], "io_stream"), "hls.io_typ: unknown key; did you mean 'io_type'?"),
    ((["trian"], {}), "trian: unknown key; did you mean 'train'?"),
    ((["train", "epochs"], "twelve"), "train.epochs: expected an integer, got 'twelve'"),
    ((["precision", "default", "weight"], "ap_fixed<8,9>"), "precision.default.weight: 'ap_fixed<8,9>' "
     "has more integer bits than width"),
    ((["precision", "default", "weight"], "ap_fixed<0,0>"), "precision.default.weight: 'ap_fixed<0,0>'"),
    ((["precision", "default", "weight"], "ap_fixed<8>x"), "precision.default.weight: 'ap_fixed<8>x'"),
    ((["precision", "default", "result"], "ap_fixed<8,3,AP_RND_NEAR,AP_SAT>"),
     "precision.default.result: 'ap_fixed<8,3,AP_RND_NEAR,AP_SAT>'"),
    ((["precision", "layers", "fc3"], {"result": "ap_fixed<8,3>"}), "precision.layers.fc3: no layer of that "
     "name; did you mean 'fc2'?"),
    ((["precision", "layers", "drop1"], {"result": "ap_fixed<8,3>"}), "precision.layers.drop1: a Dropout layer "
     "does no arithmetic"),
    ((["precision", "layers", "fc1", "wieght"], "ap_fixed<8,1>"), "precision.layers.fc1.wieght: unknown key; "
     "did you mean 'weight'?"),
    ((["hls", "reuse_factor", "fc9"], 4), "hls.reuse_factor.fc9: unknown key"),
    ((["hls", "io_type"], "io_serial"), "hls.io_type: 'io_serial' is not one of io_stream, io_parallel"),
    ((["hls", "softmax"], "fast"), "hls.softmax: 'fast' is not one of"),
    ((["model", "layers", 0, "type"], "Conv3D"), "model.layers[0].type: unsupported layer type 'Conv3D'; "
     "supported: Conv2D, Dense"),
    ((["name"], "mnist-cnn"), "name: 'mnist-cnn' is not a C identifier"),
    ((["model", "layers", 0, "name"], "1conv"), "model.layers[0].name: '1conv' is not a C identifier"),
    ((["model", "layers", 0, "kernel_size"], 40), "model.layers[0] (conv1): window 40 is larger than the "
     "input's height 28"),
    ((["model", "input_shape"], [28, 28]), "model.input_shape: expected [height, width, channels]"),
    ((["precision", "input"], "ap_ufixed<8,-2>"), "precision.input: ap_ufixed<8,-2> cannot represent pixel"),
    ((["name"], DELETE), "name: required key is missing"),
    ((["precision", "softmax"], {"table_size": 1000}), "precision.softmax.table_size: must be a power of two"),
]


def _dense_without_flatten() -> dict:
    """Dense after the pooled (13, 13, 2) map with no Flatten: shapes that do not chain."""
    raw = base()
    raw["model"]["layers"][2] = {"type": "Dropout", "name": "flatten", "rate": 0.1}
    return raw


@pytest.mark.parametrize("mutation,message", BAD)
def test_bad_config_one_line_error(mutation, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(_mutate(mutation))
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_shapes_that_do_not_chain():
    with pytest.raises(ConfigError, match=r"model.layers\[3\] \(fc1\): Dense needs a flat input, got shape "
                       r"\[13, 13, 2\]; add a Flatten"):
        config_from_dict(_dense_without_flatten())


def test_softmax_must_be_last():
    raw = base()
    raw["model"]["layers"][3]["activation"] = "softmax"
    with pytest.raises(ConfigError, match=r"fc1\)\.activation: softmax is supported only as the network's last"):
        config_from_dict(raw)


def test_batchnorm_needs_linear_predecessor():
    raw = base()
    raw["model"]["layers"].insert(1, {"type": "BatchNormalization", "name": "bn1"})
    with pytest.raises(ConfigError, match="BatchNormalization is folded into the preceding layer"):
        config_from_dict(raw)


# ----------------------------------------------------------------------------- through the CLI

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_check_prints_resolved_config(tmp_path):
    res = run_cli("check", str(MNIST_YAML), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    resolved = yaml.safe_load(res.stdout)
    assert resolved["precision"]["layers"]["conv1"]["accum"].startswith("ap_fixed<20,5>")
    assert resolved["hls"]["reuse_factor"] == {"default": 64, "conv1": 9, "fc1": 338, "fc2": 64}
    assert list(tmp_path.iterdir()) == []


YAML_CASES = {
    "syntax": ("name: x\nmodel: [1, 2\n", r"^hlsgen: error: .*bad\.yaml:3:1: YAML syntax error"),
    "not_mapping": ("- 1\n- 2\n", r"^hlsgen: error: .*bad\.yaml: expected a YAML mapping at the top level"),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_cli_bad_yaml(tmp_path, case):
    text, pattern = YAML_CASES[case]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    res = run_cli("check", str(bad), cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    import re

    assert re.search(pattern, res.stderr), res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_cli_bad_value_exit_2_no_traceback(tmp_path):
    raw = base()
    raw["precision"]["layers"]["fc1"]["result"] = "ap_fixed<8,9>"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    res = run_cli("check", str(bad), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == ("hlsgen: error: precision.layers.fc1.result: 'ap_fixed<8,9>' has more integer "
                                  "bits than width: its LSB is 2, too coarse for network values (legal C++, but "
                                  "every weight and activation would round to a multiple of 2); use I <= W")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_cli_missing_config(tmp_path):
    res = run_cli("check", "nope.yaml", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == "hlsgen: error: nope.yaml: config file not found"


def test_cli_version_and_help(tmp_path):
    res = run_cli("--version", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("hlsgen ")
    res = run_cli("--help", cwd=tmp_path)
    assert res.returncode == 0 and "check" in res.stdout


def test_config_is_frozen():
    cfg = load_config(MNIST_YAML)
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.precision["fc1"] = None  # type: ignore[index]
    copy.deepcopy(base())  # the raw dict stays a plain dict for users
