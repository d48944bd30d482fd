"""Witnesses: inputs whose value at a cast overflows its type, found by coordinate ascent on the input
codes and confirmed by the golden model."""

from __future__ import annotations

import time

import numpy as np

from hlsgen.analysis.interval import CastCheck, analyse, overflow_thresholds
from hlsgen.spec import HardwareSpec, StageKind


def find_check(checks: list[CastCheck], layer: str, cast: str) -> CastCheck:
    return next(c for c in checks if (c.layer, c.cast) == (layer, cast))


def stage_index(spec: HardwareSpec, layer: str) -> int:
    return next(i for i, s in enumerate(spec.stages) if s.name == layer)


def _stage_inputs(spec: HardwareSpec, x: np.ndarray, i: int) -> np.ndarray:
    """The input codes of stage ``i`` for the batch ``x`` (the golden model runs the stages before it)."""
    from hlsgen.golden import run

    if i == 0:
        return x
    prefix = HardwareSpec(spec.name, spec.input_shape, spec.input_t, spec.stages[:i])
    return run(prefix, x, threads=1).trace[spec.stages[i - 1].name].astype(np.int64)


def points(spec: HardwareSpec, x: np.ndarray, layer: str, cast: str, keep: bool = False,
           inputs: np.ndarray | None = None) -> CastCheck:
    """The cast evaluated exactly on each input of the batch ``x`` (``keep``: with every value): the golden
    model runs the stages before the cast's (much faster than the analysis of points), the analysis of
    points the cast's own stage (on ``inputs``, that stage's inputs, when given)."""
    i = stage_index(spec, layer)
    x = _stage_inputs(spec, x, i) if inputs is None else inputs
    s = spec.stages[i]
    alone = HardwareSpec(spec.name, s.input_shape, s.input_t, (s,))
    return find_check(analyse(alone, x, x, last=0, outputs={} if keep else None), layer, cast)


def confirmed(spec: HardwareSpec, x: np.ndarray, layer: str, cast: str) -> bool:
    """Does the input really overflow this cast? The golden model counts the overflows of each stage's
    result cast (softmax excepted); the other casts (accumulators, pooling sums, softmax internals) are
    evaluated exactly on the point."""
    from hlsgen.golden import run

    if cast == "result" and spec.stages[stage_index(spec, layer)].kind is not StageKind.SOFTMAX:
        return run(spec, x[None], threads=1).stats[layer].overflow > 0
    return bool(points(spec, x[None], layer, cast).overflow[0] > 0)


def _scores(spec: HardwareSpec, x: np.ndarray, layer: str, cast: str, sides: tuple[int | None, int | None],
            value: int | None) -> np.ndarray:
    """Per input of the batch: how far the value ``value`` (every value's worst, None) lies beyond the
    overflow thresholds ``sides = (a, b)`` (codes of the cast's source; >= 0: it overflows).

    A softmax's result is a table lookup, flat almost everywhere: there the score is how far its input
    ``value`` (None: the largest) exceeds every other (a probability near 1 is what saturates), shifted
    below 0, and 1 where the result overflows."""
    i = stage_index(spec, layer)
    if spec.stages[i].kind is StageKind.SOFTMAX and cast == "result":
        logits = _stage_inputs(spec, x, i).reshape(len(x), -1)
        over = points(spec, x, layer, cast, inputs=logits).overflow > 0
        top = np.sort(logits, axis=1)
        if value is None:
            margin = top[:, -1] - top[:, -2]
        else:
            others = np.delete(logits, value, axis=1).max(axis=1)
            margin = logits[:, value] - others
        span = float(spec.stages[i].input_t.max_code - spec.stages[i].input_t.min_code)
        return np.where(over, 1.0, margin - 2 * span - 1)
    check = points(spec, x, layer, cast, keep=value is not None)
    if value is None:
        return check.excess  # in LSBs of the cast's type: > 0 when it overflows
    v = check.value_lo[:, value].astype(np.float64)
    a, b = sides
    up = v - b if b is not None else np.full(len(v), -np.inf)
    down = a - v if a is not None else np.full(len(v), -np.inf)
    return np.maximum(up, down)


