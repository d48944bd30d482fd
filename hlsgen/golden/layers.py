"""The layers' integer arithmetic, exactly as hls4ml 1.3.0's ``nnet_utils`` computes it (docs/golden.md).

One function per stage kind (:data:`STAGE_FUNCTIONS`): ``fn(stage, x, out=None) -> (codes, overflow)``
takes a block of input codes (batch first), writes the result codes into ``out`` (a new array if None)
and counts the values that overflowed the result type. Sums of products are computed in
float32/float64, which is exact because every partial sum is a multiple of the accumulator's LSB below
2**24 (2**53) of them: the bound is computed from the types for each layer, and a layer it does not
hold for takes the int64 path.

- Conv2D/Dense: each product ``x*w`` is formed at full precision and assigned to ``accum_t``; the
  accumulator starts at the bias (cast to ``accum_t``) and adds the products (AP_WRAP, so order is
  irrelevant); the sum is cast to ``result_t`` with its rounding and overflow modes.
- ReLU: ``res = x > 0 ? (result_t) x : 0``.
- Max pooling: the largest code of the window, cast to ``result_t``.
- Softmax: :mod:`hlsgen.golden.softmax`, hls4ml's lookup tables reproduced entry for entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hlsgen.fixed import FixedType, Overflow, Rounding, round_right
from hlsgen.fixed.rounding import clips, saturation_bounds
from hlsgen.geometry import same_padding
from hlsgen.golden import softmax
from hlsgen.spec import Stage, StageKind

_EXACT = 2.0**53
_CHUNK = 1 << 22  # elements per block in the per-product rounding path
_ROW_KERNEL_VALUES = 1 << 16  # largest band matrix (256 KB as float32) a convolution uses
_BAND_OUTPUTS = 8  # output values per row of a convolution band (AVX2, reference conv1: 8 beat 4 and 16)
_CONV_ROWS_VALUES = 1 << 17  # gathered kernel rows per group of images in a convolution (512 KB as float32)
_CAST_VALUES = 1 << 16  # values per pass of a float cast (256 KB as float32: its passes stay in cache)


@dataclass(frozen=True)
class _ExactSums:
    """How to get a Conv2D/Dense accumulator exactly from float sums.

    Every partial sum ``bias + x1*w1 + ...`` is a multiple of ``accum_t``'s LSB below ``bound`` codes in
    magnitude, so when ``bound < 2**24`` (float32) or ``2**53`` (float64) a float matrix product is exact
    in any summation order. Floats hold values in *product* LSBs: the bias starts as ``start`` (dyadic, exact)
    and ``scale`` (a power of two) turns the result into accumulator codes."""

    dtype: type[np.floating]
    start: np.ndarray
    scale: int
    may_wrap: bool


def _exact_sums(stage: Stage) -> _ExactSums | None:
    """The float plan for ``stage``, or None when the products round on assignment to ``accum_t`` (fewer
    fraction bits than the product) or the sums are too large for float64: then each product is formed
    and cast on its own, in int64."""
    in_t, w_t, acc_t = stage.input_t, stage.weight_t, stage.accum_t
    prod_frac = FixedType.product_type(in_t, w_t).frac
    if acc_t.frac < prod_frac:
        return None
    scale = 2 ** (acc_t.frac - prod_frac)
    bias = acc_t.cast(stage.bias_codes, stage.bias_t)
    k = stage.weight_codes.size // stage.weight_codes.shape[-1]
    bound = (k * max(abs(in_t.min_code), in_t.max_code) * max(abs(w_t.min_code), w_t.max_code) * scale
             + int(np.abs(bias).max(initial=0)))
    if bound >= _EXACT:
        return None
    return _ExactSums(np.float32 if bound < 2**24 else np.float64, bias / scale, scale,
                      may_wrap=-bound < acc_t.min_code or bound > acc_t.max_code)


def _accumulator_codes(stage: Stage, plan: _ExactSums, sums: np.ndarray) -> np.ndarray:
    """Exact float sums of products (product LSBs, bias not yet added; modified in place) -> ``accum_t``
    codes, wrapped if they can overflow."""
    per_image, start = _bias_per_image(plan, sums)
    sums.reshape(-1, per_image)[...] += start
    if plan.scale != 1:
        sums *= plan.scale  # a power of two: exact
    if plan.may_wrap:
        return _wrap(stage.accum_t, sums.astype(np.int64))
    return sums.astype(stage.accum_t.code_dtype)


def _bias_per_image(plan: _ExactSums, sums: np.ndarray) -> tuple[int, np.ndarray]:
    """Outputs per image of ``sums`` (batch first) and the bias of each, so that numpy's loops run over
    whole images (a channels-last convolution otherwise adds a bias vector of ``cout`` values at a time)."""
    per_image = math.prod(sums.shape[1:])
    return per_image, np.tile(plan.start.astype(plan.dtype), per_image // plan.start.size)


def _wrap(acc_t: FixedType, total: np.ndarray) -> np.ndarray:
    if total.size and acc_t.min_code <= total.min() and total.max() <= acc_t.max_code:
        return total  # no wrap happened
    return acc_t.cast(total, FixedType.widest(acc_t.frac))  # AP_WRAP: modular, whatever the order


def _plan_sums(stage: Stage, plan: _ExactSums, cols: np.ndarray) -> np.ndarray:
    """``cols @ weights`` in floats (exact by the plan's bound), product LSBs, bias not yet added."""
    w = stage.weight_codes.reshape(-1, stage.weight_codes.shape[-1])
    return cols.astype(plan.dtype) @ w.astype(plan.dtype)


def accumulate(cols: np.ndarray, stage: Stage) -> np.ndarray:
    """``bias + cols @ weights`` in ``accum_t`` codes, as hls4ml's dense kernels compute it.

    ``cols`` has shape (M, K) of input codes, weights (K, O). Each product is assigned to
    ``accum_t`` (rounded per ``accum_t`` if it has fewer fractional bits than the product) and the
    sum wraps modulo ``2**accum_t.width`` (AP_WRAP).
    """
    w = stage.weight_codes.reshape(-1, stage.weight_codes.shape[-1])
    plan = _exact_sums(stage)
    if plan is not None:
        return _accumulator_codes(stage, plan, _plan_sums(stage, plan, cols))
    acc_t, prod_t = stage.accum_t, FixedType.product_type(stage.input_t, stage.weight_t)
    bias = acc_t.cast(stage.bias_codes, stage.bias_t)
    total = np.empty((cols.shape[0], w.shape[1]), dtype=np.int64)
    rows = max(1, _CHUNK // w.size)  # every product is formed: in blocks, to bound memory
    shift = prod_t.frac - acc_t.frac
    # AP_WRAP is modular: wrapping each rounded product before summing changes nothing, so only the
    # rounding is applied per product (the sum wraps once); other overflow modes cast each product
    modular = acc_t.overflow is Overflow.WRAP and not acc_t.sat_bits and prod_t.width <= 62 and shift <= 62
    for start in range(0, cols.shape[0], rows):
        block = cols[start:start + rows, :, None].astype(np.int64) * w[None, :, :]
        rounded = round_right(block, shift, acc_t.rounding) if modular else acc_t.cast(block, prod_t)
        total[start:start + rows] = rounded.sum(axis=1) + bias
    return _wrap(acc_t, total)


def _finish(stage: Stage, acc: np.ndarray, out: np.ndarray | None) -> tuple[np.ndarray, int]:
    return _cast(stage.result_t, acc, stage.accum_t, out)


def _sums_to_result(stage: Stage, plan: _ExactSums, sums: np.ndarray, out: np.ndarray | None
                    ) -> tuple[np.ndarray, int]:
    """Exact float sums of products (product LSBs, bias not yet added) -> ``result_t`` codes in ``out``."""
    if stage.result_t == stage.accum_t and not plan.may_wrap and plan.scale == 1:
        # the accumulator codes are the result: add the bias and convert in one pass, straight into out
        # (exact integers in range; out is a contiguous block of the trace, so its reshape is a view)
        per_image, start = _bias_per_image(plan, sums)
        out = np.empty(sums.shape, stage.result_t.code_dtype) if out is None else out
        np.add(sums.reshape(-1, per_image), start, out=out.reshape(-1, per_image), casting="unsafe")
        return out, 0
    return _finish(stage, _accumulator_codes(stage, plan, sums), out)


def _cast(t: FixedType, x: np.ndarray, src: FixedType, out: np.ndarray | None, nonnegative: bool = False
          ) -> tuple[np.ndarray, int]:
    """``(t) x`` (of ``max(x, 0)`` if ``nonnegative``) into ``out`` (a new array if None), and how many
    values overflowed."""
    out = np.empty(x.shape, t.code_dtype) if out is None else out
    count = _cast_float(t, x, src, out, nonnegative)
    return out, t.cast_into(out, x, src, nonnegative) if count is None else count


def _cast_float(t: FixedType, x: np.ndarray, src: FixedType, out: np.ndarray, nonnegative: bool) -> int | None:
    """The common narrowing cast (drop fraction bits with AP_RND_CONV or AP_TRN, saturate) in float32, a
    cache-sized chunk at a time; the overflow count as :meth:`FixedType.cast_into`'s, or None for another
    kind of cast. Exact: a code of at most 24 bits is a float32, ``* 2**-shift`` is exact, ``rint`` rounds
    half to even, ``floor`` truncates, the clip (at 0 for a ReLU: rounding is monotone and keeps 0) is of
    integers. Six SIMD passes (bounds as arrays: numpy does not vectorise min/max with a scalar)."""
    shift = src.frac - t.frac
    if not (t.rounding in (Rounding.RND_CONV, Rounding.TRN) and clips(t) and src.width <= 24 and 0 < shift < 64
            and t.width <= 24 and x.dtype.kind in "iu" and x.dtype.itemsize <= 4 and x.flags.c_contiguous
            and out.flags.c_contiguous and out.dtype == t.code_dtype and out.shape == x.shape):
        return None
    lo, hi = saturation_bounds(t)
    lo = max(lo, 0) if nonnegative else lo
    values, codes = x.reshape(-1), out.reshape(-1)
    size = min(_CAST_VALUES, values.size)
    buf, lo_v, hi_v = np.empty(size, np.float32), np.full(size, lo, np.float32), np.full(size, hi, np.float32)
    scale, round_ = np.float32(2.0**-shift), np.rint if t.rounding is Rounding.RND_CONV else np.floor
    count = 0
    for start in range(0, values.size, size):
        end = min(start + size, values.size)
        f = buf[: end - start]
        np.copyto(f, values[start:end], casting="unsafe")
        f *= scale
        round_(f, out=f)
        if f.max() > hi:  # a bound no value passes needs no pass (the common case above)
            count += np.count_nonzero(f > hi)
            np.minimum(f, hi_v[: end - start], out=f)
        if nonnegative:
            np.maximum(f, lo_v[: end - start], out=f)
        elif f.min() < lo:
            count += np.count_nonzero(f < lo)
            np.maximum(f, lo_v[: end - start], out=f)
        np.copyto(codes[start:end], f, casting="unsafe")
    return int(count)


def _dense(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    x = x.reshape(x.shape[0], -1)
    plan = _exact_sums(stage)
    if plan is None:
        return _finish(stage, accumulate(x, stage), out)
    return _sums_to_result(stage, plan, _plan_sums(stage, plan, x), out)


def _pad_same(x: np.ndarray, window: list[int], strides: list[int], value: int) -> np.ndarray:
    """``x`` padded with ``value`` as Keras' 'same' padding does (:func:`hlsgen.geometry.same_padding`)."""
    pads = [same_padding(x.shape[axis], k, s) for axis, (k, s) in enumerate(zip(window, strides, strict=True), 1)]
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, window: list[int], strides: list[int]) -> np.ndarray:
    """(N, H, W, C) -> (N, OH, OW, kh, kw, C) views of every window."""
    v = sliding_window_view(x, tuple(window), axis=(1, 2))  # (N, H', W', C, kh, kw)
    v = v[:, :: strides[0], :: strides[1]]
    return v.transpose(0, 1, 2, 4, 5, 3)


def _conv2d(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    kernel, strides = list(stage.params.kernel_size), list(stage.params.strides)
    if stage.params.padding == "same":
        x = _pad_same(x, kernel, strides, 0)
    n, (oh, ow, cout) = len(x), stage.output_shape
    plan = _exact_sums(stage)
    if plan is None:  # per-product rounding: im2col, then the dense path
        acc = accumulate(_windows(x, kernel, strides).reshape(n * oh * ow, -1), stage)
        return _finish(stage, acc.reshape(n, oh, ow, cout), out)
    if stage.result_t == stage.accum_t and not plan.may_wrap and plan.scale == 1:
        # the accumulator codes are the result: each group of images' sums plus the bias, converted while
        # in cache, straight into out (exact integers in range)
        out = np.empty((n, oh, ow, cout), stage.result_t.code_dtype) if out is None else out
        return _conv_sums(x, stage.weight_codes, strides, (oh, ow), plan.dtype, plan.start, out), 0
    sums = _conv_sums(x, stage.weight_codes, strides, (oh, ow), plan.dtype)
    return _sums_to_result(stage, plan, sums, out)


def _conv_sums(x: np.ndarray, w: np.ndarray, strides: list[int], out_hw: tuple[int, int], dtype: type,
               bias: np.ndarray | None = None, codes: np.ndarray | None = None) -> np.ndarray:
    """``sum(x*w)`` of every output in floats of ``dtype``, (N, OH, OW, cout); with ``codes`` (integers of
    that shape), ``sum(x*w) + bias`` converted into it instead (exact integers in its range), returned.

    For a cache-sized group of images the kernel rows under each output row are gathered column by column,
    ``rows[n, r, c, dy, ci] = x[n, r*sy + dy, c, ci]``, so that a band of ``span`` input columns is one
    contiguous run per output row: one matrix product per band, ``(images*OH, span*kh*cin) @ (span*kh*cin,
    g*cout)`` with :func:`_row_kernel`'s band matrix, gives the band's ``g`` output columns. When that matrix
    would be large (many channels), one ``(N*OH*OW, cin) @ (cin, cout)`` product per kernel tap instead."""
    n, h, width, cin = x.shape
    kh, kw, _, cout = w.shape
    (oh, ow), (sy, sx) = out_hw, strides
    count = -(-ow // max(1, -(-_BAND_OUTPUTS // cout)))  # bands of about _BAND_OUTPUTS outputs per row
    g = -(-ow // count)                                   # output columns per band
    span = (g - 1) * sx + kw                              # input columns a band reads
    if kh * span * cin * g * cout > _ROW_KERNEL_VALUES:
        w = w.astype(dtype)
        sums = np.zeros((n, oh, ow, cout), dtype=dtype)
        for (dy, dx), tap in _shifted(x.astype(dtype), [kh, kw], strides, out_hw):
            sums += tap @ w[dy, dx]
        return sums if codes is None else np.add(sums, bias.astype(dtype), out=codes, casting="unsafe")
    kernel = _row_kernel(w.astype(dtype), sx, span, g)
    starts = sorted({min(j * g, ow - g) for j in range(count)})  # the last band may overlap its neighbour
    images = max(1, min(n, _CONV_ROWS_VALUES // (oh * width * kh * cin)))
    rows = np.empty((images, oh, width, kh, cin), dtype=dtype)
    flat = rows.reshape(-1, width * kh * cin)
    if codes is None:
        sums = np.empty((n * oh, ow * cout), dtype=dtype)
    else:
        group = np.empty((images * oh, ow * cout), dtype=dtype)
        group_bias = np.tile(bias.astype(dtype), images * oh * ow).reshape(group.shape)  # no broadcast: SIMD
        flat_codes = codes.reshape(n * oh, ow * cout)
    for first in range(0, n, images):
        part = x[first:first + images]
        m = len(part)
        for dy in range(kh):
            rows[:m, :, :, dy] = part[:, dy: dy + sy * (oh - 1) + 1: sy]
        target = sums[first * oh:(first + m) * oh] if codes is None else group[:m * oh]
        for start in starts:
            k = start * sx * kh * cin
            np.matmul(flat[:m * oh, k: k + span * kh * cin], kernel,
                      out=target[:, start * cout:(start + g) * cout])
        if codes is not None:
            target += group_bias[:m * oh]
            np.copyto(flat_codes[first * oh:(first + m) * oh], target, casting="unsafe")
    return sums.reshape(n, oh, ow, cout) if codes is None else codes


def _row_kernel(w: np.ndarray, stride: int, span: int, out_w: int) -> np.ndarray:
    """The kernel ``w`` (kh, kw, cin, cout) as the matrix of one output row of a band: ``(span*kh*cin,
    out_w*cout)``, input (column, kernel row, channel) by output (column, channel); zero outside the window."""
    kh, kw, cin, cout = w.shape
    matrix = np.zeros((span, kh, cin, out_w, cout), dtype=w.dtype)
    columns = np.arange(out_w)
    for dx in range(kw):
        matrix[columns * stride + dx, :, :, columns, :] = w[:, dx]
    return matrix.reshape(span * kh * cin, out_w * cout)


def _relu(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """``x > 0 ? (result_t) x : 0``, i.e. ``(result_t) max(x, 0)``: the cast maps 0 to 0."""
    return _cast(stage.result_t, x, stage.input_t, out, nonnegative=True)


def _linear(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    return _cast(stage.result_t, x, stage.input_t, out)


def _shifted(x: np.ndarray, window: list[int], strides: list[int], out_hw: tuple[int, int]):
    """``((dy, dx), view)`` for every window offset: the input under that offset of each output
    position, a strided slice of shape ``(N, OH, OW, C)`` (no copies)."""
    (oh, ow), (sy, sx) = out_hw, strides
    for dy in range(window[0]):
        for dx in range(window[1]):
            yield (dy, dx), x[:, dy: dy + sy * (oh - 1) + 1: sy, dx: dx + sx * (ow - 1) + 1: sx]


def _pool_slices(x: np.ndarray, pool: list[int], strides: list[int]):
    """The input value under each window offset, as strided slices of the output's shape (no copies)."""
    oh = (x.shape[1] - pool[0]) // strides[0] + 1
    ow = (x.shape[2] - pool[1]) // strides[1] + 1
    return (view for _, view in _shifted(x, pool, strides, (oh, ow)))


def _maxpool(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    pool, strides = list(stage.params.pool_size), list(stage.params.strides)
    if stage.params.padding == "same":
        x = _pad_same(x, pool, strides, np.iinfo(x.dtype).min)
    if list(pool) == list(strides):
        if (stage.result_t == stage.input_t and out is not None and out.flags.c_contiguous
                and out.dtype == x.dtype and out.shape == (len(x), *stage.output_shape)):
            return _tiled_max(x, pool, out), 0  # the cast is the identity: straight into out
        m = _tiled_max(x, pool)
    else:
        m = None
        for part in _pool_slices(x, pool, strides):
            m = part.copy() if m is None else np.maximum(m, part, out=m)
    return _linear(stage, m, out)


def _tiled_max(x: np.ndarray, pool: list[int], out: np.ndarray | None = None) -> np.ndarray:
    """Max pooling whose windows tile the input (stride = pool size) into ``out`` (new if None), in long
    vector loops only: the maximum of each window's rows (whole rows at once), then of each value and the
    ones ``C``, ``2C``... after it (one flat pass per window column): each window's maximum is then at its
    first pixel, whose ``C`` values, read as one record, are copied out (every ``pw``-th record)."""
    (ph, pw), (n, h, w, c) = pool, x.shape
    oh, ow = h // ph, w // pw
    rows = np.ascontiguousarray(x[:, :oh * ph, :ow * pw]).reshape(n * oh, ph, ow * pw * c)
    m = rows[:, 0].copy() if ph == 1 else np.maximum(rows[:, 0], rows[:, 1])
    for i in range(2, ph):
        np.maximum(m, rows[:, i], out=m)
    flat = m.reshape(-1)                                   # (n*oh) rows of ow*pw*c values
    if pw > 1:
        cols = np.empty_like(flat)  # its last values (and the ones mixing two rows) are never read
        np.maximum(flat[:-c], flat[c:], out=cols[:-c])
        for j in range(2, pw):
            np.maximum(cols[:-j * c], flat[j * c:], out=cols[:-j * c])
        flat = cols
    out = np.empty((n, oh, ow, c), dtype=x.dtype) if out is None else out
    record = np.dtype((np.void, c * x.dtype.itemsize))
    out.view(record).reshape(-1)[...] = flat.view(record)[::pw]
    return out


def _avgpool(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """hls4ml: inputs summed in ``accum_t`` (exact here: accum keeps the input's fraction bits and wraps),
    then ``sum / n`` on the raw accumulator, truncating toward zero, n = the window's non-padding cells;
    then cast to ``result_t``."""
    pool, strides, acc_t = list(stage.params.pool_size), list(stage.params.strides), stage.accum_t
    x = x.astype(np.int64)  # window sums must not overflow a narrow code type
    count = np.ones((1, *x.shape[1:3], 1), dtype=np.int64)
    if stage.params.padding == "same":
        x, count = _pad_same(x, pool, strides, 0), _pad_same(count, pool, strides, 0)
    total = sum(_pool_slices(x, pool, strides)) * 2 ** (acc_t.frac - stage.input_t.frac)
    n = sum(_pool_slices(count, pool, strides))
    total = acc_t.cast(total, FixedType.widest(acc_t.frac))  # AP_WRAP (a no-op for the derived accumulator)
    average = np.sign(total) * (np.abs(total) // n)  # C++ integer division truncates toward zero
    return _cast(stage.result_t, average, acc_t, out)


def _softmax(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    return _store(softmax.softmax(x.astype(np.int64), stage.input_t, stage.result_t, stage.params), out), 0


def _flatten(stage: Stage, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    flat = x.reshape(x.shape[0], -1)  # channels-last order, as Keras and hls4ml flatten
    # run() gives a flatten its input's memory: nothing to copy then
    return _store(flat, None if out is not None and np.may_share_memory(out, x) else out), 0


def _store(codes: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``codes`` copied into ``out``, or ``codes`` themselves when there is no ``out``."""
    if out is None:
        return codes
    out[...] = codes
    return out


STAGE_FUNCTIONS = {
    StageKind.CONV2D: _conv2d,
    StageKind.DENSE: _dense,
    StageKind.RELU: _relu,
    StageKind.LINEAR: _linear,
    StageKind.MAXPOOL: _maxpool,
    StageKind.AVGPOOL: _avgpool,
    StageKind.FLATTEN: _flatten,
    StageKind.SOFTMAX: _softmax,
}
