"""Accuracy of post-training quantization (PTQ) for candidate precisions: the float model's weights
rounded into a config's types and run through the golden model, i.e. exactly what that hardware
would compute. Used by ``hlsgen profile`` to show what each binary point buys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.config import Config
from hlsgen.data import input_codes
from hlsgen.errors import HlsgenError
from hlsgen.export import ptq_codes
from hlsgen.fixed import FixedType
from hlsgen.profile import precision_block, uniform_precision, variant
from hlsgen.spec import build_spec


class PtqEvaluator:
    """Test accuracy of the float model's weights rounded into a config's types, on the golden model.
    Input codes are computed once per input type (the sweeps mostly share one)."""

    def __init__(self, float_model, images: np.ndarray, y: np.ndarray):
        self.float_model, self.images, self.y = float_model, images, np.asarray(y, dtype=np.int64)
        self._codes: dict[FixedType, np.ndarray] = {}

    def accuracy(self, cfg: Config) -> float:
        spec = build_spec(cfg, ptq_codes(cfg, self.float_model))
        if cfg.input_type not in self._codes:
            self._codes[cfg.input_type] = input_codes(cfg.input_type, self.images)
        return float(np.mean(golden.labels(golden.run(spec, self._codes[cfg.input_type]).output) == self.y))

    def try_accuracy(self, cfg_fn) -> float | None:
        """Accuracy of the config ``cfg_fn()`` builds; None when the config rules reject that candidate
        (e.g. a type the accumulator cannot hold)."""
        try:
            return self.accuracy(cfg_fn())
        except (HlsgenError, ValueError):
            return None


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
            curve[i] = ptq.try_accuracy(lambda types=types: variant(cfg, raw, precision_block(cfg, raw, types)))
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
