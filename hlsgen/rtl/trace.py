"""A spec's stages traced with da4ml's functional API into combinational logic (a ``CombLogic``).

One function per stage kind, ``fn(stage, x) -> y`` on :class:`FixedVariableArray` values (batch axis
dropped), reproducing :mod:`hlsgen.golden.layers` exactly (docs/rtl.md):

* Conv2D/Dense: ``x @ W`` with the constant weight matrix (da4ml's CMVM solver: shift-and-add, no
  multipliers), plus the bias cast to ``accum_t``; exact values, wrapped to ``accum_t`` only when its range
  could be left. An accumulator with fewer fraction bits than the product rounds every product first
  (hls4ml assigns each product to ``accum_t``); then the sum is cast to ``result_t`` (:func:`arith.cast`).
* ReLU: ``cast(max(x, 0))``; linear: ``cast(x)``; max pooling: the window's ``max_of``, cast.
* Average pooling: the window sum in ``accum_t``, divided by the cell count truncating toward zero
  (a power of two: AP_TRN_ZERO rounding; otherwise a lookup table over the sum), cast.
* Softmax: :mod:`hlsgen.rtl.softmax`, the golden model's tables.
"""

from __future__ import annotations

import math

import numpy as np

from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.geometry import same_padding
from hlsgen.rtl import arith
from hlsgen.rtl.arith import RtlRefusal
from hlsgen.spec import Stage, StageKind

#: da4ml's CMVM solver options. The default search over every decomposition depth did not finish on the
#: reference network's fc1 (338x128) in 15 minutes; one depth is near-optimal and much faster.
SOLVER_OPTIONS = {"search_all_decompose_dc": False}


def input_array(t: FixedType, shape: tuple[int, ...]):
    """Inputs of type ``t`` (every code of the type possible), shape ``shape``."""
    from da4ml.trace import FixedVariableArray

    k, i, f = arith.kif(t)
    full = np.full(shape, 0)
    return FixedVariableArray.from_kif(full + k, full + i, full + f, solver_options=SOLVER_OPTIONS)


def _array(values: np.ndarray, like):
    from da4ml.trace import FixedVariableArray

    return FixedVariableArray(values, like.solver_options)


def _weights(stage: Stage) -> np.ndarray:
    return stage.weight_codes.reshape(-1, stage.weight_codes.shape[-1]).astype(np.float64) * stage.weight_t.lsb


def _bias(stage: Stage) -> np.ndarray:
    return stage.accum_t.cast(stage.bias_codes, stage.bias_t).astype(np.float64) * stage.accum_t.lsb


def _check_accum(stage: Stage) -> None:
    acc = stage.accum_t
    if acc.overflow is not Overflow.WRAP or acc.sat_bits:
        raise RtlRefusal(f"{stage.name}: accumulator {acc} saturates; its result depends on the order of the "
                         "additions (hlsgen builds AP_WRAP accumulators only)")


def _sums(stage: Stage, rows):
    """``bias + rows @ W`` in ``accum_t``, one row (a FixedVariableArray of inputs) at a time."""
    _check_accum(stage)
    w, bias, acc = _weights(stage), _bias(stage), stage.accum_t
    prod_t = FixedType.product_type(stage.input_t, stage.weight_t)
    if acc.frac >= prod_t.frac:
        y = rows @ w  # exact: da4ml sizes every adder for the values it can see
    else:  # each product rounded to accum_t (modular AP_WRAP: the sum wraps once, below)
        out = np.empty((rows.shape[0], w.shape[1]), dtype=object)
        for r in range(rows.shape[0]):
            xs = np.asarray(rows[r]._vars)
            for o in range(w.shape[1]):
                total = 0.0
                for xv, wv in zip(xs, w[:, o], strict=True):
                    if wv == 0:
                        continue
                    p = xv * float(wv)
                    p = arith.round_to(p, prod_t.frac, acc.frac, acc.rounding) if not isinstance(p, float) else p
                    total = total + p
                out[r, o] = total
        y = _array(out, rows)
    y = y + bias
    return wrap_array(y, acc)


def wrap_array(y, t: FixedType):
    """AP_WRAP to ``t`` where a value could leave its range (modular: once at the end equals every step)."""
    flat = np.asarray(y._vars).ravel()
    out = np.empty(flat.size, dtype=object)
    k, i, f = arith.kif(t)
    for n, v in enumerate(flat):
        if float(v.low) < t.min_value or float(v.high) > t.max_value:
            v = v.quantize(k, i, f, "WRAP", "TRN")
        out[n] = v
    return _array(out.reshape(y.shape), y)


def _dense(stage: Stage, x):
    y = _sums(stage, x.reshape((1, -1)))
    return arith.cast_array(y.reshape((-1,)), stage.accum_t, stage.result_t, stage.name)


def _pad_same(x, window, strides):
    """``x`` (H, W, C) with Keras 'same' zero padding (extra row/column at the bottom/right)."""
    h, w, c = x.shape
    (top, bottom), (left, right) = (same_padding(h, window[0], strides[0]), same_padding(w, window[1], strides[1]))
    out = np.zeros((h + top + bottom, w + left + right, c), dtype=object)
    out[...] = 0.0
    out[top:top + h, left:left + w] = np.asarray(x._vars)
    return _array(out, x)


