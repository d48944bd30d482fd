"""The golden model: the network in integer arithmetic, exactly as hls4ml's C++ computes it.

Driven only by a :class:`~hlsgen.spec.HardwareSpec`; no I/O. Everything travels as int64 *codes*
(value = code * lsb of the stage's type). Sums of products are computed as float64 matrix products,
which are exact because every partial sum is an integer below 2**53 (asserted, not assumed).

Rules taken from hls4ml 1.3.0's ``nnet_utils`` (see docs/golden.md):

- Conv2D/Dense: each product ``x*w`` is formed at full precision and assigned to ``accum_t``; the
  accumulator starts at the bias (cast to ``accum_t``) and adds the products (AP_WRAP, so order is
  irrelevant); the sum is cast to ``result_t`` with its rounding and overflow modes.
- ReLU: ``res = x > 0 ? (result_t) x : 0``.
- Max pooling: the largest code of the window, cast to ``result_t``.
- Softmax: :mod:`hlsgen.softmax`, hls4ml's lookup tables reproduced entry for entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hlsgen import softmax
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec, Stage

_EXACT = 2.0**53
_CHUNK = 1 << 22  # elements per block in the per-product rounding path


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


def run(spec: HardwareSpec, input_codes: np.ndarray) -> GoldenResult:
    """Run the network on a batch of input codes, shape ``(N, *spec.input_shape)``.

    Returns the output codes of every stage (the trace) and per-stage overflow counts.
    """
    x = np.asarray(input_codes)
    if x.shape[1:] != tuple(spec.input_shape):
        if x.shape[1:] == tuple(spec.input_shape[:-1]) and spec.input_shape[-1] == 1:
            x = x[..., np.newaxis]
        else:
            raise ValueError(f"input codes of shape {x.shape}, expected (N, {', '.join(map(str, spec.input_shape))})")
    x = x.astype(np.int64)
    if x.size and (x.min() < spec.input_t.min_code or x.max() > spec.input_t.max_code):
        raise ValueError(f"input codes outside {spec.input_t} [{spec.input_t.min_code}, {spec.input_t.max_code}]")
    trace: dict[str, np.ndarray] = {}
    stats: dict[str, StageStats] = {}
    for stage in spec.stages:
        x, overflow = STAGE_FUNCTIONS[stage.kind](stage, x)
        trace[stage.name] = x
        stats[stage.name] = StageStats(int(overflow), int(x.size))
    return GoldenResult(trace, stats, spec.stages[-1].name)


# ------------------------------------------------------------------------------ arithmetic

def _wide(frac: int) -> FixedType:
    return FixedType.parse(f"ap_fixed<62,{62 - frac}>")


def accumulate(cols: np.ndarray, stage: Stage) -> np.ndarray:
    """``bias + cols @ weights`` in ``accum_t`` codes, as hls4ml's dense kernels compute it.

    ``cols`` has shape (M, K) of input codes, weights (K, O). Each product is assigned to
    ``accum_t`` (rounded per ``accum_t`` if it has fewer fractional bits than the product) and the
    sum wraps modulo ``2**accum_t.width`` (AP_WRAP).
    """
    in_t, w_t, b_t, acc_t = stage.input_t, stage.weight_t, stage.bias_t, stage.accum_t
    w = stage.weight_codes.reshape(-1, stage.weight_codes.shape[-1])
    prod_t = FixedType.product_type(in_t, w_t)
    bias = acc_t.cast(stage.bias_codes, b_t)
    k = w.shape[0]
    if acc_t.frac >= prod_t.frac:
        scale = 2 ** (acc_t.frac - prod_t.frac)
        bound = k * max(abs(in_t.min_code), in_t.max_code) * max(abs(w_t.min_code), w_t.max_code)
        assert bound < _EXACT, f"{stage.name}: partial sums up to {bound} are not exact in float64"
        # float32 (half the memory traffic) where every partial sum is an integer below 2**24
        ftype = np.float32 if bound < 2**24 else np.float64
        sums = (cols.astype(ftype, copy=False) @ w.astype(ftype)).astype(np.int64)
        total = sums * scale + bias if scale != 1 else sums + bias
        assert np.abs(total).max(initial=0) < 2**62, f"{stage.name}: accumulator beyond int64"
    else:  # products round on assignment to accum_t: form each one (in blocks, to bound memory)
        total = np.empty((cols.shape[0], w.shape[1]), dtype=np.int64)
        rows = max(1, _CHUNK // (k * w.shape[1]))
        for start in range(0, cols.shape[0], rows):
            block = cols[start:start + rows, :, None] * w[None, :, :]
            total[start:start + rows] = acc_t.cast(block, prod_t).sum(axis=1) + bias
    if total.size and acc_t.min_code <= total.min() and total.max() <= acc_t.max_code:
        return total  # no wrap happened (always so for a derived accumulator)
    return acc_t.cast(total, _wide(acc_t.frac))  # AP_WRAP: modular, whatever the order


def _finish(stage: Stage, acc: np.ndarray) -> tuple[np.ndarray, int]:
    out, overflow = stage.result_t.cast(acc, stage.accum_t, return_overflow=True)
    return out, int(np.count_nonzero(overflow))


def _dense(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    return _finish(stage, accumulate(x.reshape(x.shape[0], -1), stage))


def _pad_same(x: np.ndarray, window: list[int], strides: list[int], value: int) -> np.ndarray:
    """Keras' 'same' padding: total = max((out-1)*stride + window - size, 0), the extra row/column
    going to the bottom/right."""
    pads = []
    for axis, (k, s) in enumerate(zip(window, strides, strict=True), start=1):
        size = x.shape[axis]
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, window: list[int], strides: list[int]) -> np.ndarray:
    """(N, H, W, C) -> (N, OH, OW, kh, kw, C) views of every window."""
    v = sliding_window_view(x, tuple(window), axis=(1, 2))  # (N, H', W', C, kh, kw)
    v = v[:, :: strides[0], :: strides[1]]
    return v.transpose(0, 1, 2, 4, 5, 3)


def _conv2d(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    kernel, strides = stage.params["kernel_size"], stage.params["strides"]
    if stage.params["padding"] == "same":
        x = _pad_same(x, kernel, strides, 0)
    # im2col copies every input kh*kw times: do it in the narrowest float that holds the codes exactly
    win = _windows(x.astype(np.float32 if np.abs(x).max(initial=0) < 2**24 else np.float64), kernel, strides)
    n, oh, ow = win.shape[:3]
    acc = accumulate(win.reshape(n * oh * ow, -1), stage)
    out, overflow = _finish(stage, acc)
    return out.reshape(n, oh, ow, -1), overflow


def _relu(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    cast, overflow = stage.result_t.cast(x, stage.input_t, return_overflow=True)
    positive = x > 0
    return np.where(positive, cast, 0), int(np.count_nonzero(overflow & positive))


def _linear(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    out, overflow = stage.result_t.cast(x, stage.input_t, return_overflow=True)
    return out, int(np.count_nonzero(overflow))


def _pool_slices(x: np.ndarray, pool: list[int], strides: list[int]):
    """The input value under each window offset, as strided slices of the output's shape (no copies)."""
    oh = (x.shape[1] - pool[0]) // strides[0] + 1
    ow = (x.shape[2] - pool[1]) // strides[1] + 1
    for dy in range(pool[0]):
        for dx in range(pool[1]):
            yield x[:, dy: dy + strides[0] * (oh - 1) + 1: strides[0], dx: dx + strides[1] * (ow - 1) + 1: strides[1]]


