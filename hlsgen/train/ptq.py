"""Accuracy of post-training quantization (PTQ): a float model's weights rounded into a config's types
and run through the golden model, i.e. exactly what that hardware would compute."""

from __future__ import annotations

import numpy as np

from hlsgen import golden
from hlsgen.config import Config
from hlsgen.data import input_codes
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.spec.lower import build_spec
from hlsgen.train.codes import ptq_codes


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
