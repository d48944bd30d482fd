"""Exact overflow checks: the network up to one cast as a mixed-integer linear program over integer codes
(solved by HiGHS through ``scipy.optimize.milp``), asked per value whether any input in the input type's
range takes it beyond the cast's type.

Every value is an integer code. Conv2D/Dense sums are linear in their inputs (the weight of each
connection read from the golden model's own kernel on unit inputs). A rounding of ``x`` by ``k`` bits is
an integer ``q`` with ``r = x - 2**k * q`` in the rounding mode's interval (``[0, 2**k - 1]`` for AP_TRN,
``[-2**(k-1), 2**(k-1) - 1]`` for AP_RND, ...; AP_RND_CONV: ``q = 2h + p`` and ``|r| < 2**(k-1)`` when ``q``
is odd; the modes that depend on the sign get a binary sign). ReLU, max pooling and saturation are
maxima, each a disjunction with one binary per operand and big-M constants from the interval bounds;
AP_WRAP is ``r - 2**W * m``; average pooling's division truncates toward zero. A cast proved earlier is
the identity (sound: it never overflows), and every value is bounded by its interval. A cast whose
overflow mode is not modelled (AP_SAT_ZERO, AP_WRAP with saturation bits) becomes a free value in its
type's range: sound for a proof; a solution is a witness only when the golden model confirms it.
Softmax is not modelled: its casts get no exact check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint
from scipy.sparse import csr_matrix, vstack

from hlsgen.analysis.interval import overflow_thresholds
from hlsgen.analysis.milp import Aff, Program, add, const, scale, solve
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.fixed.rounding import clips, saturation_bounds
from hlsgen.geometry import padding
from hlsgen.golden.layers import STAGE_FUNCTIONS
from hlsgen.spec import HardwareSpec, Stage, StageKind

_MAX_CONNECTIONS = 1 << 26  # unit-input matrix of a weighted stage (int64 entries): 512 MB at most


class Unsupported(Exception):
    """The network up to this cast has a part the exact method does not model (softmax, a huge layer)."""


@dataclass(frozen=True)
class Outcome:
    """An exact check of one cast: ``proved`` (no value can overflow: pre-cast codes within ``bound``),
    ``witness`` (input codes whose value overflows in the program), or neither (the time ran out)."""

    proved: bool
    witness: np.ndarray | None
    bound: tuple[int, int] | None
    relaxed: bool


def _round_int(c: int, shift: int, rounding: Rounding) -> int:
    """``c * 2**-shift`` rounded by ``rounding`` (a right shift by ``shift > 0``)."""
    return int(FixedType.widest(0, rounding).cast(np.array([c], np.int64), FixedType.widest(shift))[0])


# remainder interval [lo, hi] of x - 2**k * q per rounding mode, for x >= 0 and x <= 0 (half = 2**(k-1))
def _remainders(rounding: Rounding, step: int) -> tuple[tuple[int, int], tuple[int, int]]:
    half = step // 2
    return {Rounding.TRN: ((0, step - 1), (0, step - 1)),
            Rounding.TRN_ZERO: ((0, step - 1), (1 - step, 0)),
            Rounding.RND: ((-half, half - 1), (-half, half - 1)),
            Rounding.RND_MIN_INF: ((1 - half, half), (1 - half, half)),
            Rounding.RND_ZERO: ((1 - half, half), (-half, half - 1)),
            Rounding.RND_INF: ((-half, half - 1), (1 - half, half)),
            Rounding.RND_CONV: ((-half, half), (-half, half))}[rounding]


class _Encoder:
    def __init__(self, p: Program):
        self.p = p

    def binary(self) -> int:
        return self.p.var(0, 1)

    def rounded(self, x: Aff, lo: int, hi: int, shift: int, rounding: Rounding) -> tuple[Aff, int, int]:
        """``x * 2**-shift`` rounded (codes in ``[lo, hi]``), and its bounds."""
        if shift <= 0:
            return scale(x, 2**-shift), lo * 2**-shift, hi * 2**-shift
        q_lo, q_hi = _round_int(lo, shift, rounding), _round_int(hi, shift, rounding)
        if not x[0]:
            q = _round_int(x[1], shift, rounding)
            return const(q), q, q
        step = 2**shift
        q = self.p.var(q_lo, q_hi)
        r = add(x, ({q: -step}, 0))  # x - step * q
        pos, neg = _remainders(rounding, step)
        if pos == neg or lo >= 0 or hi <= 0:
            r_lo, r_hi = pos if lo >= 0 else neg
            self.p.row(r, r_lo, r_hi)
        else:  # s = 1: x >= 0, s = 0: x <= 0 (x = 0 satisfies both intervals: r = 0)
            s = self.binary()
            self.p.row(add(x, ({s: -lo}, lo), -1), 0, np.inf)  # x >= lo * (1 - s)
            self.p.row(add(x, ({s: hi}, 0), -1), -np.inf, 0)  # x <= hi * s
            self.p.row(add(r, ({s: neg[0] - pos[0]}, 0)), neg[0], np.inf)  # r >= neg + (pos - neg) * s
            self.p.row(add(r, ({s: neg[1] - pos[1]}, 0)), -np.inf, neg[1])
        if rounding is Rounding.RND_CONV:  # a tie (|r| = half) only for an even q: q = 2h + odd
            odd = self.binary()
            h = self.p.var(np.floor(q_lo / 2) - 1, np.ceil(q_hi / 2) + 1)
            self.p.row(({q: 1, h: -2, odd: -1}, 0), 0, 0)
            half = step // 2
            self.p.row(add(r, ({odd: 1}, 0)), -np.inf, half)  # r <= half - odd
            self.p.row(add(r, ({odd: -1}, 0)), -half, np.inf)  # r >= -half + odd
        return ({q: 1}, 0), q_lo, q_hi

    def maximum(self, xs: list[tuple[Aff, int, int]]) -> tuple[Aff, int, int]:
        """The largest of the operands ``(expr, lo, hi)``: one binary per operand that can be the largest."""
        best = max(lo for _, lo, _ in xs)
        xs = [x for x in xs if x[2] > best or x[1] == best]
        if len(xs) == 1:
            return xs[0]
        top = max(hi for _, _, hi in xs)
        y = self.p.var(best, top)
        picks = []
        for x, lo, _ in xs:
            self.p.row(add(({y: 1}, 0), x, -1), 0, np.inf)  # y >= x
            a = self.binary()
            picks.append(a)
            m = top - lo  # y <= x + m * (1 - a)
            self.p.row(add(({y: 1, a: m}, 0), x, -1), -np.inf, m)
        self.p.row(({a: 1 for a in picks}, 0), 1, 1)
        return ({y: 1}, 0), best, top

    def cast(self, x: Aff, lo: int, hi: int, src: FixedType, t: FixedType, safe: bool) -> tuple[Aff, int, int]:
        """``(t) x`` as the C++ assignment (``safe``: proved not to overflow)."""
        if src == t:
            return x, lo, hi  # the implicit copy (values in range: the analysis checked them)
        r, r_lo, r_hi = self.rounded(x, lo, hi, src.frac - t.frac, t.rounding)
        s_lo, s_hi = saturation_bounds(t)
        if safe or (r_lo >= s_lo and r_hi <= s_hi):
            return r, max(r_lo, s_lo), min(r_hi, s_hi)
        if clips(t):
            if r_lo < s_lo:
                r, r_lo, r_hi = self.maximum([(r, r_lo, r_hi), (const(s_lo), s_lo, s_lo)])
            if r_hi > s_hi:  # min(r, s_hi) = -max(-r, -s_hi)
                m, m_lo, m_hi = self.maximum([(scale(r, -1), -r_hi, -r_lo), (const(-s_hi), -s_hi, -s_hi)])
                r, r_lo, r_hi = scale(m, -1), -m_hi, -m_lo
            return r, r_lo, r_hi
        if t.overflow is Overflow.WRAP and not t.sat_bits:
            span = 2**t.width
            m = self.p.var((r_lo - t.max_code) // span, -((t.min_code - r_hi) // span))
            w = add(r, ({m: -span}, 0))
            self.p.row(w, t.min_code, t.max_code)
            return w, t.min_code, t.max_code
        self.p.relaxed = True  # not modelled: any code of the type
        return ({self.p.var(t.min_code, t.max_code): 1}, 0), t.min_code, t.max_code

    def truncating_division(self, x: Aff, lo: int, hi: int, n: int) -> tuple[Aff, int, int]:
        """C++ ``x / n`` on integers (toward zero): ``x - n q`` in ``[0, n-1]`` for x >= 0, ``[1-n, 0]`` below."""
        if n == 1:
            return x, lo, hi
        q_lo, q_hi = int(np.sign(lo)) * (abs(lo) // n), int(np.sign(hi)) * (abs(hi) // n)
        q = self.p.var(q_lo, q_hi)
        r = add(x, ({q: -n}, 0))
        if lo >= 0 or hi <= 0:
            self.p.row(r, *((0, n - 1) if lo >= 0 else (1 - n, 0)))
        else:
            s = self.binary()
            self.p.row(add(x, ({s: -lo}, lo), -1), 0, np.inf)
            self.p.row(add(x, ({s: hi}, 0), -1), -np.inf, 0)
            self.p.row(add(r, ({s: -(n - 1)}, 0)), 1 - n, np.inf)  # r >= (1 - n)(1 - s)
            self.p.row(add(r, ({s: -(n - 1)}, 0)), -np.inf, 0)  # r <= (n - 1) s
        return ({q: 1}, 0), q_lo, q_hi


def _connections(stage: Stage) -> np.ndarray:
    """``(n_in, n_out)`` weight codes of every input-output connection of a Conv2D/Dense (0: none), from the
    golden kernel on unit inputs with an exact accumulator (padding and strides as the hardware has them)."""
    n_in, n_out = int(np.prod(stage.input_shape)), int(np.prod(stage.output_shape))
    if n_in * n_out > _MAX_CONNECTIONS:
        raise Unsupported(f"{stage.name}: {n_in} x {n_out} connections")
    wide = FixedType.widest(stage.input_t.frac + stage.weight_t.frac)
    exact = replace(stage, bias_codes=np.zeros_like(stage.bias_codes), accum_t=wide, result_t=wide)
    one = 1 if stage.input_t.max_code >= 1 else -1  # a unit code the input type holds
    unit = one * np.eye(n_in, dtype=np.int64).reshape(n_in, *stage.input_shape)
    return one * STAGE_FUNCTIONS[stage.kind](exact, unit)[0].reshape(n_in, n_out).astype(np.int64)


def _window_indices(stage: Stage) -> list[list[int]]:
    """Per pooling output (flat, channels-last) the flat indices of the input values under its window
    (padding cells left out)."""
    p, shape = stage.params, stage.input_shape
    idx = np.arange(int(np.prod(shape))).reshape(1, *shape)
    pads = [padding(shape[axis - 1], k, s, p.padding)
            for axis, (k, s) in enumerate(zip(p.pool_size, p.strides, strict=True), 1)]
    padded = np.pad(idx, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-1)
    win = np.lib.stride_tricks.sliding_window_view(padded, p.pool_size, axis=(1, 2))
    win = win[:, :: p.strides[0], :: p.strides[1]].reshape(-1, p.pool_size[0] * p.pool_size[1])
    return [[int(i) for i in row if i >= 0] for row in win]


Values = list[tuple[Aff, int, int]]


class _Network:
    """The stages up to the target cast, value by value (flat, channels-last)."""

    def __init__(self, spec: HardwareSpec, checks: dict, proved: set[tuple[str, str]], target: tuple[str, str]):
        self.spec, self.checks, self.proved, self.target = spec, checks, proved, target
        self.p = Program()
        self.e = _Encoder(self.p)
        self.found: Values | None = None

    def cast(self, stage: Stage, cast: str, xs: Values, src: FixedType, t: FixedType) -> Values | None:
        """The cast ``(stage, cast)`` of every value; at the target, record the values before it (None)."""
        if (stage.name, cast) == self.target:
            self.found = xs
            return None
        safe = (stage.name, cast) in self.proved
        return [self.e.cast(x, lo, hi, src, t, safe) for x, lo, hi in xs]

    def weighted(self, stage: Stage, xs: Values) -> Values | None:
        acc_t = stage.accum_t
        shift = stage.input_t.frac + stage.weight_t.frac - acc_t.frac
        if shift > 0 and (acc_t.overflow is not Overflow.WRAP or acc_t.sat_bits):
            raise Unsupported(f"{stage.name}: products rounded into a non-wrapping accumulator")
        m = _connections(stage)
        bias = np.resize(acc_t.cast(stage.bias_codes, stage.bias_t).astype(np.int64), m.shape[1]).tolist()
        c = self.checks[(stage.name, "accum")]
        lo, hi = c.value_lo[0].reshape(-1).tolist(), c.value_hi[0].reshape(-1).tolist()
        sums: Values = []
        for o in range(m.shape[1]):
            coefs: dict[int, int] = {}
            offset = bias[o]
            for i in np.flatnonzero(m[:, o]).tolist():
                w, (x, x_lo, x_hi) = int(m[i, o]), xs[i]
                if shift <= 0:
                    term = scale(x, w * 2**-shift)
                else:
                    a, b = w * x_lo, w * x_hi
                    term = self.e.rounded(scale(x, w), min(a, b), max(a, b), shift, acc_t.rounding)[0]
                for v, c in term[0].items():  # summed in place: the sum of n terms is O(n)
                    coefs[v] = coefs.get(v, 0) + c
                offset += term[1]
            sums.append((({v: c for v, c in coefs.items() if c}, offset), lo[o], hi[o]))
        out = self.cast(stage, "accum", sums, FixedType.widest(acc_t.frac, acc_t.rounding), acc_t)
        if out is None or stage.result_t == acc_t:
            return out
        return self.cast(stage, "result", out, acc_t, stage.result_t)

    def stage(self, stage: Stage, xs: Values) -> Values | None:
        kind = stage.kind
        if kind.weighted:
            return self.weighted(stage, xs)
        if kind is StageKind.RELU:
            relu = [self.e.maximum([x, (const(0), 0, 0)]) if x[1] < 0 < x[2] else
                    (x if x[1] >= 0 else (const(0), 0, 0)) for x in xs]
            return self.cast(stage, "result", relu, stage.input_t, stage.result_t)
        if kind is StageKind.LINEAR:
            return self.cast(stage, "result", xs, stage.input_t, stage.result_t)
        if kind is StageKind.MAXPOOL:
            out = [self.e.maximum([xs[i] for i in w]) for w in _window_indices(stage)]
            return out if stage.result_t == stage.input_t else self.cast(stage, "result", out, stage.input_t,
                                                                         stage.result_t)
        if kind is StageKind.AVGPOOL:
            acc_t, factor = stage.accum_t, 2 ** (stage.accum_t.frac - stage.input_t.frac)
            windows = _window_indices(stage)
            sums = []
            for w in windows:
                total = const(0)
                for i in w:
                    total = add(total, xs[i][0], factor)
                sums.append((total, sum(xs[i][1] for i in w) * factor, sum(xs[i][2] for i in w) * factor))
            out = self.cast(stage, "pool", sums, FixedType.widest(acc_t.frac), acc_t)
            if out is None:
                return None
            out = [self.e.truncating_division(x, lo, hi, len(w)) for (x, lo, hi), w in zip(out, windows, strict=True)]
            return self.cast(stage, "result", out, acc_t, stage.result_t)
        if kind is StageKind.FLATTEN:
            return xs
        raise Unsupported(f"{stage.name}: {kind.value} is not modelled exactly")


def encode(spec: HardwareSpec, checks: dict, proved: set[tuple[str, str]], target: tuple[str, str],
           deadline: float = float("inf")) -> tuple[Program, list[int], Values]:
    """The program of the network up to the cast ``target``: its input variables and the values before that
    cast (codes of the cast's source type, flat). ``checks`` maps ``(layer, cast)`` to the interval
    analysis' check with per-value bounds. Raises TimeoutError past ``deadline`` (``time.monotonic()``)."""
    net = _Network(spec, checks, proved, target)
    t = spec.input_t
    inputs = [net.p.var(t.min_code, t.max_code) for _ in range(int(np.prod(spec.input_shape)))]
    xs: Values | None = [(({v: 1}, 0), t.min_code, t.max_code) for v in inputs]
    for stage in spec.stages:
        xs = net.stage(stage, xs)
        if xs is None:
            return net.p, inputs, net.found
        if time.monotonic() > deadline:
            raise TimeoutError(stage.name)
    raise Unsupported(f"{target}: no such cast")


def exact_check(spec: HardwareSpec, checks: dict, proved: set[tuple[str, str]], target: tuple[str, str],
                seconds: float) -> Outcome:
    """Ask, value by value (the largest interval excess first), whether an input in range takes the value
    before the cast ``target`` beyond its type: a feasibility program per value and side, with that value
    past the overflow threshold. Stops at the first solution (a witness) or when ``seconds``
    run out (``Outcome(False, None, None, ...)``). Raises :class:`Unsupported`."""
    deadline = time.monotonic() + seconds
    check = checks[target]
    v_lo, v_hi = check.value_lo[0].reshape(-1), check.value_hi[0].reshape(-1)
    a, b = overflow_thresholds(check.t, check.src, int(v_lo.min()), int(v_hi.max()))
    try:
        p, inputs, values = encode(spec, checks, proved, target, deadline)
    except TimeoutError:
        return Outcome(False, None, None, False)
    matrix, row_lo, row_hi = p.matrix()
    bounds = Bounds(np.array(p.lb, np.float64), np.array(p.ub, np.float64))
    n = len(p.lb)
    queries = []
    for k in range(len(values)):
        if b is not None and v_hi[k] >= b:
            queries.append((float(v_hi[k] - b), k, 1))
        if a is not None and v_lo[k] <= a:
            queries.append((float(a - v_lo[k]), k, -1))
    for _, k, sign in sorted(queries, key=lambda q: -q[0]):
        left = deadline - time.monotonic()
        if left <= 0:
            return Outcome(False, None, None, p.relaxed)
        coefs, offset = values[k][0]
        row = np.zeros(n)
        for v, c in coefs.items():
            row[v] = c
        # sign * value >= sign * threshold, loosened by half a code (values are integers): HiGHS' tolerances
        # then cannot cut off a solution that lies exactly on the threshold
        need = sign * ((b if sign > 0 else a) - offset) - 0.5
        status, solution = solve(dict(c=np.zeros(n), integrality=np.ones(n), bounds=bounds,
                                       constraints=[LinearConstraint(vstack([matrix, csr_matrix(sign * row)]),
                                                                     np.append(row_lo, need),
                                                                     np.append(row_hi, np.inf))]), left)
        if solution is not None:
            x = np.rint(solution[inputs]).astype(np.int64)
            return Outcome(False, x.reshape(spec.input_shape), None, p.relaxed)
        if status != 2:  # not infeasible: the time ran out (or the solver gave up)
            return Outcome(False, None, None, p.relaxed)
    lo = int(v_lo.min()) if a is None else max(int(v_lo.min()), a + 1)
    hi = int(v_hi.max()) if b is None else min(int(v_hi.max()), b - 1)
    return Outcome(True, None, (lo, hi), p.relaxed)