def _maxpool(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    pool, strides = stage.params["pool_size"], stage.params["strides"]
    if stage.params["padding"] == "same":
        x = _pad_same(x, pool, strides, np.iinfo(np.int64).min)
    m = None
    for part in _pool_slices(x, pool, strides):
        m = part.copy() if m is None else np.maximum(m, part, out=m)
    return _linear(stage, m)


def _avgpool(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    """hls4ml: inputs summed in ``accum_t`` (exact here: accum keeps the input's fraction bits and wraps),
    then ``sum / n`` on the raw accumulator, truncating toward zero, n = the window's non-padding cells;
    then cast to ``result_t``."""
    pool, strides, acc_t = stage.params["pool_size"], stage.params["strides"], stage.accum_t
    count = np.ones((1, *x.shape[1:3], 1), dtype=np.int64)
    if stage.params["padding"] == "same":
        x, count = _pad_same(x, pool, strides, 0), _pad_same(count, pool, strides, 0)
    total = sum(_pool_slices(x, pool, strides)) * 2 ** (acc_t.frac - stage.input_t.frac)
    n = sum(_pool_slices(count, pool, strides))
    total = acc_t.cast(total, _wide(acc_t.frac))  # AP_WRAP (a no-op for the derived accumulator)
    average = np.sign(total) * (np.abs(total) // n)  # C++ integer division truncates toward zero
    out, overflow = stage.result_t.cast(average, acc_t, return_overflow=True)
    return out, int(np.count_nonzero(overflow))


def _softmax(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    return softmax.softmax(x, stage.input_t, stage.result_t, stage.params), 0


def _flatten(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    return x.reshape(x.shape[0], -1), 0  # channels-last order, as Keras and hls4ml flatten


STAGE_FUNCTIONS = {
    "conv2d": _conv2d,
    "dense": _dense,
    "relu": _relu,
    "linear": _linear,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "flatten": _flatten,
    "softmax": _softmax,
}
