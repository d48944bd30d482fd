"""ap_fixed conversions built from da4ml's traced operations, bit for bit as :meth:`FixedType.cast`.

da4ml traces *values*: every :class:`FixedVariable` carries an exact interval ``[low, high]`` on a grid
``step``, and its adders are sized so that nothing overflows; only an explicit ``quantize`` drops bits
(floor, AP_TRN) or wraps (AP_WRAP). Every ap_fixed conversion is therefore written here as exact value
arithmetic followed by one floor:

* rounding: ``floor(x + c)`` where the constant and data-dependent ``c`` settles ties as the mode wants
  (``ulp`` = the source LSB, ``h`` = half a target LSB, ``lsb`` = a target LSB):
  AP_RND ``h``; AP_RND_MIN_INF ``h - ulp``; AP_RND_CONV ``h - ulp + ulp * bit`` (``bit``: the target
  LSB of ``floor(x)``, so a tie goes up from an odd neighbour); AP_RND_ZERO ``h - ulp + ulp * neg``;
  AP_RND_INF ``h - ulp * neg``; AP_TRN_ZERO ``(lsb - ulp) * neg`` (``neg``: the sign bit of ``x``);
* overflow: AP_WRAP is da4ml's wrap; AP_SAT and AP_SAT_SYM clip to :func:`saturation_bounds` with
  da4ml's ``max_of``/``min_of``; AP_SAT_ZERO and AP_WRAP with N saturation bits are a lookup table over
  every value the rounded input can take, when there are at most ``2**TABLE_BITS`` of them, and are
  refused (:class:`RtlRefusal`, naming the stage and the mode) otherwise.

tests/rtl/test_arith.py checks each mode on every input code of small types against ``FixedType.cast``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.fixed.rounding import saturation_bounds

#: Largest lookup table (address bits) built for a conversion or function that has no adder form.
TABLE_BITS = 12


class RtlRefusal(HlsgenError):
    """An operation of the spec that hlsgen does not build exactly in RTL (exit 2, one line)."""

    exit_code = 2


def kif(t: FixedType) -> tuple[int, int, int]:
    """da4ml's (keep-sign, integer bits without the sign, fraction bits) of ``t``."""
    return int(t.signed), t.integer - int(t.signed), t.frac


def _pow2(e: int) -> float:
    return float(2.0**e)


def points(v) -> np.ndarray:
    """Every value ``v`` can take, ascending (float64, exact: dyadic and checked small)."""
    n = int((v.high - v.low) / v.step) + 1
    return np.array([float(v.low + v.step * k) for k in range(n)], dtype=np.float64)


def n_points(v) -> int:
    return int((v.high - v.low) / v.step) + 1


def const(value: float, like):
    """A constant traced value (da4ml arrays need at least one variable to know their hardware config)."""
    from da4ml.trace import FixedVariable

    return FixedVariable.from_const(float(value), hwconf=like.hwconf)


def table(v, fn: Callable[[np.ndarray], np.ndarray], where: str, what: str):
    """``fn`` (exact values -> exact values) as a lookup table addressed by ``v``; refused when ``v`` can
    take more than ``2**TABLE_BITS`` values."""
    if v.low == v.high:
        return const(fn(np.array([float(v.low)]))[0], v)
    n = n_points(v)
    if n > 2**TABLE_BITS:
        raise RtlRefusal(f"{where}: {what} needs a lookup table of {n} entries (more than 2**{TABLE_BITS}); "
                         "not built in RTL")
    values = np.asarray(fn(points(v)), dtype=np.float64)
    if values.size == 1 or np.all(values == values[0]):
        return const(values[0], v)
    return v.lookup(values)


def _floor(v, f: int):
    """``floor(v * 2**f) * 2**-f``, never wrapping."""
    if isinstance(v, float | int) or v.low == v.high:
        val = float(v if isinstance(v, float | int) else v.low)
        return float(np.floor(val * _pow2(f)) * _pow2(-f))
    if v.step >= Decimal(2) ** -f:
        return v
    k, i, _ = v.kif
    return v.quantize(k, i + 1, f, "WRAP", "TRN")


def _bit(v, f: int):
    """The bit of weight ``2**-f`` of ``v`` (its two's-complement pattern), as 0 or ``2**-f``."""
    if v.step > Decimal(2) ** -f:
        return 0.0
    return v.quantize(0, -f + 1, f, "WRAP", "TRN")


