"""Interval analysis of a spec over every input in the input type's range (the first, fast method of
``hlsgen prove``).

Every value of every stage is bounded by an interval of integer codes, stage by stage, batch first
(a batch of boxes: the whole input range for the proof, single points for the test set and the
witness search). Conv2D/Dense bounds are exact per output for independent inputs
(``lo = Wpos·lo + Wneg·hi + b``); every other stage is monotone in each input, so its bounds are its
values at the corners. Each cast (a type conversion that can saturate or wrap) is checked against its
type after rounding; where a cast may overflow, everything downstream of it gets its type's whole
range, so the analysis stays sound. Sums are formed by the golden model's own layer code with
types wide enough to be exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hlsgen.fixed import FixedType, Overflow
from hlsgen.geometry import padding
from hlsgen.golden.layers import STAGE_FUNCTIONS
from hlsgen.golden.softmax import exp_table, invert_table, table_index
from hlsgen.spec import HardwareSpec, Stage, StageKind


@dataclass(frozen=True)
class CastCheck:
    """One cast over a batch of boxes: its type, the pre-cast bounds (codes of ``src``), and per box the
    number of values that may overflow and by how many LSBs of ``t`` the worst exceeds the range (<= 0: fits)."""

    layer: str
    cast: str
    t: FixedType
    src: FixedType
    lo: np.ndarray  # (B,) smallest pre-cast code per box
    hi: np.ndarray  # (B,) largest
    overflow: np.ndarray  # (B,) count of values that overflow
    excess: np.ndarray  # (B,) float
    value_lo: np.ndarray | None = None  # (B, n) per-value pre-cast bounds, kept when analyse is asked to
    value_hi: np.ndarray | None = None


class _Checks(list):
    """The checks of one analysis; ``keep``: each also holds its per-value bounds (the exact method's
    constraints: only for the single box, a batch of test images would hold every stage's values)."""

    keep = False


def _check(layer: str, cast: str, t: FixedType, src: FixedType, lo: np.ndarray, hi: np.ndarray,
           checks: list[CastCheck]) -> tuple[np.ndarray, np.ndarray]:
    """Record the cast of ``[lo, hi]`` (codes of ``src``) to ``t``; return the box after it: the rounded
    corners where nothing overflows, the whole range of ``t`` for values that may."""
    b = len(lo)
    rlo, olo = t.cast(lo, src, return_overflow=True)
    rhi, ohi = (rlo, olo) if hi is lo else t.cast(hi, src, return_overflow=True)
    over = (olo | ohi).reshape(b, -1)
    shift = t.frac - src.frac
    top = hi.reshape(b, -1).astype(np.float64) * 2.0**shift - t.max_code
    bottom = t.min_code - lo.reshape(b, -1).astype(np.float64) * 2.0**shift
    excess = np.maximum(top, bottom).max(axis=1, initial=-np.inf)
    keep = getattr(checks, "keep", False)
    checks.append(CastCheck(layer, cast, t, src, lo.reshape(b, -1).min(axis=1), hi.reshape(b, -1).max(axis=1),
                            over.sum(axis=1), excess, lo.reshape(b, -1) if keep else None,
                            hi.reshape(b, -1) if keep else None))
    # saturation clips monotonically, and a point stays a point; otherwise (a wrap, AP_SAT_ZERO) a box
    # that may overflow can land anywhere in the type
    full = (olo | ohi) & (lo != hi) & (t.overflow not in (Overflow.SAT, Overflow.SAT_SYM))
    return np.where(full, t.min_code, rlo), np.where(full, t.max_code, rhi)


def _to_frac(codes: np.ndarray, src: int, dst: int, up: bool) -> np.ndarray:
    """Codes at ``src`` fraction bits as codes at ``dst``: exact when ``dst >= src``, else rounded down
    (or up, ``up``) so that the result still bounds the value."""
    if dst >= src:
        return codes * 2 ** (dst - src)
    step = 2 ** (src - dst)
    return -((-codes) // step) if up else codes // step


def _weighted(stage: Stage, lo: np.ndarray, hi: np.ndarray, checks: list[CastCheck]):
    """Conv2D/Dense: each product is rounded to the accumulator's fraction bits on its own (when it has
    more), which is monotone in the input for a fixed weight, so ``Wpos·lo + Wneg·hi`` (and the converse)
    bound every sum exactly; the golden model's own kernels form them, with an accumulator of the same
    fraction bits and rounding that is wide enough never to wrap."""
    acc_t = stage.accum_t
    wide = FixedType.widest(acc_t.frac, acc_t.rounding)

    def sums(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
        exact = replace(stage, weight_codes=weights, bias_codes=np.zeros_like(stage.bias_codes), accum_t=wide,
                        result_t=wide)
        return STAGE_FUNCTIONS[stage.kind](exact, x)[0].astype(np.int64)

    bias = acc_t.cast(stage.bias_codes, stage.bias_t)  # the accumulator starts from the bias in accum_t
    if lo is hi:  # points (the test images): one pass instead of four
        total = sums(lo, stage.weight_codes) + bias
        lo, hi = _check(stage.name, "accum", acc_t, acc_t, total, total, checks)
    else:
        pos, neg = np.maximum(stage.weight_codes, 0), np.minimum(stage.weight_codes, 0)
        lo, hi = _check(stage.name, "accum", acc_t, acc_t, sums(lo, pos) + sums(hi, neg) + bias,
                        sums(hi, pos) + sums(lo, neg) + bias, checks)
    if stage.result_t != acc_t:
        lo, hi = _check(stage.name, "result", stage.result_t, acc_t, lo, hi, checks)
    return lo, hi


def _pool_sums(x: np.ndarray, stage: Stage) -> tuple[np.ndarray, np.ndarray]:
    """Window sums (zero padding) and the count of non-padding cells per window."""
    p = stage.params
    pads = [padding(x.shape[axis], k, s, p.padding)
            for axis, (k, s) in enumerate(zip(p.pool_size, p.strides, strict=True), 1)]
    spec = ((0, 0), pads[0], pads[1], (0, 0))
    count = np.pad(np.ones((1, *x.shape[1:3], 1), np.int64), spec)
    windows = (sliding_window_view(np.pad(x, spec), p.pool_size, axis=(1, 2))[:, :: p.strides[0], :: p.strides[1]],
               sliding_window_view(count, p.pool_size, axis=(1, 2))[:, :: p.strides[0], :: p.strides[1]])
    return windows[0].sum(axis=(-2, -1)), windows[1].sum(axis=(-2, -1))


def _avgpool(stage: Stage, lo: np.ndarray, hi: np.ndarray, checks: list[CastCheck]):
    acc_t, in_t = stage.accum_t, stage.input_t
    (s_lo, n), (s_hi, _) = _pool_sums(lo, stage), _pool_sums(hi, stage)
    shift = 2 ** (acc_t.frac - in_t.frac)
    lo, hi = _check(stage.name, "pool", acc_t, acc_t, s_lo * shift, s_hi * shift, checks)
    # truncating division toward zero is monotone
    lo, hi = (np.sign(v) * (np.abs(v) // n) for v in (lo, hi))
    return _check(stage.name, "result", stage.result_t, acc_t, lo, hi, checks)


def _softmax(stage: Stage, lo: np.ndarray, hi: np.ndarray, checks: list[CastCheck]):
    p, in_t, b = stage.params, stage.input_t, len(lo)
    if p.implementation == "argmax":
        one = np.full((b, 1), int(FixedType.widest(stage.result_t.frac).quantize(np.array(1.0))))
        return _check(stage.name, "result", stage.result_t, FixedType.widest(stage.result_t.frac), one, one, checks)
    point = np.array_equal(lo, hi)
    if p.implementation == "stable":
        diff_t, norm_t = FixedType(in_t.width + 1, in_t.integer + 1), p.inp_norm_t
        d_lo = np.maximum(lo.max(axis=1, keepdims=True) - hi, 0)
        d_hi = hi.max(axis=1, keepdims=True) - lo
        d_lo, d_hi = _check(stage.name, "softmax_input", norm_t, diff_t, d_lo, d_hi, checks)
        table = exp_table(norm_t, p.exp_table_size, p.exp_table_t, True)
        # exp(-d) does not grow with d, so neither do its table entries (monotone rounding)
        e_lo = table[table_index(d_hi, norm_t, p.exp_table_size)]
        e_hi = table[table_index(d_lo, norm_t, p.exp_table_size)]
    else:
        table = exp_table(in_t, p.exp_table_size, p.exp_table_t, False)
        if point:
            e_lo = e_hi = table[table_index(lo, in_t, p.exp_table_size)]
        else:
            e_lo, e_hi = np.full(lo.shape, table.min()), np.full(lo.shape, table.max())
    acc_t, inv_t = p.accum_t, p.inv_inp_t
    e_lo, e_hi = _check(stage.name, "softmax_exp", acc_t, p.exp_table_t, e_lo, e_hi, checks)
    # every partial sum of the adder tree lies between the sums of the negative and of the positive terms
    part_lo = np.minimum(e_lo, 0).sum(axis=1, keepdims=True)
    part_hi = np.maximum(e_hi, 0).sum(axis=1, keepdims=True)
    c_lo, c_hi = _check(stage.name, "softmax_sum", acc_t, acc_t, part_lo, part_hi, checks)
    fits = (c_lo == part_lo) & (c_hi == part_hi)
    t_lo = np.where(fits, e_lo.sum(axis=1, keepdims=True), c_lo)
    t_hi = np.where(fits, e_hi.sum(axis=1, keepdims=True), c_hi)
    s_lo, s_hi = _check(stage.name, "softmax_inv_input", inv_t, acc_t, t_lo, t_hi, checks)
    inv = invert_table(inv_t, p.inv_table_size, p.inv_table_t)
    if point:
        i_lo = i_hi = inv[table_index(s_lo, inv_t, p.inv_table_size)]
    else:
        i_lo, i_hi = np.full(s_lo.shape, inv.min()), np.full(s_hi.shape, inv.max())
    prod_t = FixedType.product_type(acc_t, p.inv_table_t)
    corners = np.stack([e_lo * i_lo, e_lo * i_hi, e_hi * i_lo, e_hi * i_hi])
    return _check(stage.name, "result", stage.result_t, prod_t, corners.min(axis=0), corners.max(axis=0), checks)


def analyse(spec: HardwareSpec, lo: np.ndarray, hi: np.ndarray, last: int | None = None,
            outputs: dict | None = None) -> list[CastCheck]:
    """Every cast of the spec's stages (up to stage index ``last``) over the batch of boxes ``[lo, hi]``
    (input codes, ``(B, *input_shape)``). With ``outputs`` (a dict, filled in): each stage's output bounds
    by stage name, and every check keeps its per-value bounds."""
    checks = _Checks()
    checks.keep = outputs is not None
    point = lo is hi  # the analysis of points: every stage then maps equal bounds to equal bounds
    lo = np.asarray(lo, np.int64)
    hi = lo if point else np.asarray(hi, np.int64)
    for stage in spec.stages[: None if last is None else last + 1]:
        kind = stage.kind
        if kind.weighted:
            lo, hi = _weighted(stage, lo, hi, checks)
        elif kind is StageKind.AVGPOOL:
            lo, hi = _avgpool(stage, lo, hi, checks)
        elif kind is StageKind.SOFTMAX:
            lo, hi = _softmax(stage, lo, hi, checks)
        elif kind is StageKind.FLATTEN:
            lo, hi = lo.reshape(len(lo), -1), hi.reshape(len(hi), -1)
        else:  # relu, linear, maxpool: monotone; the cast is the stage's own (max pooling: to its result type)
            same = replace(stage, result_t=stage.input_t) if kind is StageKind.MAXPOOL else None
            if same is not None:
                lo, hi = (STAGE_FUNCTIONS[kind](same, v)[0].astype(np.int64) for v in (lo, hi))
            elif kind is StageKind.RELU:
                lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
            if same is None or stage.result_t != stage.input_t:
                lo, hi = _check(stage.name, "result", stage.result_t, stage.input_t, lo, hi, checks)
        if point:
            hi = lo  # equal values; the same array lets the next stage compute once
        if outputs is not None:
            outputs[stage.name] = (lo, hi)
    return checks


def headroom_bits(check: CastCheck) -> int:
    """Integer bits the cast's type could lose (same fraction bits) and still hold the bounds."""
    t = check.t
    lo = int(_to_frac(np.array(check.lo.min()), check.src.frac, t.frac, up=False))
    hi = int(_to_frac(np.array(check.hi.max()), check.src.frac, t.frac, up=True))
    need = max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + (1 if t.signed else 0)
    return max(t.width - max(need, 1), 0)


def overflow_thresholds(t: FixedType, src: FixedType, lo: int, hi: int) -> tuple[int | None, int | None]:
    """``(a, b)``: the largest code of ``src`` in ``[lo, hi]`` whose cast to ``t`` overflows below and the
    smallest that overflows above (None: none does). Rounding is monotone and 0 always fits, so each side
    is a threshold, found by bisection on :meth:`FixedType.cast`'s own overflow mask."""

    def over(c: int) -> bool:
        return bool(t.cast(np.array([c], np.int64), src, return_overflow=True)[1][0])

    b = None
    start = max(lo, 0)
    if hi >= start and over(hi):
        left, right = start, hi
        while left < right:
            mid = (left + right) // 2
            left, right = (left, mid) if over(mid) else (mid + 1, right)
        b = right
    a = None
    end = min(hi, 0)
    if lo <= end and over(lo):
        left, right = lo, end
        while left < right:
            mid = (left + right + 1) // 2
            left, right = (mid, right) if over(mid) else (left, mid - 1)
        a = left
    return a, b
