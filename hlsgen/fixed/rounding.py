"""The conversion arithmetic of ``ap_fixed_base.h``: an exact value ``M * 2**-s`` in a target type's LSBs
becomes a code of that type, rounded by its quantization mode (decided by the first discarded bit and the
OR of the rest), then bounded by its overflow mode. :class:`hlsgen.fixed.FixedType`'s ``quantize``,
``cast`` and ``cast_into`` are built on these functions; tests/fixed/test_fixed.py checks them against the
header compiled with g++.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hlsgen.fixed import FixedType

_U64 = np.uint64


class Rounding(Enum):
    """Quantization modes (``ap_q_mode`` without the ``AP_`` prefix)."""

    TRN = "TRN"                  # floor
    TRN_ZERO = "TRN_ZERO"        # toward zero
    RND = "RND"                  # nearest, ties toward +inf
    RND_ZERO = "RND_ZERO"        # nearest, ties toward zero
    RND_MIN_INF = "RND_MIN_INF"  # nearest, ties toward -inf
    RND_INF = "RND_INF"          # nearest, ties away from zero
    RND_CONV = "RND_CONV"        # nearest, ties to even


class Overflow(Enum):
    """Overflow modes (``ap_o_mode`` without the ``AP_`` prefix); AP_WRAP_SM is not supported."""

    WRAP = "WRAP"
    SAT = "SAT"
    SAT_ZERO = "SAT_ZERO"
    SAT_SYM = "SAT_SYM"


def round_right(mant: np.ndarray, shift: int, rounding: Rounding) -> np.ndarray:
    """``mant * 2**-shift`` rounded to an integer by ``rounding``, for int64 ``|mant| < 2**62`` and
    ``0 < shift <= 62``: one add and one arithmetic shift. The added constant carries exactly the
    discarded fractions that must round up: ``half`` is the first discarded bit's weight, and the parity
    or sign term settles a tie (or, for TRN_ZERO, any fraction of a negative value)."""
    half = 1 << (shift - 1)
    if rounding is Rounding.TRN:
        return mant >> shift
    if rounding is Rounding.RND:                       # tie up
        return (mant + half) >> shift
    if rounding is Rounding.RND_MIN_INF:               # tie down
        return (mant + (half - 1)) >> shift
    if rounding is Rounding.RND_CONV:                  # tie to the even neighbour: up iff floor is odd
        out = mant >> shift
        out &= 1
        out += mant
        out += half - 1
        out >>= shift
        return out
    sign = mant >> (mant.dtype.itemsize * 8 - 1)       # -1 for negative values, else 0
    if rounding is Rounding.TRN_ZERO:                  # any fraction of a negative value rounds up
        return (mant + (sign & ((1 << shift) - 1))) >> shift
    if rounding is Rounding.RND_ZERO:                  # tie up for negative values
        return (mant - sign + (half - 1)) >> shift
    return (mant + sign + half) >> shift               # RND_INF: tie down for negative values


def cast_into(t: FixedType, out: np.ndarray, codes: np.ndarray, src: FixedType, nonnegative: bool = False
              ) -> int:
    """``out[...] = cast(codes, src)``, of ``max(codes, 0)`` if ``nonnegative`` (a ReLU); returns how
    many values overflowed (as the mask of ``FixedType.cast`` counts them).

    ``codes`` must lie in ``src``'s range (as the golden model's always do). That lets the common
    narrowing cast to a saturating type run on 32-bit codes with no range check and no mask: round,
    count the values beyond the rails, clip straight into ``out``."""
    shift = src.frac - t.frac
    if src == t and not nonnegative:
        np.copyto(out, codes, casting="unsafe")  # the implicit copy: in range, bits kept
        return 0
    if not (_clips_in_int32(t, shift) and -(2**30) < src.min_code and src.max_code < 2**30
            and codes.dtype.kind in "iu" and codes.dtype.itemsize <= 4):
        exact = np.maximum(codes, 0) if nonnegative else codes
        result, overflow = t.cast(exact, src, return_overflow=True)
        np.copyto(out, result, casting="unsafe")
        return int(np.count_nonzero(overflow))
    codes = codes.astype(np.int32, copy=False)  # |code| < 2**30: adding half a step cannot overflow
    rounded = round_right(codes, shift, t.rounding) if shift else codes
    lo, hi = saturation_bounds(t)
    # max(x, 0) rounds to max(round(x), 0) (rounding is monotone and keeps 0): clip at 0 instead
    lo = max(lo, 0) if nonnegative else lo
    count = np.count_nonzero(rounded > hi) if src.max_code >> shift >= hi else 0
    if not nonnegative and -((-src.min_code) >> shift) <= lo:
        count += np.count_nonzero(rounded < lo)
    np.clip(rounded, lo, hi, out=out, casting="unsafe")
    return int(count)


def _clips_in_int32(t: FixedType, shift: int) -> bool:
    """A cast to ``t`` dropping ``shift`` fraction bits (0..30) is a round and a clip that int32 holds, for
    source codes below 2**30 in magnitude (adding half a step then cannot overflow)."""
    return clips(t) and 0 <= shift <= 30 and t.width <= 31


def cast_int32(t: FixedType, codes: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The common narrowing cast in int32 (half the memory traffic of int64): a right shift by at most
    30 bits with rounding, then saturation by clipping, of codes below 2**30 in magnitude. None when
    the cast is not of that kind (the caller takes the general path)."""
    if not (_clips_in_int32(t, shift) and shift > 0 and codes.size):
        return None
    if codes.dtype.itemsize > 2 or codes.dtype == np.uint32:  # 16-bit codes cannot reach 2**30
        if not (-(2**30) < int(codes.min()) and int(codes.max()) < 2**30):
            return None
    codes = codes.astype(np.int32, copy=False)
    return saturate_or_wrap(t, codes, round_right(codes, shift, t.rounding))


