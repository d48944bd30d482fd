"""QKeras QAT from the config: the quantizer mapping (oracle: hlsgen.fixed), model structure, seeded
determinism, QKeras-vs-golden agreement and the ``train`` command's output directory."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.data import load_mnist
from hlsgen.errors import UsageError
from hlsgen.fixed import FixedType
from hlsgen.train import (
    build_float_model,
    build_qkeras_model,
    load_trained,
    save_model,
    train_command,
    train_models,
)
from hlsgen.train.quantizers import QuantizerMismatchWarning, make_quantizer, quantizer_differences

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("HLSGEN_DATA") or REPO.parent / "shared/data/mnist/mnist-10k.npz")


def _quantizer(layer):
    """A QActivation's quantizer: ``quantizer`` in QKeras 0.9.0, ``activation`` in qkeras-v3."""
    return layer.quantizer if hasattr(layer, "quantizer") else layer.activation


def make_cfg(softmax: str = "none", fc1_units: int = 32, batch_size: int = 128, **precision_layers):
    raw = copy.deepcopy(REFERENCE)
    raw["hls"]["softmax"] = softmax
    raw["train"]["batch_size"] = batch_size
    raw["model"]["layers"][3]["units"] = fc1_units
    for name, entry in precision_layers.items():
        raw["precision"]["layers"].setdefault(name, {}).update(entry)
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def mnist():
    if not DATA.exists():
        pytest.skip(f"MNIST not found at {DATA} (set HLSGEN_DATA to an mnist.npz)")
    return load_mnist(DATA)


# ------------------------------------------------------------------------------ quantizer mapping

MODES = ["AP_RND_CONV,AP_SAT", "AP_RND_CONV,AP_SAT_SYM", "AP_TRN,AP_SAT", "AP_RND,AP_SAT",
         "AP_RND_ZERO,AP_SAT", "AP_TRN_ZERO,AP_SAT", "AP_RND_INF,AP_SAT", "AP_RND_MIN_INF,AP_SAT",
         "AP_RND_CONV,AP_WRAP", "AP_RND_CONV,AP_SAT_ZERO", "AP_TRN,AP_WRAP"]
SHAPES = ["ap_fixed<8,3>", "ap_ufixed<8,3>", "ap_fixed<8,1>", "ap_fixed<6,0>", "ap_ufixed<8,-1>",
          "ap_fixed<4,4>", "ap_ufixed<8,0>", "ap_ufixed<1,0>"]


def _grid(t: FixedType) -> np.ndarray:
    """Every half LSB (all the ties) from well below the range to well above it, plus random floats."""
    lo, hi = t.min_code * t.lsb, t.max_code * t.lsb
    span = max(hi - lo, t.lsb)
    ties = np.arange(np.floor((lo - span) / t.lsb) * 2, np.ceil((hi + span) / t.lsb) * 2 + 1) * (t.lsb / 2)
    rand = np.random.default_rng(0).uniform(lo - span, hi + span, 2000)
    return np.concatenate([ties, rand]).astype(np.float32)


@pytest.mark.parametrize("relu,clip", [(False, False), (False, True), (True, True)],
                         ids=["weight", "activation", "relu"])
@pytest.mark.parametrize("modes", MODES)
@pytest.mark.parametrize("shape", SHAPES)
def test_quantizer_matches_fixed_cast_or_warns(shape, modes, relu, clip):
    t = FixedType.parse(shape.replace(">", f",{modes}>"))
    x = _grid(t)
    if relu:
        x = np.maximum(x, 0)  # a signed type after ReLU: the model has a ReLU before the quantizer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q = make_quantizer(t, relu=relu, where="fc9", clip=clip)
    got = np.asarray(q(x), dtype=np.float64)
    want = t.quantize(x.astype(np.float64)).astype(np.float64) * t.lsb
    mismatch = got != want
    warned = [w for w in caught if issubclass(w.category, QuantizerMismatchWarning)]
    if quantizer_differences(t):
        assert len(warned) == 1 and "fc9" in str(warned[0].message) and str(t) in str(warned[0].message)
        # judged by mode: only on 1-bit types can two modes coincide (AP_RND_ZERO on ap_ufixed<1,0>)
        assert mismatch.any() or t.width == 1, f"{t}: warned, but QKeras and the cast agree on the whole grid"
    else:
        assert not warned
        idx = np.flatnonzero(mismatch)[:5]
        assert not mismatch.any(), (f"{t}: {mismatch.sum()} mismatches, first (x, expected, got): "
                                    f"{list(zip(x[idx], want[idx], got[idx], strict=True))}")


