"""Trained Keras/QKeras model -> integer weight and bias codes -> :class:`~hlsgen.spec.HardwareSpec`.

A QAT model's quantized weights already lie on the grid of their config types, so their codes are
exact: ``code = value / lsb`` must be an integer in the type's range, or export stops naming the
layer, the index and the value. A float model's weights (naive PTQ) and BatchNormalization folds are
rounded to nearest (half to even) and saturated into the types.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from hlsgen.config import Config, LayerConfig
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.spec import HardwareSpec
from hlsgen.spec.lower import build_spec
from hlsgen.spec.model import Codes


class FoldingWarning(UserWarning):
    """BatchNormalization folded after QAT: the folded weights are rounded again (not exact)."""


def export_codes(cfg: Config, qat_model) -> Codes:
    """``{layer: (weight_codes, bias_codes)}`` (int64) of every Conv2D/Dense of a QAT model.

    Each weight is what QKeras uses in its forward pass (``kernel_quantizer_internal`` applied to the
    float variable), divided by the weight type's LSB. ``use_bias: false`` gives zero bias codes. A
    following BatchNormalization is folded and the result rounded half to even and saturated
    (with a :class:`FoldingWarning`).

    Raises
    ------
    HlsgenError
        A value that is not an exact multiple of the LSB or lies outside the type, naming the layer,
        the index and the value.
    """
    codes: Codes = {}
    for i, layer in enumerate(cfg.layers):
        if not layer.has_weights:
            continue
        kl = _keras_layer(qat_model, layer.name)
        prec = cfg.precision[layer.name]
        w = _quantized(kl, "kernel")
        b = _quantized(kl, "bias") if kl.use_bias else np.zeros(kl.kernel.shape[-1])
        bn = _batchnorm_after(cfg, i)
        if bn is not None:
            warnings.warn(f"{layer.name}: BatchNormalization {bn.name} is folded into the quantized "
                          f"weights after QAT and the result rounded again into {prec.weight} / {prec.bias}; "
                          "the hardware is not bit exact with the QAT model here",
                          FoldingWarning, stacklevel=2)
            w, b = fold_batchnorm(w, b, _keras_layer(qat_model, bn.name))
            codes[layer.name] = (round_codes(prec.weight, w), round_codes(prec.bias, b))
        else:
            codes[layer.name] = (exact_codes(prec.weight, w, f"{layer.name}.weight"),
                                 exact_codes(prec.bias, b, f"{layer.name}.bias"))
    return codes


def float_weights(cfg: Config, float_model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer: (weights, biases)}`` (float64) of every Conv2D/Dense of a float Keras model, a following
    BatchNormalization folded in; ``use_bias: false`` gives zero biases."""
    out = {}
    for i, layer in enumerate(cfg.layers):
        if not layer.has_weights:
            continue
        kl = _keras_layer(float_model, layer.name)
        w = np.asarray(kl.kernel.numpy(), dtype=np.float64)
        b = np.asarray(kl.bias.numpy(), dtype=np.float64) if kl.use_bias else np.zeros(w.shape[-1])
        bn = _batchnorm_after(cfg, i)
        if bn is not None:
            w, b = fold_batchnorm(w, b, _keras_layer(float_model, bn.name))
        out[layer.name] = (w, b)
    return out


def ptq_codes(cfg: Config, float_model) -> Codes:
    """Naive post-training quantization: the float model's weights (BatchNormalization folded) rounded
    half to even (AP_RND_CONV) and saturated (AP_SAT) into the config's weight and bias types."""
    return {name: (round_codes(cfg.precision[name].weight, w), round_codes(cfg.precision[name].bias, b))
            for name, (w, b) in float_weights(cfg, float_model).items()}


def export_spec(cfg: Config, qat_model) -> HardwareSpec:
    """The hardware spec of a trained QAT model: ``build_spec(cfg, export_codes(cfg, qat_model))``."""
    return build_spec(cfg, export_codes(cfg, qat_model))


# ------------------------------------------------------------------------------ helpers

def exact_codes(t: FixedType, values: np.ndarray, what: str) -> np.ndarray:
    """``values / t.lsb`` as int64; raises HlsgenError unless every one is an integer in ``t``'s range."""
    values = np.asarray(values, dtype=np.float64)
    scaled = values / t.lsb
    codes = np.rint(scaled)
    off = ~(scaled == codes)  # NaN counts as off the grid
    if off.any():
        idx = tuple(int(i) for i in np.argwhere(off)[0])
        raise HlsgenError(f"{what}[{', '.join(map(str, idx))}] = {float(values[idx])!r} is not a multiple of "
                          f"the LSB {t.lsb:g} of {t} ({int(off.sum())} such values): the model's quantizer "
                          "does not match the config")
    bad = (codes < t.min_code) | (codes > t.max_code)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise HlsgenError(f"{what}[{', '.join(map(str, idx))}] = {float(values[idx])!r} "
                          f"(code {int(codes[idx])}) is outside {t} [{t.min_code}, {t.max_code}] "
                          f"({int(bad.sum())} such values)")
    return codes.astype(np.int64)


