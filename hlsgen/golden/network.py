"""The golden model: the network in integer arithmetic, exactly as hls4ml's C++ computes it.

Driven only by a :class:`~hlsgen.spec.HardwareSpec`; no I/O. Everything travels as integer *codes*
(value = code * lsb of the stage's type). Each stage is one function of :mod:`hlsgen.golden.layers` (the
layers' arithmetic, as hls4ml's ``nnet_utils`` computes it); this module runs them over a batch of
images in cache-sized blocks, one thread per core (numpy releases the GIL), and keeps every stage's
output (the trace) and overflow count.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from threadpoolctl import threadpool_limits

from hlsgen.golden.layers import STAGE_FUNCTIONS
from hlsgen.spec import HardwareSpec

__all__ = ["STAGE_FUNCTIONS", "GoldenResult", "StageStats", "labels", "run"]

_BLOCK_VALUES = 1 << 20  # values of the largest stage output per block of images (8 MB as int64)


@dataclass(frozen=True)
class StageStats:
    """Per stage: how many output values overflowed the result type (saturated or wrapped)."""

    overflow: int
    total: int


@dataclass(frozen=True)
class GoldenResult:
    """``trace[name]``: every stage's output codes, batch first; ``stats[name]``: overflow counts."""

    trace: dict[str, np.ndarray]
    stats: dict[str, StageStats]
    output_name: str

    @property
    def output(self) -> np.ndarray:
        return self.trace[self.output_name]


def labels(outputs: np.ndarray) -> np.ndarray:
    """Class labels of network outputs: the argmax of scores (first maximum, as hls4ml's argmax), or the
    outputs themselves when they already are one label per image."""
    return outputs if outputs.ndim == 1 else np.argmax(outputs.reshape(len(outputs), -1), axis=-1)


def run(spec: HardwareSpec, input_codes: np.ndarray, threads: int | None = None) -> GoldenResult:
    """Run the network on a batch of input codes, shape ``(N, *spec.input_shape)``.

    Returns the output codes of every stage (the trace, each in the ``code_dtype`` of its result type)
    and per-stage overflow counts. Images are processed in cache-sized blocks, ``threads`` at a time
    (default: one per core); every image is computed independently, so the result does not depend on it.
    """
    x = np.asarray(input_codes)
    if x.shape[1:] != tuple(spec.input_shape):
        if x.shape[1:] == tuple(spec.input_shape[:-1]) and spec.input_shape[-1] == 1:
            x = x[..., np.newaxis]
        else:
            raise ValueError(f"input codes of shape {x.shape}, expected (N, {', '.join(map(str, spec.input_shape))})")
    if x.dtype.kind not in "iu":
        raise ValueError(f"input codes must be integers, got {x.dtype}")
    n, stages, input_t = len(x), spec.stages, spec.input_t
    trace: dict[str, np.ndarray] = {}
    for i, s in enumerate(stages):  # a flatten's output is its input's memory, reshaped
        flat = s.kind == "flatten" and i > 0 and trace[stages[i - 1].name].dtype == s.result_t.code_dtype
        trace[s.name] = (trace[stages[i - 1].name].reshape(n, *s.output_shape) if flat
                         else np.empty((n, *s.output_shape), dtype=s.result_t.code_dtype))
    sizes = [math.prod(s.output_shape) for s in stages]
    block = max(1, _BLOCK_VALUES // max(sizes))
    workers = max(1, min(-(-n // block), threads or os.cpu_count() or 1))
    # as many blocks as a multiple of the workers, of equal size: no worker idles while another finishes
    blocks = max(1, -(-n // block))
    block = max(1, -(-n // (-(-blocks // workers) * workers)))
    # Large early stages run in cache-sized blocks; once the values per image have shrunk 8-fold, the
    # rest (many small numpy calls, bound by the GIL) runs in one block per thread.
    front = 1 + max(i for i, size in enumerate(sizes) if size * 8 >= max(sizes))
    phases = [(0, front, block), (front, len(stages), max(block, -(-n // workers)))]
    overflow = [0] * len(stages)

    def run_block(first: int, last: int, start: int, size: int) -> list[int]:
        if first == 0:  # checked and narrowed here, one block per thread
            codes = x[start:start + size]
            if codes.size and (codes.min() < input_t.min_code or codes.max() > input_t.max_code):
                raise ValueError(f"input codes outside {input_t} [{input_t.min_code}, {input_t.max_code}]")
            codes = codes.astype(input_t.code_dtype, copy=False)
        else:
            codes = trace[stages[first - 1].name][start:start + size]
        counts = []
        for stage in stages[first:last]:
            # each stage writes its trace slice, which the next one reads (narrow codes: less memory traffic)
            codes, count = STAGE_FUNCTIONS[stage.kind](stage, codes, trace[stage.name][start:start + size])
            counts.append(count)
        return counts

    # numpy releases the GIL inside its array loops; BLAS runs one thread per worker (no oversubscription)
    with ThreadPoolExecutor(workers) as pool, threadpool_limits(1 if workers > 1 else None, user_api="blas"):
        for first, last, size in phases:
            if first == last:
                continue
            starts = range(0, n, size)
            for counts in pool.map(run_block, repeat(first), repeat(last), starts, repeat(size)):
                for i, count in enumerate(counts, start=first):
                    overflow[i] += count
    stats = {s.name: StageStats(overflow[i], trace[s.name].size) for i, s in enumerate(stages)}
    return GoldenResult(trace, stats, spec.stages[-1].name)
