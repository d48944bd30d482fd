"""The QKeras quantizers of the QAT model, derived from the config's FixedTypes by one table.

:func:`make_quantizer` maps a type to a quantizer (documented in docs/training.md). QKeras rounds half
to even (``tf.round``, i.e. AP_RND_CONV) and clips (AP_SAT); where a type's modes differ, the
quantizer is not bit exact with the hardware, and :func:`quantizer_report` says where and why.
"""

# ruff: noqa: I001  (hlsgen.keras_compat must come before QKeras: it decides the Keras flavour)
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hlsgen.keras_compat import tf  # before QKeras, which imports TensorFlow
from qkeras import quantized_bits, quantized_relu

from hlsgen.config import Config
from hlsgen.config.precision import derive_accum
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.derived_names import INPUT_QUANTIZER, quantized_layer, quantizer, relu_stage


class QuantizerMismatchWarning(UserWarning):
    """A config type that the QKeras quantizer does not reproduce bit for bit."""


# ------------------------------------------------------------------------------ quantizer mapping

def _shifted_call(quantizer, cls, x):
    """``cls.__call__`` with ``integer`` 0 on ``x * 2**-integer``, scaled back: the same codes and STE,
    since scaling by a power of two is exact in float32."""
    integer, quantizer.integer = quantizer.integer, 0
    try:
        return cls.__call__(quantizer, x * 2.0**-integer) * 2.0**integer
    finally:
        quantizer.integer = integer


class hlsgen_quantized_bits(quantized_bits):  # noqa: N801 (QKeras' naming)
    """``quantized_bits`` with the same forward values, and two additions. ``integer < 0`` works (QKeras
    0.9.0 computes ``2**integer`` in int32 and fails). With ``clip=True`` the input is first clipped to the
    representable range, so the straight-through gradient is zero where the output saturates, as in
    ``quantized_relu``: plain ``quantized_bits`` passes gradient through saturation, and a saturated logit
    then drifts without bound (the reference model's QAT collapses; see docs/training.md)."""

    def __init__(self, *args, clip: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.clip = clip

    def __call__(self, x):
        if self.clip:
            unsigned = self.bits - self.keep_negative
            lsb = 2.0 ** (self.integer - unsigned)
            lo = -(2.0**unsigned - self.symmetric) * lsb if self.keep_negative else 0.0
            x = tf.clip_by_value(tf.cast(x, tf.float32), lo, (2.0**unsigned - 1) * lsb)
        if self.integer < 0:
            return _shifted_call(self, quantized_bits, x)
        return super().__call__(x)

    def __str__(self) -> str:
        return f"hlsgen_{super().__str__()[:-1]},clip={int(self.clip)})"

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "clip": self.clip}


class hlsgen_quantized_relu(quantized_relu):  # noqa: N801
    """``quantized_relu`` for ``integer < 0`` (see :class:`hlsgen_quantized_bits`)."""

    def __call__(self, x):
        return _shifted_call(self, quantized_relu, x)


CUSTOM_OBJECTS = {cls.__name__: cls for cls in (hlsgen_quantized_bits, hlsgen_quantized_relu)}


