"""Accuracy of post-training quantization (PTQ) for candidate precisions: the float model's weights
rounded into a config's types and run through the golden model, i.e. exactly what that hardware
would compute. Used by ``hlsgen profile`` to show what each binary point buys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from hlsgen.config import Config
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.profile.ranges import uniform_precision, variant
from hlsgen.train.ptq import PtqEvaluator


def uniform_sweep(cfg: Config, raw: dict[str, Any], ptq: PtqEvaluator, exact_accum: bool,
                  bits: Iterable[int] = range(0, 8)) -> dict[int, float | None]:
    """Accuracy with one ``ap_fixed<8,I>`` everywhere, for each ``I`` in ``bits``."""
    return {i: ptq.try_accuracy(lambda i=i: variant(cfg, raw, uniform_precision(raw, i, exact_accum))) for i in bits}


def layer_sweeps(cfg: Config, raw: dict[str, Any], base: dict[tuple[str, str], FixedType], ptq: PtqEvaluator,
                 span: int) -> dict[tuple[str, str], dict[int, float | None]]:
    """For each type in ``base`` (the profiled choice): accuracy with its integer bits moved over
    ``I-span .. I+span``, every other type as in ``base``."""
    sweeps = {}
    for key, t in base.items():
        curve = {}
        for i in range(t.integer - span, t.integer + span + 1):
            types = {**base, key: replace(t, integer=i)}
            curve[i] = ptq.try_accuracy(lambda types=types: cfg.with_types(types))
        sweeps[key] = curve
    return sweeps


def most_sensitive(sweeps: dict[tuple[str, str], dict[int, float | None]]) -> str:
    """The layer whose types' sweeps span the widest accuracy range."""
    spread: dict[str, float] = {}
    for (layer, _), curve in sweeps.items():
        accs = [a for a in curve.values() if a is not None]
        if accs:
            spread[layer] = max(spread.get(layer, 0.0), max(accs) - min(accs))
    if not spread:
        raise HlsgenError("profile: no precision in the sweep could be evaluated")
    return max(spread, key=spread.get)