def _ascend(spec: HardwareSpec, layer: str, cast: str, x: np.ndarray, sides, value: int | None,
            deadline: float) -> np.ndarray:
    """Coordinate ascent from ``x``: each round tries every input value at its type's minimum and maximum,
    takes all the changes that help at once if that helps more than the best single one (the value is a sum
    of many local terms, so distant changes add up), else the best single one; until none helps."""
    t = spec.input_t
    flat = x.reshape(-1).astype(np.int64)
    best = float(_scores(spec, flat.reshape(1, *x.shape), layer, cast, sides, value)[0])
    while time.monotonic() < deadline and best < 0:
        # every change of one value to an end of the range it is not at
        where, to = np.concatenate([np.flatnonzero(flat != t.min_code), np.flatnonzero(flat != t.max_code)]), \
            np.repeat([t.min_code, t.max_code], [np.count_nonzero(flat != t.min_code),
                                                 np.count_nonzero(flat != t.max_code)])
        cands = np.repeat(flat[None], len(where), axis=0)
        cands[np.arange(len(where)), where] = to
        s = _scores(spec, cands.reshape(len(where), *x.shape), layer, cast, sides, value)
        i = int(np.argmax(s))
        if s[i] <= best:
            break
        combined = flat.copy()
        order = np.argsort(-s, kind="stable")
        helps = order[s[order] > best]
        combined[where[helps[::-1]]] = to[helps[::-1]]  # the best change of each value wins
        c = float(_scores(spec, combined.reshape(1, *x.shape), layer, cast, sides, value)[0])
        best, flat = (c, combined) if c > s[i] else (float(s[i]), cands[i])
    return flat.reshape(x.shape)


def find_witness(spec: HardwareSpec, layer: str, cast: str, starts: np.ndarray, seconds: float = 10.0,
                 values: int = 3) -> np.ndarray | None:
    """An input whose value at this cast overflows, or None when none is found within ``seconds`` (the
    cast is not then shown safe). Ascends on each of the ``values`` values whose interval bounds exceed the
    type most, then on the worst value's excess (a softmax result: on the margin of the top class, then of
    every class), each from the best of ``starts`` for it, each ascent with an equal share of the time left."""
    deadline = time.monotonic() + seconds
    t = spec.input_t
    shape = tuple(spec.input_shape)
    box = (np.full((1, *shape), t.min_code), np.full((1, *shape), t.max_code))
    check = find_check(analyse(spec, *box, last=stage_index(spec, layer), outputs={}), layer, cast)
    sides = overflow_thresholds(check.t, check.src, int(check.lo[0]), int(check.hi[0]))
    a, b = sides
    if a is None and b is None:
        return None  # no input in range overflows it
    lo, hi = check.value_lo[0], check.value_hi[0]
    excess = np.maximum(hi - b if b is not None else -np.inf, a - lo if a is not None else -np.inf)
    targets = [int(k) for k in np.argsort(-excess, kind="stable")[:values] if excess[k] >= 0] + [None]
    if spec.stages[stage_index(spec, layer)].kind is StageKind.SOFTMAX and cast == "result":
        targets = [None, *range(lo.size)]  # every class may be the one that saturates
    for n, value in enumerate(targets):
        s = _scores(spec, starts, layer, cast, sides, value)
        share = time.monotonic() + (deadline - time.monotonic()) / (len(targets) - n)  # each its part of the rest
        x = _ascend(spec, layer, cast, starts[int(np.argmax(s))], sides, value, share)
        if points(spec, x[None], layer, cast).overflow[0] > 0:
            return x
        if time.monotonic() >= deadline:
            break
    return None