def make_quantizer(t: FixedType, relu: bool = False, where: str | None = None, clip: bool = False):
    """The QKeras quantizer for values of type ``t`` (alpha=1 everywhere).

    ``ap_fixed<W,I>`` -> ``quantized_bits(W, I-1, keep_negative=True)`` (``symmetric=1`` for AP_SAT_SYM);
    ``ap_ufixed<W,I>`` -> ``quantized_bits(W, I, keep_negative=False)``, or ``quantized_relu(W, I)`` when
    ``relu`` (a ReLU output). For a signed type after a ReLU the caller puts a ReLU in front. All of them
    compute ``clip(round_half_even(x / lsb), min_code, max_code) * lsb``: AP_RND_CONV with AP_SAT.
    ``clip`` (activations) or ``integer < 0`` selects :class:`hlsgen_quantized_bits`: same values.
    When ``where`` is given and ``t`` has other modes, one :class:`QuantizerMismatchWarning` names it.
    """
    if t.signed and t.width < 2:
        raise ConfigError(f"{where or t}: {t}: QKeras quantizes a 1-bit signed type to +-1; use width >= 2")
    if where is not None:
        diffs = quantizer_differences(t)
        if diffs:
            warnings.warn(f"{where}: {t}: {'; '.join(diffs)}. The QAT model can differ from the hardware "
                          "by up to 1 LSB (more on overflow) here", QuantizerMismatchWarning, stacklevel=2)
    integer = t.integer - 1 if t.signed else t.integer
    if relu and not t.signed:
        return (quantized_relu if integer >= 0 else hlsgen_quantized_relu)(t.width, integer)
    extra = {"clip": True} if clip else {}
    bits = hlsgen_quantized_bits if clip or integer < 0 else quantized_bits
    sym = int(t.signed and t.overflow is Overflow.SAT_SYM)
    return bits(t.width, integer, symmetric=sym, keep_negative=t.signed, alpha=1, **extra)


def quantizer_differences(t: FixedType) -> list[str]:
    """How the hardware cast to ``t`` differs from its QKeras quantizer (empty: bit exact)."""
    diffs = []
    if t.rounding is not Rounding.RND_CONV:
        diffs.append(f"hardware rounds AP_{t.rounding.name}, QKeras rounds half to even (AP_RND_CONV)")
    sat_ok = (Overflow.SAT, Overflow.SAT_SYM)
    if t.overflow not in sat_ok:
        diffs.append(f"hardware overflow is AP_{t.overflow.name}, QKeras saturates (AP_SAT)")
    if t.width > 24:
        diffs.append("QKeras computes in float32, which holds codes of at most 24 bits exactly")
    return diffs


def _input_differences(t: FixedType) -> list[str]:
    """The input cast matters only if some pixel / 256 is not exact in ``t``."""
    grid = np.arange(256) / 256.0
    exact = np.array_equal(t.quantize(grid).astype(np.float64) * t.lsb, grid)
    return [] if exact else quantizer_differences(t)


def quantized_outputs(cfg: Config) -> dict[str, tuple[str, FixedType]]:
    """``{QKeras quantizer layer: (golden stage or 'input', its type)}`` in network order."""
    out = {INPUT_QUANTIZER: ("input", cfg.input_type)}
    for layer in cfg.layers:
        prec = cfg.precision.get(layer.name)
        if prec is None:
            continue
        if layer.has_weights:
            stage = relu_stage(layer.name) if layer.activation == "relu" else layer.name
        elif layer.type == "MaxPooling2D" and prec.result == prec.input:
            continue
        else:
            stage = layer.name
        out[quantizer(layer.name)] = (stage, prec.result)
    return out


def quantizer_report(cfg: Config) -> dict[str, list[str]]:
    """Per config layer (and ``input``): where the QAT model is not bit exact with the hardware, and why."""
    report: dict[str, list[str]] = {}
    if diffs := _input_differences(cfg.input_type):
        report["input"] = diffs
    for q_name, (_, t) in quantized_outputs(cfg).items():
        layer = quantized_layer(q_name)
        if layer == "input":
            continue
        diffs = quantizer_differences(t)
        lc, prec = cfg.layer(layer), cfg.precision[layer]
        if lc.has_weights and not prec.accum_derived:
            exact, acc = derive_accum(prec.input, prec.weight, prec.bias, lc.fan_in), prec.accum
            if (acc.frac < exact.frac or acc.min_value > exact.min_value or acc.max_value < exact.max_value):
                diffs.append(f"accumulator {prec.accum} is narrower than the exact sum {exact}; QKeras sums "
                             "without rounding or overflow")
        if lc.type == "AveragePooling2D":
            n = int(np.prod(lc.args["pool_size"]))
            if n & (n - 1):
                diffs.append(f"QKeras divides by {n} (not a power of two) in float32 before quantizing")
        if diffs:
            report[layer] = diffs
    return report