@pytest.mark.parametrize("shape", ["ap_fixed<8,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<6,-1,AP_RND_CONV,AP_SAT>",
                                   "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>"])
def test_activation_quantizer_gradient_is_zero_where_it_saturates(shape):
    import tensorflow as tf

    t = FixedType.parse(shape)
    lo = (-t.max_code if "SYM" in shape else t.min_code) * t.lsb
    hi = t.max_code * t.lsb
    q = t.lsb / 4
    x = tf.constant([lo - 1.0, lo - q, lo + q, 0.3 * hi, hi - q, hi + q, hi + 5], dtype=tf.float32)
    for clip, inside in ((True, [0, 0, 1, 1, 1, 0, 0]), (False, [1] * 7)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = make_quantizer(t, clip=clip)(x)
        assert tape.gradient(y, x).numpy().tolist() == inside, clip


def test_reference_config_is_exact_and_structured():
    cfg = config_from_dict(REFERENCE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizerMismatchWarning)
        model = build_qkeras_model(cfg)
    names = [layer.name for layer in model.layers]
    assert names == ["input", "input_q", "conv1", "conv1_q", "pool1", "flatten", "fc1", "fc1_q", "drop1",
                     "fc2", "fc2_q", "fc2_softmax"]
    q = {n: str(_quantizer(model.get_layer(n))) for n in ("input_q", "conv1_q", "fc1_q", "fc2_q")}
    assert q == {"input_q": "quantized_bits(8,0,0,keep_negative=False,alpha=1)",
                 "conv1_q": "quantized_relu(8,3)", "fc1_q": "quantized_relu(8,3)",
                 "fc2_q": "hlsgen_quantized_bits(8,3,0,alpha=1,clip=1)"}
    assert str(model.get_layer("fc2").kernel_quantizer_internal) == "quantized_bits(8,1,0,alpha=1)"
    assert str(model.get_layer("conv1").bias_quantizer_internal) == "quantized_bits(8,0,0,alpha=1)"
    flt = build_float_model(cfg)
    assert [w.shape for w in flt.weights] == [w.shape for w in model.weights]


def test_one_warning_per_inexact_layer_and_signed_relu():
    cfg = make_cfg(conv1={"result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"},
                   fc1={"result": "ap_ufixed<8,3,AP_TRN,AP_WRAP>"})
    with pytest.warns(QuantizerMismatchWarning) as caught:
        model = build_qkeras_model(cfg)
    msgs = [str(w.message) for w in caught if issubclass(w.category, QuantizerMismatchWarning)]
    assert len(msgs) == 1 and msgs[0].startswith("fc1:") and "AP_TRN" in msgs[0] and "AP_WRAP" in msgs[0]
    # signed result after ReLU: a ReLU, then quantized_bits
    assert model.get_layer("conv1_relu").activation.__name__ == "relu"
    assert str(_quantizer(model.get_layer("conv1_q"))) == "hlsgen_quantized_bits(8,3,0,alpha=1,clip=1)"


def test_pooling_and_activation_layers():
    raw = copy.deepcopy(REFERENCE)
    raw["model"]["layers"] = [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3},
        {"type": "AveragePooling2D", "name": "avg1", "pool_size": 3},
        {"type": "Activation", "name": "act1", "activation": "relu"},
        {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc2", "units": 10},
        {"type": "Activation", "name": "sm", "activation": "softmax"},
    ]
    raw["precision"]["layers"] = {"act1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                                  "pool1": {"result": "ap_ufixed<6,3,AP_RND_CONV,AP_SAT>"}}
    with pytest.warns(QuantizerMismatchWarning, match="avg1: .*divides by 9"):
        model = build_qkeras_model(config_from_dict(raw))
    assert [layer.name for layer in model.layers][2:] == [
        "conv1", "conv1_q", "avg1", "avg1_q", "act1", "act1_q", "pool1", "pool1_q", "flatten", "fc2", "fc2_q",
        "sm"]
    assert str(_quantizer(model.get_layer("act1_q"))) == "quantized_relu(8,3)"


def test_negative_integer_types_save_and_load(tmp_path):
    cfg = make_cfg(fc1={"weight": "ap_fixed<8,0>", "result": "ap_ufixed<8,-1,AP_RND_CONV,AP_SAT>"})
    qat, flt = build_qkeras_model(cfg), build_float_model(cfg)
    save_model(qat, tmp_path / "qat_model.h5")
    save_model(flt, tmp_path / "float_model.h5")
    qat2, flt2 = load_trained(tmp_path, cfg)
    x = np.random.default_rng(1).integers(0, 256, (8, 28, 28, 1)) / 256.0
    np.testing.assert_array_equal(qat.predict(x, verbose=0), qat2.predict(x, verbose=0))
    np.testing.assert_array_equal(flt.predict(x, verbose=0), flt2.predict(x, verbose=0))
    w = qat2.get_layer("fc1").kernel_quantizer_internal(qat2.get_layer("fc1").kernel).numpy()
    assert np.abs(w).max() <= 0.5 and np.all(w * 256 == np.rint(w * 256))


# ------------------------------------------------------------------------------ training (slow)

@pytest.mark.slow
def test_training_is_deterministic(mnist):
    cfg = make_cfg()
    runs = [train_models(cfg, mnist, epochs=1, n_train=256, n_test=32, verbose=0) for _ in range(2)]
    for kind in ("qat_model", "float_model"):
        a, b = (getattr(r, kind).get_weights() for r in runs)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), kind
    assert runs[0].metrics["golden"] == runs[1].metrics["golden"]


@pytest.mark.slow
def test_qkeras_agrees_with_golden_after_training(mnist):
    cfg = make_cfg(batch_size=32)
    result = train_models(cfg, mnist, epochs=2, n_train=1000, n_test=300, verbose=0)
    m = result.metrics
    # each accuracy recomputed from its own model on the same 300 test images
    from hlsgen import golden
    from hlsgen.data import input_codes, to_float
    from hlsgen.spec.lower import build_spec
    from hlsgen.train.codes import ptq_codes

    x_test, y_test = mnist.x_test[:300], mnist.y_test[:300].astype(np.int64)
    codes = input_codes(cfg.input_type, x_test)
    ptq_spec = build_spec(cfg, ptq_codes(cfg, result.float_model))
    expected = {
        "float": np.argmax(result.float_model.predict(to_float(x_test), batch_size=1000, verbose=0), axis=-1),
        "ptq": golden.labels(golden.run(ptq_spec, codes).output),
        "qat": np.argmax(result.qat_model.predict(to_float(x_test), batch_size=1000, verbose=0), axis=-1),
        "golden": golden.labels(golden.run(result.spec, codes).output),
    }
    for key, labels in expected.items():
        assert m[key]["accuracy"] == np.count_nonzero(labels == y_test) / 300, (key, m[key])
    assert m["test_images"] == 300 and m["train_images"] == 1000 and m["epochs"] == 2
    assert m["qat"]["accuracy"] > 0.5, m  # it learned something
    agree = m["agreement"]
    assert agree["argmax"] >= 0.99, agree
    for name, layer in agree["layers"].items():
        assert layer["off_grid"] == 0, (name, layer)
        assert layer["max_lsb"] <= 1 and layer["mismatches"] <= 0.001 * layer["values"], (name, layer)


@pytest.mark.slow
def test_train_command_writes_train_dir(mnist, tmp_path, capsys):
    small = tmp_path / "small.npz"
    np.savez(small, x_train=mnist.x_train[:256], y_train=mnist.y_train[:256], x_test=mnist.x_test[:64],
             y_test=mnist.y_test[:64])
    raw = copy.deepcopy(REFERENCE)
    raw["data"]["path"] = str(small)
    raw["hls"]["softmax"] = "none"
    raw["model"]["layers"][3]["units"] = 16
    cfg = config_from_dict(raw)
    out = tmp_path / "out"
    metrics = train_command(cfg, out, epochs=1, force=False, verbose=0)
    table = capsys.readouterr().out
    assert "golden" in table and "ptq" in table
    train = out / "train"
    names = {p.name for p in train.iterdir()}
    assert {"qat_model.h5", "float_model.h5", "metrics.json", "spec.json", "weights.npz", "config.yaml",
            ".hlsgen"} <= names
    saved = json.loads((train / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["config_digest"] == cfg.digest() and saved["test_images"] == 64 and saved["epochs"] == 1
    assert set(saved["seconds"]) >= {"float_train", "qat_train", "total"}
    # the reloaded QAT model exports exactly the spec on disk
    from hlsgen.spec import HardwareSpec
    from hlsgen.train.codes import export_codes

    qat, _ = load_trained(out, cfg)
    spec = HardwareSpec.load(train)
    for name, (w, b) in export_codes(cfg, qat).items():
        np.testing.assert_array_equal(spec.stage(name).weight_codes, w)
        np.testing.assert_array_equal(spec.stage(name).bias_codes, b)
    # a directory hlsgen did not create is never replaced without force
    foreign = tmp_path / "foreign"
    (foreign / "train").mkdir(parents=True)
    (foreign / "train" / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="not created by hlsgen"):
        train_command(cfg, foreign, epochs=1, force=False, verbose=0)
    assert (foreign / "train" / "mine.txt").read_text() == "keep"


# ------------------------------------------------------------------------------ train.init: a model file

def _init_cfg(path) -> object:
    raw = copy.deepcopy(REFERENCE)
    raw["train"].update(init=str(path), epochs=0, input_scale=255)
    return config_from_dict(raw)


def _lambda_model(marker: Path):
    """A model whose Lambda layer's code (marshalled by Keras into the file) writes ``marker``."""
    from hlsgen.keras_compat import keras

    # a Python lambda: Keras 2 and 3 both marshal its code into the file (Keras 3 stores a def by name only)
    evil = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('ran'), x)[1]")
    layers = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(name="flatten"),
                             layers.Lambda(evil, name="evil"), layers.Dense(10, name="fc2")])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_init_model_code_never_runs(suffix, tmp_path, mnist):
    """#26: ``train.init: lambda.h5`` ran the Lambda's code when the file was loaded (before any layer check)."""
    from hlsgen.errors import HlsgenError
    from hlsgen.keras_compat import KERAS3, keras

    marker = tmp_path / "PWNED"
    path = tmp_path / f"lambda{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _lambda_model(marker).save(path)
        marker.unlink()
        # live: Keras' own loader runs it: Keras 2 from a .h5 (marshalled code), Keras 3 from a .keras
        # with safe_mode off (a Keras 3 .h5 stores only the function's name, which its loader cannot find)
        if suffix == (".keras" if KERAS3 else ".h5"):
            keras.models.load_model(path, compile=False, **({"safe_mode": False} if KERAS3 else {}))
            assert marker.exists()
            marker.unlink()
    with pytest.raises(HlsgenError, match=rf"^train\.init: {path}: layer 'evil' \(Lambda\): a Python function") as info:
        train_models(_init_cfg(path), mnist, n_train=100, n_test=100, verbose=0)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    assert not marker.exists(), "the Lambda's code ran"


