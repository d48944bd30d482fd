"""QKeras quantizers -> hlsgen ``FixedType``s: the exact type where one exists, else why not.

An activation quantizer is exact when it computes ``clip(round_half_even(x / lsb)) * lsb`` on a fixed-point
grid: ``quantized_bits`` with ``alpha`` None, 1 or a power of two, ``quantized_relu`` without sigmoid,
slope or upper bound (both deterministic, ``qnoise_factor`` 1). A weight or bias quantizer is judged by the
values it gives (what the model computes with): exact when every value lies on one fixed-point grid of at
most 16 fraction bits, which holds for ``quantized_bits`` with alpha 1 (its declared type) and for
``quantized_po2`` or ``alpha='auto_po2'`` (a type covering every value; it may be wider than ``bits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hlsgen.config.precision import MAX_WEIGHT_FRAC, covering_type
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType, Overflow, Rounding

_BITS = ("quantized_bits", "hlsgen_quantized_bits")
_RELU = ("quantized_relu", "hlsgen_quantized_relu")
_STOCHASTIC = ("stochastic_binary", "stochastic_ternary", "bernoulli")
MAX_EXACT_WIDTH = 32  # a weight type wider than this is reported as not exact (hardware cost)


@dataclass(frozen=True)
class Quant:
    """A quantizer as mapped: ``type`` the exact hlsgen type (None: none exists, ``reason`` says why);
    ``relu`` for an activation quantizer that is a ReLU; ``text`` how QKeras prints the quantizer."""

    text: str
    type: FixedType | None
    reason: str = ""
    relu: bool = False


def describe(q) -> str:
    try:
        return str(q)
    except Exception:  # a quantizer whose __str__ needs a built state
        return type(q).__name__


def _value(v):
    return float(v.numpy()) if hasattr(v, "numpy") else v


def _po2_exponent(alpha) -> int | None:
    """log2(alpha) when alpha is None (1) or a positive power of two, else None."""
    if alpha is None:
        return 0
    if isinstance(alpha, str) or isinstance(alpha, bool):
        return None
    try:
        a = float(np.asarray(alpha).reshape(-1)[0]) if np.size(alpha) == 1 else None
    except (TypeError, ValueError):
        return None
    if a is None or not a > 0:
        return None
    m, e = math.frexp(a)
    return e - 1 if m == 0.5 else None


def _deterministic(q) -> str:
    if getattr(q, "use_stochastic_rounding", False):
        return "use_stochastic_rounding"
    if _value(getattr(q, "qnoise_factor", 1.0)) != 1.0:
        return f"qnoise_factor={_value(q.qnoise_factor)}"
    return ""


def activation_quant(where: str, q) -> Quant:
    """The type an activation (or input) quantizer ``q`` rounds and saturates into. Unsupported quantizer
    classes raise HlsgenError naming ``where``; inexact ones return ``type=None`` and the reason."""
    name, text = type(q).__name__, describe(q)
    if name in _STOCHASTIC or name.startswith("stochastic"):
        raise HlsgenError(f"{where}: {text}: stochastic quantizers are not supported (the hardware is deterministic)")
    if name in _BITS:
        bits, integer, signed = int(q.bits), int(_value(q.integer)), bool(q.keep_negative)
        if bits - signed <= 0:
            return Quant(text, None, "1-bit quantized_bits is a sign (binary) quantizer")
        reason = _deterministic(q)
        shift = _po2_exponent(q.alpha)
        if shift is None:
            reason = reason or f"alpha={q.alpha!r} scales the values off a fixed-point grid"
        if reason:
            return Quant(text, None, reason)
        overflow = Overflow.SAT_SYM if signed and q.symmetric else Overflow.SAT
        return Quant(text, FixedType(bits, integer + int(signed) + shift, signed, Rounding.RND_CONV, overflow))
    if name in _RELU:
        bits, integer = int(q.bits), int(_value(q.integer))
        reason = _deterministic(q)
        if q.use_sigmoid:
            reason = reason or "use_sigmoid"
        if q.negative_slope:
            raise HlsgenError(f"{where}: {text}: a leaky quantized_relu (negative_slope) is not supported")
        if not q.is_quantized_clip and q.relu_upper_bound is not None:
            reason = reason or f"relu_upper_bound={q.relu_upper_bound}"
        return Quant(text, None if reason else FixedType(bits, integer, False, Rounding.RND_CONV, Overflow.SAT),
                     reason, relu=True)
    if name in ("quantized_po2", "quantized_relu_po2"):
        return Quant(text, None, "power-of-two activations are not a fixed-point grid", relu=name.endswith("relu_po2"))
    raise HlsgenError(f"{where}: {text}: unsupported activation quantizer {name} (supported: quantized_bits, "
                      "quantized_relu, quantized_po2)")


def weight_quant(where: str, q, values: np.ndarray) -> Quant:
    """The exact type of the quantized ``values`` a weight/bias quantizer ``q`` (None: no quantizer) gives,
    or ``type=None`` with the reason (then the caller profiles the values)."""
    if q is None:
        return Quant("float", None, "no quantizer")
    name, text = type(q).__name__, describe(q)
    if name in _STOCHASTIC or name.startswith("stochastic") or getattr(q, "use_stochastic_rounding", False):
        raise HlsgenError(f"{where}: {text}: stochastic quantizers are not supported (the hardware is deterministic)")
    declared = activation_quant(where, q).type if name in _BITS else None
    if declared is not None and _on_grid(values, declared):
        return Quant(text, declared)
    t = grid_type(values)
    if t is None:
        return Quant(text, None, "its values lie on no fixed-point grid of at most "
                                 f"{MAX_WEIGHT_FRAC} fraction bits and {MAX_EXACT_WIDTH} bits")
    return Quant(text, t, f"exact in the type covering the values used ({t.width} bits)")


def _on_grid(values: np.ndarray, t: FixedType) -> bool:
    scaled = np.asarray(values, np.float64) / t.lsb
    codes = np.rint(scaled)
    return bool(np.all(scaled == codes) and codes.min(initial=0) >= t.min_code and codes.max(initial=0) <= t.max_code)


def grid_type(values: np.ndarray) -> FixedType | None:
    """The narrowest ``ap_fixed`` holding every value exactly (at most 16 fraction bits, 32 bits), or None."""
    v = np.asarray(values, np.float64).ravel()
    if not np.all(np.isfinite(v)):
        return None
    if not np.any(v):
        return FixedType(2, 1)
    for frac in range(-32, MAX_WEIGHT_FRAC + 1):
        codes = v * 2.0**frac
        if np.all(codes == np.rint(codes)):
            t = covering_type(int(min(codes.min(), 0)), int(max(codes.max(), 0)), frac)
            if not t.signed:  # weights are signed in hlsgen's QKeras mapping and hls4ml's templates
                t = FixedType(t.width + 1, t.integer + 1)
            return t if t.width <= MAX_EXACT_WIDTH else None
    return None
