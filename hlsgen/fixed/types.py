"""Exact Xilinx ``ap_fixed<W,I,Q,O,N>`` / ``ap_ufixed<...>`` arithmetic on int64 codes, in numpy.

A value of a :class:`FixedType` ``t`` is held as its integer *code*: ``value = code * t.lsb``, with
``t.min_code <= code <= t.max_code``. :meth:`FixedType.quantize` reproduces the header's
``ap_fixed_base(double)`` constructor and :meth:`FixedType.cast` its ``operator=``, bit for bit (the
copy hls4ml ships, ``hls4ml/templates/vivado/ap_types/ap_fixed_base.h``; tests/fixed/test_fixed.py compiles
it as the oracle). Both reduce to one step, :func:`hlsgen.fixed.rounding.convert`: an exact value
``M * 2**-s`` in target LSBs is rounded using the first discarded bit and the OR of the rest, then the
overflow mode is applied to the rounded value.

Header behaviour worth knowing (all checked against g++):

* ``ap_fixed<W>`` is not a type (``I`` has no default). ``ap_int<W>`` / ``ap_uint<W>`` parse as
  ``ap_fixed<W,W>`` / ``ap_ufixed<W,W>``: identical codes, and identical as a conversion *source*. As a
  *target* real ap_int differs: it truncates toward zero, and its double constructor turns
  ``-0.5 < x < 0`` into +1 (header bug); a FixedType floors like AP_TRN.
* AP_SAT_SYM (signed, W > 1) saturates below ``-max_code`` to ``-max_code``; a result of exactly
  ``min_code`` is mapped there too -- except between identical types, where C++ copies the bits.
  For unsigned and 1-bit signed types it is AP_SAT.
* AP_WRAP with N > 0 saturation bits, on overflow: signed types set the sign bit to the source's sign
  and bits ``W-N .. W-2`` to its complement, the low ``W-N`` bits wrap; unsigned types set the top N
  bits to 1, for negative sources too. The other overflow modes ignore N.
* ``inf`` / ``NaN`` are read as ``±1.m * 2**1024``: they wrap to 0 and saturate by their sign bit.
* A cast that drops more fractional bits than the source is wide (``src.frac - frac > src.width``)
  with a rounding mode other than AP_TRN aborts the C simulation on an ap_private assertion unless
  NDEBUG is defined; :meth:`FixedType.cast` returns what the header computes with NDEBUG.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from hlsgen.fixed import rounding
from hlsgen.fixed.rounding import Overflow, Rounding, round_right

__all__ = ["FixedType", "Overflow", "Rounding", "MAX_WIDTH", "round_right"]

#: Codes live in int64; 62 bits leave room for the sign and for one rounding carry.
MAX_WIDTH = 62


# spelling -> (is a fixed type with <W,I,...>, signed)
_KINDS = {"ap_fixed": (True, True), "ap_ufixed": (True, False), "fixed": (True, True),
          "ufixed": (True, False), "ap_int": (False, True), "ap_uint": (False, False),
          "int": (False, True), "uint": (False, False)}
_TYPE_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*<([^<>]*)>(.*)", re.DOTALL)
_INT_RE = re.compile(r"[+-]?\d+")


def _mode(enum: type[Rounding] | type[Overflow], text: str, what: str, where: str) -> Rounding | Overflow:
    # C++ spells AP_RND_CONV, hls4ml RND_CONV (and accepts any case): take both.
    name = text.strip().upper()
    name = name[3:] if name.startswith("AP_") else name
    try:
        return enum[name]
    except KeyError:
        valid = ", ".join(f"AP_{m.name}" for m in enum)
        raise ValueError(f"{where}: unknown {what} mode {text.strip()!r} (valid: {valid})") from None


def _problem(width: int, sat_bits: int) -> str | None:
    if width < 1:
        return f"width must be >= 1, got {width}"
    if width > MAX_WIDTH:
        return f"width {width} > {MAX_WIDTH} is not supported (codes are held in int64)"
    if not 0 <= sat_bits <= width:
        return f"saturation bits N must be in 0..{width}, got {sat_bits}"
    return None


@dataclass(frozen=True)
class FixedType:
    """``ap_fixed<width, integer, rounding, overflow, sat_bits>`` (``ap_ufixed`` if not ``signed``).

    ``integer`` may be negative or exceed ``width``; ``1 <= width <= 62``; ``0 <= sat_bits <= width``.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP
    sat_bits: int = 0

    def __post_init__(self) -> None:
        for name in ("width", "integer", "sat_bits"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise TypeError(f"FixedType.{name} must be an int, got {v!r}")
            object.__setattr__(self, name, int(v))  # numpy ints would leak into str() and hashing
        if not isinstance(self.rounding, Rounding) or not isinstance(self.overflow, Overflow):
            raise TypeError(f"FixedType: rounding/overflow must be Rounding/Overflow members, got "
                            f"{self.rounding!r}, {self.overflow!r}")
        object.__setattr__(self, "signed", bool(self.signed))
        problem = _problem(self.width, self.sat_bits)
        if problem:
            raise ValueError(f"{self}: {problem}")

    # ------------------------------------------------------------------ spelling

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse ``ap_fixed<W,I[,Q[,O[,N]]]>``, ``ap_ufixed<...>``, hls4ml's ``fixed<...>`` /
        ``ufixed<...>``, and ``ap_int<W>`` / ``ap_uint<W>`` / ``int<W>`` / ``uint<W>`` (read as
        ``ap_(u)fixed<W,W>``). Modes may be written with or without ``AP_``, in any case; spaces are
        allowed. ``ap_fixed<W>`` is rejected, as by the C++ compiler. Raises ValueError naming the bad part.
        """
        if not isinstance(text, str):
            raise TypeError(f"FixedType.parse expects a str, got {type(text).__name__}")
        where = f"fixed-point type {text!r}"
        m = _TYPE_RE.fullmatch(text)
        if m is None:
            raise ValueError(f"{where}: expected e.g. 'ap_fixed<8,3>' or 'ap_ufixed<8,0,AP_RND,AP_SAT>'")
        name, body, rest = m.groups()
        if rest.strip():
            raise ValueError(f"{where}: trailing junk {rest.strip()!r} after '>'")
        if name not in _KINDS:
            raise ValueError(f"{where}: unknown type name {name!r} (valid: {', '.join(_KINDS)})")
        is_fixed, signed = _KINDS[name]
        args = [a.strip() for a in body.split(",")]
        if is_fixed and not 2 <= len(args) <= 5:
            raise ValueError(f"{where}: {name} takes 2 to 5 arguments <W,I[,Q[,O[,N]]]>, got {len(args)}"
                             + (" (I has no default in the C++ headers)" if len(args) == 1 else ""))
        if not is_fixed and len(args) != 1:
            raise ValueError(f"{where}: {name} takes exactly 1 argument <W>, got {len(args)}")
        nums = {0: "width W", 1: "integer bits I", 4: "saturation bits N"}
        for i, what in nums.items():
            if i < len(args) and not _INT_RE.fullmatch(args[i]):
                raise ValueError(f"{where}: {what} must be an integer, got {args[i]!r}")
        width = int(args[0])
        sat_bits = int(args[4]) if len(args) > 4 else 0
        problem = _problem(width, sat_bits)
        if problem:
            raise ValueError(f"{where}: {problem}")
        integer = int(args[1]) if is_fixed else width
        rounding = _mode(Rounding, args[2], "rounding", where) if len(args) > 2 else Rounding.TRN
        overflow = _mode(Overflow, args[3], "overflow", where) if len(args) > 3 else Overflow.WRAP
        return cls(width, integer, signed, rounding, overflow, sat_bits)

    def _args(self, prefix: str, full: bool) -> str:
        args = [str(self.width), str(self.integer), prefix + self.rounding.value,
                prefix + self.overflow.value, str(self.sat_bits)]
        if not full:  # drop trailing defaults, as one writes it in C++
            defaults = [prefix + Rounding.TRN.value, prefix + Overflow.WRAP.value, "0"]
            while len(args) > 2 and args[-1] == defaults[len(args) - 3]:
                args.pop()
        return ",".join(args)

    def __str__(self) -> str:
        """Canonical C++ spelling, trailing defaults omitted: ``ap_fixed<8,3>``, ``ap_ufixed<8,0,AP_RND>``."""
        return f"ap_{'' if self.signed else 'u'}fixed<{self._args('AP_', full=False)}>"

    @property
    def hls4ml(self) -> str:
        """Exactly what ``str(hls4ml.model.types.FixedPrecisionType(...))`` prints for this type: all five
        fields, no prefix, e.g. ``fixed<8,3,TRN,WRAP,0>``, ``ufixed<8,0,RND_CONV,SAT,0>``."""
        return f"{'' if self.signed else 'u'}fixed<{self._args('', full=True)}>"

    # ------------------------------------------------------------------ ranges

    @property
    def frac(self) -> int:
        """Fractional bits ``W - I`` (negative when ``I > W``)."""
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        """Value of one code step, ``2.0**-frac``."""
        return math.ldexp(1.0, -self.frac)

    @property
    def min_code(self) -> int:
        """``-2**(W-1)`` if signed else 0 (also for AP_SAT_SYM, though casts from other types avoid it)."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        """``2**(W-1) - 1`` if signed else ``2**W - 1``."""
        return (1 << (self.width - self.signed)) - 1

    @property
    def code_dtype(self) -> np.dtype:
        """The narrowest of int16/int32/int64 that holds every code (the golden model's trace arrays)."""
        for dtype in (np.int16, np.int32):
            if np.iinfo(dtype).min <= self.min_code and self.max_code <= np.iinfo(dtype).max:
                return np.dtype(dtype)
        return np.dtype(np.int64)

    @property
    def min_value(self) -> float:
        """``min_code * lsb`` (exact)."""
        return math.ldexp(float(self.min_code), -self.frac)

    @property
    def max_value(self) -> float:
        """``max_code * lsb`` (rounded to the nearest double when W > 53)."""
        return math.ldexp(float(self.max_code), -self.frac)

    def to_float(self, codes: np.ndarray) -> np.ndarray:
        """Codes -> float64 values ``code * 2**-frac``; exact for codes below ``2**53`` in magnitude."""
        return np.ldexp(np.asarray(codes, dtype=np.int64).astype(np.float64), -self.frac)

    # ------------------------------------------------------------------ conversions

    def quantize(self, x: np.ndarray | float) -> np.ndarray:
        """Float64 values -> int64 codes, exactly as ``ap_fixed<...> v = (double)x;`` in C++.

        The double's exact value is rounded to the grid ``2**-frac`` by ``self.rounding`` (decided by the
        first discarded bit and the OR of all later ones), then ``self.overflow`` is applied. ``±0`` gives 0;
        ``inf``/``NaN`` behave like ``±2**1024`` (wrap to 0, saturate by sign bit), as the header reads them.
        """
        x = np.asarray(x, dtype=np.float64)
        # the header ignores the all-ones exponent: any inf/NaN acts as a huge power-of-two multiple
        x = np.where(np.isfinite(x), x, np.copysign(2.0**1023, x))
        m, e = np.frexp(x)                                # x = m * 2**e exactly, 0.5 <= |m| < 1
        mant = np.ldexp(m, 53).astype(np.int64)           # exact 53-bit integer mantissa
        # value in target LSBs = mant * 2**(e - 53 + frac); shift right by the negation of that exponent
        shift = 53 - e.astype(np.int64) - self.frac
        return rounding.convert(self, mant, shift)[0]

    def cast(self, codes: np.ndarray, src: FixedType, return_overflow: bool = False
             ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Codes of ``src`` -> codes of ``self``, exactly as the C++ assignment ``self_var = src_var;``.

        Integer arithmetic only: the code is shifted by ``src.frac - self.frac``; bits shifted out decide
        the rounding, then the overflow mode is applied to the rounded value. Input codes are taken at
        face value (``value = code * src.lsb``, any int64), which equals C++ for codes in ``src``'s range.

        With ``return_overflow=True`` also return a bool mask of the values that lay outside
        ``[min_code, max_code]`` of ``self`` after rounding, before the overflow mode acted (for signed
        AP_SAT_SYM types, W > 1, ``src != self``: outside ``[-max_code, max_code]``).
        """
        if not isinstance(src, FixedType):
            raise TypeError(f"cast: src must be a FixedType, got {type(src).__name__}")
        # Between identical types C++ uses the implicit copy, not the converting operator=: the bits are
        # kept, so AP_SAT_SYM does not move min_code (it does between types differing in any parameter).
        small = isinstance(codes, np.ndarray) and codes.dtype.kind in "iu" and codes.dtype.itemsize <= 4
        if small and src != self:
            fast = rounding.cast_int32(self, codes, src.frac - self.frac)
            if fast is not None:
                return fast if return_overflow else fast[0]
        codes = np.asarray(codes, dtype=np.int64)
        if src == self and (codes.size == 0 or (codes.min() >= self.min_code and codes.max() <= self.max_code)):
            return (codes, np.zeros(codes.shape, dtype=bool)) if return_overflow else codes  # a plain copy
        dst = replace(self, overflow=Overflow.WRAP, sat_bits=0) if src == self else self
        out, over = rounding.convert(dst, codes, src.frac - self.frac, small)
        return (out, over) if return_overflow else out

    def cast_into(self, out: np.ndarray, codes: np.ndarray, src: FixedType, nonnegative: bool = False) -> int:
        """``out[...] = cast(codes, src)``, of ``max(codes, 0)`` if ``nonnegative`` (a ReLU); returns how
        many values overflowed. ``codes`` must lie in ``src``'s range (see :func:`rounding.cast_into`)."""
        return rounding.cast_into(self, out, codes, src, nonnegative)

    # ------------------------------------------------------------------ result types

    @classmethod
    def widest(cls, frac: int, rounding: Rounding = Rounding.TRN) -> FixedType:
        """The widest signed type (``MAX_WIDTH`` bits, AP_WRAP) with ``frac`` fraction bits: it holds every
        code of any narrower type with those fraction bits, so exact sums and casts can be formed in it."""
        return cls(MAX_WIDTH, MAX_WIDTH - frac, True, rounding)

    @staticmethod
    def product_type(a: FixedType, b: FixedType) -> FixedType:
        """The C++ type of ``a * b``: ``ap_(u)fixed<Wa+Wb, Ia+Ib>`` (AP_TRN, AP_WRAP), signed if either is.

        The header uses this one rule for mixed signedness too (no extra bit): it holds every product
        exactly, since ``|signed code| <= 2**(Ws-1)`` and ``unsigned code < 2**Wu``. Raises ValueError
        when ``Wa + Wb > 62`` (C++ allows it; int64 codes do not).
        """
        return FixedType(a.width + b.width, a.integer + b.integer, a.signed or b.signed)

    @staticmethod
    def sum_type(t: FixedType, n: int) -> FixedType:
        """Narrowest ``ap_(u)fixed`` (same LSB and signedness, AP_TRN, AP_WRAP) holding any sum of ``n``
        values of ``t``, i.e. the codes ``n * t.min_code .. n * t.max_code``."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"sum_type: n must be a positive int, got {n!r}")
        lo, hi = int(n) * t.min_code, int(n) * t.max_code
        width = max(hi.bit_length(), (-lo - 1).bit_length()) + 1 if t.signed else hi.bit_length()
        return FixedType(width, width - t.frac, t.signed)
