"""The pure parts of ``hlsgen search``: what a candidate costs in weight memory, which narrowing moves a
round tries, which move the greedy search takes, and the Pareto front. No I/O, no Dask, no TensorFlow:
every function here is a deterministic function of its arguments (accuracies travel as integer counts
of correctly classified images, so every comparison is exact)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from hlsgen.config.precision import CHOSEN, Quantity, TypeKey

Key = TypeKey  # (layer, Quantity.WEIGHT | BIAS | RESULT)
QUANTITIES = CHOSEN


@dataclass(frozen=True)
class Move:
    """Narrow one component (``key``) from ``old`` to ``new`` bits of width."""

    key: Key
    old: int
    new: int

    @property
    def name(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"


def weight_bits(sizes: Mapping[Key, int], widths: Mapping[Key, int]) -> int:
    """Bits of all weights and biases: ``sum(count * width)`` over the weight and bias components
    (results hold no memory of their own and are ignored; a component missing from ``widths`` is an error).

    >>> weight_bits({("fc", "weight"): 100, ("fc", "bias"): 10, ("fc", "result"): 0},
    ...             {("fc", "weight"): 4, ("fc", "bias"): 8, ("fc", "result"): 6})
    480
    """
    return sum(n * widths[key] for key, n in sizes.items() if key[1] != Quantity.RESULT)


def saved_bits(sizes: Mapping[Key, int], move: Move) -> int:
    """Weight-memory bits a move saves: the component's parameter count times the bits removed (0 for
    a result)."""
    return 0 if move.key[1] == Quantity.RESULT else sizes[move.key] * (move.old - move.new)


def generate_moves(widths: Mapping[Key, int], frozen: set[Key] | frozenset[Key], lo: int, hi: int) -> list[Move]:
    """Every "narrow one component" move from ``widths``, in the order of ``widths`` (network order;
    weight, bias, result within a layer): the next width is ``min(width - 1, hi)`` (a config wider than
    ``hi`` drops to ``hi`` first); components that are ``frozen`` or would go below ``lo`` have none."""
    moves = []
    for key, width in widths.items():
        new = min(width - 1, hi)
        if key not in frozen and new >= lo:
            moves.append(Move(key, width, new))
    return moves


def allowed_loss(max_drop: float, n_test: int) -> int:
    """How many correctly classified test images a candidate may lose against the reference and stay
    within ``max_drop`` percentage points: ``floor(max_drop / 100 * n_test)`` (0.5 points of 10,000
    images: 50)."""
    return math.floor(max_drop * n_test / 100 + 1e-9)


def choose_move(current: int, results: Sequence[tuple[Move, int | None]], sizes: Mapping[Key, int],
                floor: int) -> int | None:
    """The index in ``results`` of the move the greedy search takes, or None when none qualifies.

    ``current``: correct images of the current candidate; each result is (move, correct images or None
    for a candidate that could not be evaluated); a move qualifies when its count is at least ``floor``
    (the reference's count minus :func:`allowed_loss`). Among qualifying moves the order is: moves that
    save weight memory before those that do not (results); then the most bits saved per image lost
    (a loss below one image counts as one, so free moves rank by bits saved); then more bits saved;
    then more correct images; then the earlier move. Every key is exact (integers and fractions).
    """
    best, best_key = None, None
    for i, (move, correct) in enumerate(results):
        if correct is None or correct < floor:
            continue
        saved = saved_bits(sizes, move)
        key = (saved > 0, Fraction(saved, max(current - correct, 1)), saved, correct, -i)
        if best_key is None or key > best_key:
            best, best_key = i, key
    return best


def pareto_front(points: Sequence[tuple[int, int | None]]) -> list[int]:
    """Indices of the points (weight bits, correct images; None = not evaluated) that no other point
    dominates (no more bits and no fewer correct, one of them strictly), by increasing bits. Of equal
    points the first one is kept.

    >>> pareto_front([(100, 90), (80, 90), (80, 85), (60, 70), (70, 60), (60, 70), (50, None)])
    [3, 1]
    """
    order = sorted((i for i, (_, c) in enumerate(points) if c is not None),
                   key=lambda i: (points[i][0], -points[i][1], i))
    front: list[int] = []
    best = None
    for i in order:
        correct = points[i][1]
        if best is None or correct > best:
            front.append(i)
            best = correct
    return front


def confirm_set(front: Sequence[int], bits: Mapping[int, int], best: int, confirm: int) -> list[int]:
    """Which front candidates a QAT fine-tune confirms, up to ``confirm`` of them, by increasing bits:
    ``best`` (the smallest weight memory within the PTQ budget); the next narrower front member (a
    fine-tune may recover what PTQ lost); then fallbacks spread over the wider part of the front: for
    ``k`` left, the members nearest to ``k`` evenly spaced weight-memory targets between ``best`` and the
    widest front member (nearest first; ties: the narrower). ``front`` is by increasing bits, ``bits``
    maps candidate -> weight bits.

    >>> bits = {7: 10, 5: 20, 3: 30, 2: 31, 1: 60, 0: 100}
    >>> confirm_set([7, 5, 3, 2, 1, 0], bits, best=5, confirm=3)  # target 60: candidate 1
    [7, 5, 1]
    >>> confirm_set([7, 5, 3, 2, 1, 0], bits, best=7, confirm=3)  # targets 40 and 70: 2 (31) and 1 (60)
    [7, 2, 1]
    """
    if confirm <= 0:
        return []
    if best not in front:
        return [best]
    pos = front.index(best)
    chosen = [best]
    if pos > 0 and confirm > 1:
        chosen.append(front[pos - 1])
    wider = list(front[pos + 1:])
    k = min(confirm - len(chosen), len(wider))
    top = bits[front[-1]]
    for j in range(1, k + 1):
        target = bits[best] + (top - bits[best]) * j / (k + 1)
        pick = min((c for c in wider if c not in chosen), key=lambda c: (abs(bits[c] - target), bits[c]))
        chosen.append(pick)
    return sorted(chosen, key=lambda c: front.index(c))