def convert(t: FixedType, mant: np.ndarray, shift: np.ndarray | int, small: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Codes and overflow mask for the exact values ``mant * 2**-shift`` (target LSBs).

    ``shift`` is an array (quantize) or a Python int (cast): the scalar case skips work that
    cannot apply (no rounding for a left shift, one branch of each select), a large speed-up.
    ``small``: every ``|mant| < 2**32`` is known (codes that came in a 32-bit integer array).
    """
    scalar = isinstance(shift, int)
    if (scalar and 0 < shift <= 62 and mant.size
            and (small or (-(2**62) < mant.min() and mant.max() < 2**62))):
        return saturate_or_wrap(t, mant, round_right(mant, shift, t.rounding))
    if not scalar:
        mant, shift = np.broadcast_arrays(mant, shift)
    # numpy defines shifts >= 64 (0, or the sign for >> on int64); 65 still sees every bit as shifted out
    right = np.clip(shift, 0, 65)
    left = np.clip(-shift, 0, 64).astype(_U64)
    u = mant.view(_U64)                               # two's-complement bits for logical shifts
    neg = mant < 0
    floor = mant >> right                              # arithmetic shift: floor of the exact value
    below = np.maximum(right - 1, 0).astype(_U64)
    # qb: first discarded bit (the 'half'); r: any discarded bit after it. Both 0 when shift <= 0.
    if scalar and shift <= 0:
        qb = r = np.bool_(False)
    else:
        qb = (right > 0) & (((mant >> np.maximum(right - 1, 0)) & 1) == 1)
        with np.errstate(over="ignore"):  # 1 << 64 is 0 here: 0 - 1 is the all-ones mask we want
            r = (right > 1) & ((u & ((_U64(1) << below) - _U64(1))) != 0)
    q = t.rounding
    if scalar and shift <= 0:
        inc = np.bool_(False)
    elif q is Rounding.TRN:
        inc = np.zeros_like(qb)
    elif q is Rounding.TRN_ZERO:
        inc = neg & (qb | r)
    elif q is Rounding.RND:
        inc = qb
    elif q is Rounding.RND_ZERO:
        inc = qb & (neg | r)
    elif q is Rounding.RND_MIN_INF:
        inc = qb & r
    elif q is Rounding.RND_INF:
        inc = qb & (~neg | r)
    else:  # RND_CONV: a tie goes to the even neighbour
        inc = qb & (((floor & 1) == 1) | r)
    rounded = floor + inc                              # |floor| <= 2**62 when shift > 0: no overflow
    if scalar and shift > 0:
        return saturate_or_wrap(t, mant, rounded)

    lo, hi = saturation_bounds(t)
    # shift < 0 means an exact left shift: value in [lo, hi]  <=>  ceil(lo/2**k) <= mant <= floor(hi/2**k)
    k = left.astype(np.int64)
    if scalar and shift < 0:
        over_hi, over_lo, bits = mant > (np.int64(hi) >> k), mant < -(np.int64(-lo) >> k), u << left
    else:
        lefted = shift < 0
        over_hi = np.where(lefted, mant > (np.int64(hi) >> k), rounded > hi)
        over_lo = np.where(lefted, mant < -(np.int64(-lo) >> k), rounded < lo)
        bits = np.where(lefted, u << left, rounded.view(_U64))
    return _apply_overflow(t, bits, over_hi, over_lo, neg)


def saturation_bounds(t: FixedType) -> tuple[int, int]:
    """The codes overflow clips to: ``[min_code, max_code]``, or ``[-max_code, max_code]`` for AP_SAT_SYM
    (a 1-bit signed type has max_code 0 and the header then gives -1)."""
    sym = t.signed and t.overflow is Overflow.SAT_SYM and t.width > 1
    return (-t.max_code if sym else t.min_code), t.max_code


def clips(t: FixedType) -> bool:
    """Overflow is a clip to :func:`saturation_bounds` (AP_SAT, and AP_SAT_SYM of a signed type of 2+ bits)."""
    lo, hi = saturation_bounds(t)
    return t.overflow is Overflow.SAT or (t.overflow is Overflow.SAT_SYM and lo == -hi)


def saturate_or_wrap(t: FixedType, mant: np.ndarray, rounded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overflow handling of ``rounded``, the rounded codes of the source codes ``mant`` (any int64 below
    2**62 in magnitude; int32 codes only where overflow clips)."""
    lo, hi = saturation_bounds(t)
    if clips(t):
        # saturation of an in-int64 value is a clip: skip the bit-level path
        clipped = np.clip(rounded, lo, hi)
        return clipped, clipped != rounded
    return _apply_overflow(t, rounded.view(_U64), rounded > hi, rounded < lo, mant < 0)


def _apply_overflow(t: FixedType, bits: np.ndarray, over_hi: np.ndarray, over_lo: np.ndarray,
                    neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The W-bit pattern of ``bits`` (two's complement) with the overflow mode applied to the values
    flagged in ``over_hi``/``over_lo``; ``neg`` is the sign of the exact source value."""
    lo, hi = saturation_bounds(t)
    w = t.width
    mask = _U64((1 << w) - 1)
    bits = bits & mask
    o = t.overflow
    if o is Overflow.WRAP and t.sat_bits:
        n = t.sat_bits
        if t.signed:  # sign bit := source sign; bits W-N..W-2 := its complement
            top = _U64(((1 << (n - 1)) - 1) << (w - n))
            sat = (bits & ~(top | _U64(1 << (w - 1)))) | np.where(neg, _U64(1 << (w - 1)), top)
        else:            # unsigned: top N bits := 1, whichever way it overflowed
            sat = bits | _U64(((1 << n) - 1) << (w - n))
        bits = np.where(over_hi | over_lo, sat, bits)
    code = bits.view(np.int64)
    if t.signed:  # sign-extend the W-bit pattern
        code = (code ^ (1 << (w - 1))) - (1 << (w - 1))
    if o is Overflow.SAT or o is Overflow.SAT_SYM:
        code = np.where(over_hi, hi, np.where(over_lo, lo, code))
    elif o is Overflow.SAT_ZERO:
        code = np.where(over_hi | over_lo, 0, code)
    return code.astype(np.int64, copy=False), over_hi | over_lo