def _negative(v):
    """1 where ``v < 0`` else 0 (a one-bit variable, or a Python number when the sign is known)."""
    if v.low >= 0:
        return 0.0
    if v.high < 0:
        return 1.0
    return v.is_negative()


def round_to(v, src_frac: int, dst_frac: int, rounding: Rounding):
    """``v`` (a multiple of ``2**-src_frac``) rounded to the grid ``2**-dst_frac`` by ``rounding``."""
    if dst_frac >= src_frac or v.step >= Decimal(2) ** -dst_frac:
        return v  # already on the target grid: nothing is dropped
    ulp, half, lsb = _pow2(-src_frac), _pow2(-dst_frac - 1), _pow2(-dst_frac)
    if rounding is Rounding.TRN:
        c = 0.0
    elif rounding is Rounding.RND:
        c = half
    elif rounding is Rounding.RND_MIN_INF:
        c = half - ulp
    elif rounding is Rounding.RND_CONV:
        c = _bit(v, dst_frac) * (ulp / lsb) + (half - ulp)
    elif rounding is Rounding.RND_ZERO:
        c = _negative(v) * ulp + (half - ulp)
    elif rounding is Rounding.RND_INF:
        c = half - _negative(v) * ulp
    elif rounding is Rounding.TRN_ZERO:
        c = _negative(v) * (lsb - ulp)
    else:  # pragma: no cover - the enum is closed
        raise RtlRefusal(f"rounding mode {rounding} is not modelled")
    return _floor(v + c if not (isinstance(c, float) and c == 0.0) else v, dst_frac)


def overflow_to(v, dst: FixedType, where: str):
    """``v`` (already on ``dst``'s grid) brought into ``dst``'s range by its overflow mode."""
    lo_code, hi_code = saturation_bounds(dst)
    lo, hi = lo_code * dst.lsb, hi_code * dst.lsb
    if isinstance(v, float | int):
        code = int(round(v / dst.lsb))
        return float(dst.cast(np.array([code]), FixedType.widest(dst.frac))[0]) * dst.lsb
    if float(v.low) >= lo and float(v.high) <= hi:
        return v
    k, i, f = kif(dst)
    o = dst.overflow
    if o is Overflow.WRAP and dst.sat_bits == 0:
        return v.quantize(k, i, f, "WRAP", "TRN")
    if o is Overflow.SAT or (o is Overflow.SAT_SYM and lo_code == -hi_code) or (
            o is Overflow.SAT_SYM and not dst.signed):
        clipped = v
        if float(v.low) < lo:
            clipped = clipped.max_of(lo)
        if float(v.high) > hi:
            clipped = clipped.min_of(hi)
        return clipped
    wide = FixedType.widest(dst.frac)
    return table(v, lambda x: dst.cast(np.round(x / dst.lsb).astype(np.int64), wide) * dst.lsb, where,
                 f"overflow mode AP_{o.value}{f' with {dst.sat_bits} saturation bits' if dst.sat_bits else ''} "
                 f"to {dst}")


def cast(v, src: FixedType, dst: FixedType, where: str):
    """``dst_var = src_var`` on a traced value ``v`` (a multiple of ``src.lsb``), exactly as
    :meth:`FixedType.cast`: rounding by ``dst.rounding``, then ``dst.overflow``. Between identical types
    the bits are copied (C++'s implicit copy)."""
    if src == dst:
        return v
    if isinstance(v, float | int):
        code = int(round(v / src.lsb))
        return float(dst.cast(np.array([code]), src)[0]) * dst.lsb
    if v.low == v.high:
        return const(float(dst.cast(np.array([int(round(float(v.low) / src.lsb))]), src)[0]) * dst.lsb, v)
    if dst.overflow is Overflow.SAT_ZERO or (dst.overflow is Overflow.WRAP and dst.sat_bits):
        if n_points(v) <= 2**TABLE_BITS:  # one table for rounding and overflow together
            return table(v, lambda x: dst.cast(np.round(x / src.lsb).astype(np.int64), src) * dst.lsb, where,
                         f"the cast to {dst}")
    r = round_to(v, src.frac, dst.frac, dst.rounding)
    return overflow_to(r, dst, where)


def cast_array(x, src: FixedType, dst: FixedType, where: str):
    """:func:`cast` on every element of a FixedVariableArray (a new array)."""
    from da4ml.trace import FixedVariableArray

    flat = np.asarray(x._vars).ravel()
    out = np.empty(flat.size, dtype=object)
    for n, v in enumerate(flat):
        out[n] = cast(v, src, dst, where)
    return FixedVariableArray(out.reshape(x.shape), x.solver_options)
