"""Export: QAT weights -> exact integer codes (round trip with QKeras' own quantized weights), errors that
name the layer, BatchNormalization folding, naive PTQ rounding, and the golden model driven by the exported
spec against QKeras' quantizer outputs. No training here: freshly initialised models are enough."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.errors import HlsgenError
from hlsgen.train import agreement, build_float_model, build_qkeras_model
from hlsgen.train.codes import FoldingWarning, export_codes, export_spec, fold_batchnorm, ptq_codes


def make_cfg(layers=None, **precision_layers):
    raw = copy.deepcopy(REFERENCE)
    raw["hls"]["softmax"] = "none"
    raw["model"]["layers"][3]["units"] = 32
    if layers is not None:
        raw["model"]["layers"] = layers
        names = {layer["name"] for layer in layers}
        raw["precision"]["layers"] = {k: v for k, v in raw["precision"]["layers"].items() if k in names}
    for name, entry in precision_layers.items():
        raw["precision"]["layers"].setdefault(name, {}).update(entry)
    return config_from_dict(raw)


def _spread(model, seed=0):
    """Random weights over the whole weight range (initialisation alone leaves them small)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel.assign(rng.uniform(-2.5, 2.5, layer.kernel.shape).astype(np.float32))
            if layer.use_bias:
                layer.bias.assign(rng.uniform(-2.5, 2.5, layer.bias.shape).astype(np.float32))


def test_codes_times_lsb_equal_qkeras_quantized_weights():
    cfg = make_cfg()
    model = build_qkeras_model(cfg)
    _spread(model)
    spec = export_spec(cfg, model)
    for name in ("conv1", "fc1", "fc2"):
        layer, stage = model.get_layer(name), spec.stage(name)
        qw = layer.kernel_quantizer_internal(layer.kernel).numpy().astype(np.float64)
        qb = layer.bias_quantizer_internal(layer.bias).numpy().astype(np.float64)
        np.testing.assert_array_equal(stage.weight_codes * stage.weight_t.lsb, qw)
        np.testing.assert_array_equal(stage.bias_codes * stage.bias_t.lsb, qb)
        assert stage.weight_codes.dtype == np.int64
        # the spread weights reach both rails: saturation is exercised
        assert stage.weight_codes.min() == stage.weight_t.min_code
        assert stage.weight_codes.max() == stage.weight_t.max_code


def test_off_grid_weight_raises_naming_layer_and_index():
    cfg = make_cfg()
    model = build_qkeras_model(cfg)
    fc1 = model.get_layer("fc1")
    fc1.kernel_quantizer = fc1.kernel_quantizer_internal = None  # what a model without quantizers exports
    w = np.zeros(fc1.kernel.shape, np.float32)
    w[3, 7] = 0.3  # not a multiple of 1/128
    fc1.kernel.assign(w)
    with pytest.raises(HlsgenError, match=r"fc1\.weight\[3, 7\] = 0\.3.*not a multiple of the LSB 0\.0078"):
        export_codes(cfg, model)


def test_nan_weight_raises():
    cfg = make_cfg()
    model = build_qkeras_model(cfg)
    fc2 = model.get_layer("fc2")
    b = fc2.bias.numpy()
    b[4] = np.nan
    fc2.bias.assign(b)
    with pytest.raises(HlsgenError, match=r"fc2\.bias\[4\] = nan"):
        export_codes(cfg, model)


def test_weight_outside_config_type_raises():
    model = build_qkeras_model(make_cfg(fc2={"weight": "ap_fixed<8,2>"}))
    w = np.zeros(model.get_layer("fc2").kernel.shape, np.float32)
    w[1, 2] = 1.5
    model.get_layer("fc2").kernel.assign(w)
    narrower = make_cfg(fc2={"weight": "ap_fixed<8,1>"})
    with pytest.raises(HlsgenError, match=r"fc2\.weight\[1, 2\] = 1\.5 \(code 192\) is outside ap_fixed<8,1"):
        export_codes(narrower, model)


def test_use_bias_false_gives_zero_bias_codes():
    raw_layers = copy.deepcopy(REFERENCE["model"]["layers"])
    raw_layers[0]["use_bias"] = False
    cfg = make_cfg(layers=raw_layers)
    codes = export_codes(cfg, build_qkeras_model(cfg))
    assert codes["conv1"][1].tolist() == [0, 0]


def test_ptq_rounds_half_to_even_and_saturates():
    cfg = make_cfg()
    model = build_float_model(cfg)
    fc2 = model.get_layer("fc2")  # ap_fixed<8,2>: LSB 1/64, codes -128..127
    w = np.zeros(fc2.kernel.shape, np.float32)
    w[0, :6] = np.array([0.5, 1.5, 2.5, -2.5, 300, -300]) / 64
    fc2.kernel.assign(w)
    assert ptq_codes(cfg, model)["fc2"][0][0, :6].tolist() == [0, 2, 2, -2, 127, -128]


BN_LAYERS = [
    {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3},
    {"type": "BatchNormalization", "name": "bn1"},
    {"type": "Activation", "name": "act1", "activation": "relu"},
    {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
    {"type": "Flatten", "name": "flatten"},
    {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"},
]


def test_batchnorm_is_folded_with_a_warning():
    cfg = make_cfg(layers=BN_LAYERS, act1={"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   conv1={"weight": "ap_fixed<8,3>", "bias": "ap_fixed<8,3>"})
    model = build_qkeras_model(cfg)
    names = [layer.name for layer in model.layers]
    assert names[2:7] == ["conv1", "bn1", "conv1_q", "act1", "act1_q"]
    bn = model.get_layer("bn1")
    gamma, beta, mean, var = [1.5, -0.5], [0.1, 0.2], [0.05, -0.1], [0.25, 4.0]
    bn.set_weights([np.array(v) for v in (gamma, beta, mean, var)])
    conv = model.get_layer("conv1")
    with pytest.warns(FoldingWarning, match="conv1: BatchNormalization bn1"):
        codes = export_codes(cfg, model)
    w, b = fold_batchnorm(conv.kernel_quantizer_internal(conv.kernel).numpy().astype(np.float64),
                          conv.bias_quantizer_internal(conv.bias).numpy().astype(np.float64), bn)
    scale = np.array([1.5, -0.5]) / np.sqrt(np.array([0.25, 4.0]) + 0.001)
    np.testing.assert_allclose(b, (0 - np.array([0.05, -0.1])) * scale + np.array([0.1, 0.2]), atol=1e-6)
    np.testing.assert_array_equal(codes["conv1"][0], np.clip(np.round(w * 32), -128, 127))
    np.testing.assert_array_equal(codes["conv1"][1], np.clip(np.round(b * 32), -128, 127))
    ptq = ptq_codes(cfg, build_float_model(cfg))  # the float model has a bn1 too
    assert ptq["conv1"][0].shape == (3, 3, 1, 2)


def test_golden_on_exported_spec_matches_qkeras_quantizers():
    cfg = make_cfg()
    model = build_qkeras_model(cfg)
    _spread(model, seed=3)
    for name in ("fc1", "fc2"):  # keep activations inside their ranges most of the time
        layer = model.get_layer(name)
        layer.kernel.assign(layer.kernel * 0.05)
    images = np.random.default_rng(4).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FoldingWarning)
        agree = agreement(cfg, model, export_spec(cfg, model), images)
    assert agree["argmax"] == 1.0
    for name, layer in agree["layers"].items():
        assert layer["off_grid"] == 0 and layer["max_lsb"] == 0, (name, layer)