def round_codes(t: FixedType, values: np.ndarray) -> np.ndarray:
    """Codes of ``values`` in ``t`` rounded half to even and saturated, whatever ``t``'s own modes."""
    return rnd_sat(t).quantize(np.asarray(values, dtype=np.float64)).astype(np.int64)


def rnd_sat(t: FixedType) -> FixedType:
    """``t`` with AP_RND_CONV rounding and AP_SAT overflow."""
    return replace(t, rounding=Rounding.RND_CONV, overflow=Overflow.SAT, sat_bits=0)


def fold_batchnorm(w: np.ndarray, b: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """Fold inference-mode batch norm into the preceding layer (float64):
    ``w' = w * gamma / sqrt(var + eps)``, ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``."""
    n = w.shape[-1]
    gamma = bn.gamma.numpy().astype(np.float64) if bn.gamma is not None else np.ones(n)
    beta = bn.beta.numpy().astype(np.float64) if bn.beta is not None else np.zeros(n)
    mean = bn.moving_mean.numpy().astype(np.float64)
    var = bn.moving_variance.numpy().astype(np.float64)
    scale = gamma / np.sqrt(var + bn.epsilon)
    return np.asarray(w, np.float64) * scale, (np.asarray(b, np.float64) - mean) * scale + beta


def _quantized(kl, which: str) -> np.ndarray:
    """A QConv2D/QDense variable as its forward pass uses it (quantizer applied when it has one)."""
    var = getattr(kl, which)
    quantizer: Callable | None = None
    if getattr(kl, f"{which}_quantizer", None):
        quantizer = getattr(kl, f"{which}_quantizer_internal", None)
    value = quantizer(var) if quantizer is not None else var
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)


def _batchnorm_after(cfg: Config, i: int) -> LayerConfig | None:
    nxt = cfg.layers[i + 1] if i + 1 < len(cfg.layers) else None
    return nxt if nxt is not None and nxt.type == "BatchNormalization" else None


def _keras_layer(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise HlsgenError(f"{name}: the model has no layer of that name (was it built from this config?)"
                          ) from None


# ------------------------------------------------------------------------------ given weights (train.init)

def given_weights(cfg: Config, source) -> dict[str, list[np.ndarray]]:
    """``{layer: Keras weight list}`` for every Conv2D/Dense and BatchNormalization of ``cfg``, taken from
    ``source`` (a Keras or QKeras model, ``train.init``) by layer name, as ``set_weights`` of hlsgen's
    float and QAT models expects them.

    A QConv2D/QDense kernel or bias with a quantizer is taken as its forward pass uses it (the quantizer
    applied: what the model computes with). A BatchNormalization without ``scale``/``center`` gets
    gamma 1 / beta 0. With ``train.input_scale: 255`` the first Conv2D/Dense kernel is multiplied by
    256/255 (float64, then float32): hlsgen feeds pixel/256, the model was trained on pixel/255.

    Raises
    ------
    HlsgenError
        A layer missing from ``source`` or a weight of another shape, naming the layer.
    """
    where = f"train.init: {cfg.train.init}"
    out: dict[str, list[np.ndarray]] = {}
    first = True
    for layer in cfg.layers:
        if not (layer.has_weights or layer.type == "BatchNormalization"):
            continue
        try:
            kl = source.get_layer(layer.name)
        except ValueError:
            raise HlsgenError(f"{where}: the model has no layer '{layer.name}' (the config's layers must be "
                              "the model's, as hlsgen import writes them)") from None
        if layer.has_weights:
            if getattr(kl, "kernel", None) is None:
                raise HlsgenError(f"{where}: layer '{layer.name}' ({type(kl).__name__}) has no kernel")
            w = _quantized(kl, "kernel")
            if first and cfg.train.input_scale != 256:
                w = w * (256.0 / cfg.train.input_scale)
            first = False
            arrays = [w]
            if layer.args["use_bias"]:
                if getattr(kl, "bias", None) is None:
                    raise HlsgenError(f"{where}: layer '{layer.name}' has no bias, the config says use_bias: true")
                arrays.append(_quantized(kl, "bias"))
        else:
            n = int(kl.moving_mean.shape[-1])
            arrays = [kl.gamma.numpy() if kl.gamma is not None else np.ones(n),
                      kl.beta.numpy() if kl.beta is not None else np.zeros(n),
                      kl.moving_mean.numpy(), kl.moving_variance.numpy()]
        out[layer.name] = [np.asarray(a, dtype=np.float32) for a in arrays]
    return out


def set_given_weights(cfg: Config, model, weights: dict[str, list[np.ndarray]]) -> None:
    """``model.get_layer(name).set_weights(...)`` for every entry of :func:`given_weights`; a shape that
    differs from the config's layer is an HlsgenError naming the layer."""
    for name, arrays in weights.items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        given = [tuple(a.shape) for a in arrays]
        if expected != given:
            raise HlsgenError(f"train.init: {cfg.train.init}: layer '{name}' has weights of shapes {given}, the "
                              f"config's layer needs {expected}")
        layer.set_weights(arrays)