def test_init_model_equals_keras_own_loading(tmp_path):
    """hlsgen builds the train.init model itself: same layers, weights and outputs as QKeras' loader (the
    oracle) for a QKeras .h5 and a plain Keras .keras."""
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from qkeras.utils import load_qmodel

    from hlsgen.keras_compat import keras
    from hlsgen.train import load_init_model
    from hlsgen.train.quantizers import CUSTOM_OBJECTS

    keras.utils.set_random_seed(1)
    layers = keras.layers
    qmodel = keras.Sequential([keras.Input((28, 28, 1)), QActivation(quantized_bits(8, 0, alpha=1), name="input_q"),
                               layers.Flatten(name="flatten"),
                               QDense(32, kernel_quantizer=quantized_bits(6, 0, alpha=1),
                                      bias_quantizer=quantized_bits(6, 0, alpha=1), name="fc1"),
                               QActivation(quantized_relu(8, 3), name="relu1"), layers.Dense(10, name="fc2")])
    fmodel = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(2, 3, activation="relu", name="conv1"),
                               layers.MaxPooling2D(2, name="pool1"), layers.Flatten(name="flatten"),
                               layers.Dense(10, activation="softmax", name="fc2")])
    x = np.random.default_rng(0).random((50, 28, 28, 1)).astype(np.float32)
    for model, name in ((qmodel, "q.h5"), (fmodel, "f.keras")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(tmp_path / name)
            oracle = load_qmodel(str(tmp_path / name), custom_objects=dict(CUSTOM_OBJECTS), compile=False)
        raw = copy.deepcopy(REFERENCE)
        raw["train"].update(init=str(tmp_path / name), epochs=0)
        loaded = load_init_model(config_from_dict(raw))
        assert [layer.name for layer in loaded.layers[1:]] == [layer.name for layer in oracle.layers]
        for a, b in zip(loaded.get_weights(), oracle.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), oracle.predict(x, verbose=0))