def _conv2d(stage: Stage, x):
    (kh, kw), (sy, sx) = stage.params.kernel_size, stage.params.strides
    if stage.params.padding == "same":
        x = _pad_same(x, (kh, kw), (sy, sx))
    oh, ow, cout = stage.output_shape
    xs = np.asarray(x._vars)
    rows = np.empty((oh * ow, kh * kw * xs.shape[2]), dtype=object)
    for oy in range(oh):
        for ox in range(ow):
            rows[oy * ow + ox] = xs[oy * sy:oy * sy + kh, ox * sx:ox * sx + kw].reshape(-1)
    y = _sums(stage, _array(rows, x))
    return arith.cast_array(y.reshape((oh, ow, cout)), stage.accum_t, stage.result_t, stage.name)


def _relu(stage: Stage, x):
    flat = np.asarray(x._vars).ravel()
    out = np.empty(flat.size, dtype=object)
    for n, v in enumerate(flat):
        out[n] = arith.cast(v.relu() if v.low < 0 else v, stage.input_t, stage.result_t, stage.name)
    return _array(out.reshape(x.shape), x)


def _linear(stage: Stage, x):
    return arith.cast_array(x, stage.input_t, stage.result_t, stage.name)


def _windows(stage: Stage, x):
    """Per output (oy, ox, c): the input cells of its window (padding cells left out)."""
    (ph, pw), (sy, sx) = stage.params.pool_size, stage.params.strides
    h, w, c = x.shape
    top = left = 0
    if stage.params.padding == "same":
        top, left = same_padding(h, ph, sy)[0], same_padding(w, pw, sx)[0]
    oh, ow, _ = stage.output_shape
    xs = np.asarray(x._vars)
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * sy - top, ox * sx - left
            cells = xs[max(y0, 0):min(y0 + ph, h), max(x0, 0):min(x0 + pw, w)]
            for ch in range(c):
                yield (oy, ox, ch), list(cells[:, :, ch].ravel())


def _maxpool(stage: Stage, x):
    out = np.empty(stage.output_shape, dtype=object)
    for pos, cells in _windows(stage, x):
        m = cells[0]
        for v in cells[1:]:
            m = m.max_of(v)
        out[pos] = arith.cast(m, stage.input_t, stage.result_t, stage.name)
    return _array(out, x)


def _avgpool(stage: Stage, x):
    acc = stage.accum_t
    if acc.frac < stage.input_t.frac:
        raise RtlRefusal(f"{stage.name}: average pooling into {acc}, which has fewer fraction bits than its input "
                         f"{stage.input_t}; not built in RTL")
    _check_accum(stage)
    k, i, f = arith.kif(acc)
    out = np.empty(stage.output_shape, dtype=object)
    for pos, cells in _windows(stage, x):
        total = cells[0]
        for v in cells[1:]:
            total = total + v
        if float(total.low) < acc.min_value or float(total.high) > acc.max_value:
            total = total.quantize(k, i, f, "WRAP", "TRN")
        n = len(cells)
        m = n.bit_length() - 1
        if n == 1 << m:  # C++ integer division by 2**m: truncation toward zero
            avg = arith.round_to(total * 2.0**-m, acc.frac + m, acc.frac, Rounding.TRN_ZERO) if m else total
            out[pos] = arith.cast(avg, acc, stage.result_t, stage.name)
        else:
            def divide(values, n=n):
                codes = np.round(values / acc.lsb).astype(np.int64)
                avg = np.sign(codes) * (np.abs(codes) // n)
                return stage.result_t.cast(avg, acc) * stage.result_t.lsb

            out[pos] = arith.table(total, divide, stage.name, f"the division of a window sum by {n}")
    return _array(out, x)


def _flatten(stage: Stage, x):
    return x.reshape((-1,))


def _softmax(stage: Stage, x):
    from hlsgen.rtl.softmax import softmax

    return softmax(stage, x)


STAGES = {StageKind.CONV2D: _conv2d, StageKind.DENSE: _dense, StageKind.RELU: _relu, StageKind.LINEAR: _linear,
          StageKind.MAXPOOL: _maxpool, StageKind.AVGPOOL: _avgpool, StageKind.FLATTEN: _flatten,
          StageKind.SOFTMAX: _softmax}


def trace_stages(stages: list[Stage] | tuple[Stage, ...], input_t: FixedType):
    """The combinational logic (da4ml ``CombLogic``) of ``stages`` in a row, inputs of type ``input_t``
    (the first stage's input shape), outputs the last stage's result codes (flattened)."""
    from hlsgen.rtl import da4ml_api

    x = input_array(input_t, tuple(stages[0].input_shape))
    inputs = x
    prev_t = input_t
    for stage in stages:
        if stage.input_t.frac != prev_t.frac:  # the golden model reads codes at face value in input_t
            x = x * 2.0 ** (prev_t.frac - stage.input_t.frac)
        x = STAGES[stage.kind](stage, x.reshape(tuple(stage.input_shape)))
        prev_t = stage.result_t
    return da4ml_api.comb_trace(inputs.ravel(), x.ravel())


def output_size(stage: Stage) -> int:
    return math.prod(stage.output_shape)
