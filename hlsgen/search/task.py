"""One evaluation of ``hlsgen search``, as a Dask task runs it on a worker: a self-contained function of
(config as a dict, the float weights, the data file, the number of test images) -> correct images.

A worker needs only the hlsgen package and the data file: this module imports numpy, the config
package, the spec lowering, the golden model and :mod:`hlsgen.train.codes` (which does not load
TensorFlow; ``hlsgen.train`` loads it lazily). The test set and its input codes are loaded once per
worker process and kept.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.config import config_from_dict
from hlsgen.data import input_codes, load_mnist
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.spec.lower import build_spec
from hlsgen.train.codes import round_codes

Weights = dict[str, tuple[np.ndarray, np.ndarray]]

# (data path, n_test) -> (test images, labels, {input type: input codes}); one entry per worker process
_TEST_SETS: dict[tuple[str, int | None], tuple[np.ndarray, np.ndarray, dict[FixedType, np.ndarray]]] = {}


def _test_set(data_path: str, n_test: int | None):
    key = (data_path, n_test)
    if key not in _TEST_SETS:
        data = load_mnist(data_path)  # a given path never reaches Keras' downloader (no TensorFlow)
        _TEST_SETS.clear()  # one search at a time per worker: keep the memory bounded
        _TEST_SETS[key] = (data.x_test[:n_test], data.y_test[:n_test].astype(np.int64), {})
    return _TEST_SETS[key]


def ptq_correct(raw: dict[str, Any], weights: Weights, data_path: str, n_test: int | None) -> int | None:
    """How many of the first ``n_test`` test images the hardware of config ``raw`` classifies correctly,
    with the float ``weights`` (``{layer: (weights, biases)}``, batch norm folded) rounded half to even
    and saturated into its weight and bias types (post-training quantization), run through the golden
    model. None when the config rules or the lowering reject the candidate."""
    try:
        cfg = config_from_dict(raw)
        codes = {name: (round_codes(cfg.precision[name].weight, w), round_codes(cfg.precision[name].bias, b))
                 for name, (w, b) in weights.items()}
        spec = build_spec(cfg, codes)
    except (HlsgenError, ValueError):
        return None
    images, labels, codes_by_type = _test_set(data_path, n_test)
    if cfg.input_type not in codes_by_type:
        codes_by_type[cfg.input_type] = input_codes(cfg.input_type, images)
    out = golden.run(spec, codes_by_type[cfg.input_type]).output
    return int(np.count_nonzero(golden.labels(out) == labels))


def heavy_modules() -> list[str]:
    """Which of TensorFlow, QKeras and hls4ml this process has loaded (a worker should have none)."""
    return sorted(m for m in ("tensorflow", "qkeras", "hls4ml") if m in sys.modules)
