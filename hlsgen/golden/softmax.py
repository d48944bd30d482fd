"""hls4ml 1.3.0's softmax (``nnet_activation.h``) in numpy, lookup tables entry for entry.

``stable``: ``d = (inp_norm_t)(max(x) - x)``; ``e = exp_table[top N bits of d]`` (tables hold
``exp(-v)``); ``sum`` = adder tree in ``accum_t``; ``s = (inv_inp_t) sum``;
``res = (result_t)(e * inv_table[top M bits of s])``.
``latency``: the same without the max: the exp table is indexed by the top bits of ``x`` itself.
``argmax``: ``result_t(1)`` at the first largest input, 0 elsewhere.

The tables are computed as the C++ initialisers do: the table index becomes the top bits of the
address type, converted to float; ``std::exp`` / ``1/x`` in float32; the float assigned to the
table type (which rounds per the table type). ``std::exp(float)`` is the C library's ``expf``; we
call the same function through ctypes so that the tables match a g++ C simulation on this machine.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from hlsgen.fixed import FixedType, Overflow
from hlsgen.fixed.bits import ceillog2, floorlog2
from hlsgen.spec.kinds import SoftmaxParams, StageKind, parse_params


@functools.cache
def _expf():
    name = ctypes.util.find_library("m")
    if name:
        try:
            lib = ctypes.CDLL(name)
            lib.expf.restype = ctypes.c_float
            lib.expf.argtypes = [ctypes.c_float]
            return lambda v: float(lib.expf(float(v)))
        except (OSError, AttributeError):
            pass
    return lambda v: float(np.exp(np.float32(v)))


def table_address_values(addr_t: FixedType, size: int) -> np.ndarray:
    """``softmax_real_val_from_idx``: index i written into the top N bits of ``addr_t``, as float32."""
    n = ceillog2(size)
    if n > addr_t.width:
        raise ValueError(f"softmax table of {size} entries needs {n} address bits; {addr_t} has {addr_t.width}")
    raw = np.arange(size, dtype=np.int64) << (addr_t.width - n)
    if addr_t.signed:
        raw = np.where(raw >= 2 ** (addr_t.width - 1), raw - 2**addr_t.width, raw)
    return (raw * addr_t.lsb).astype(np.float32)


def _float_to_codes(t: FixedType, values: np.ndarray) -> np.ndarray:
    """``table_t v = (float)x``; +-inf (1/0) saturates under AP_SAT*, becomes 0 under AP_WRAP."""
    finite = np.isfinite(values)
    codes = t.quantize(np.where(finite, values, 0.0).astype(np.float64))
    if not finite.all():
        rail = np.where(values > 0, t.max_code, t.min_code)
        codes = np.where(finite, codes, 0 if t.overflow is Overflow.WRAP else rail)
    return codes


@functools.cache
def exp_table(addr_t: FixedType, size: int, table_t: FixedType, negative: bool) -> np.ndarray:
    """``init_exp_table``: codes of exp(+-x) in ``table_t`` for every address."""
    x = table_address_values(addr_t, size) * np.float32(1.0)  # exp_scale = 1.0
    if negative:
        x = -x
    expf = _expf()
    return _float_to_codes(table_t, np.array([expf(v) for v in x], dtype=np.float32).astype(np.float64))


@functools.cache
def invert_table(addr_t: FixedType, size: int, table_t: FixedType) -> np.ndarray:
    """``init_invert_table``: codes of 1/x (float32 division) in ``table_t``."""
    x = table_address_values(addr_t, size)
    with np.errstate(divide="ignore"):
        inv = np.float32(1.0) / x
    return _float_to_codes(table_t, inv.astype(np.float64))


def table_index(codes: np.ndarray, t: FixedType, size: int) -> np.ndarray:
    """``softmax_idx_from_real_val``: the top ceillog2(size) bits of the W-bit pattern."""
    n = ceillog2(size)
    return (codes & (2**t.width - 1)) >> (t.width - n)


def reduce_tree(columns: list[np.ndarray], op) -> np.ndarray:
    """hls4ml's ``reduce``: split at the largest power of two below N, recurse, combine with ``op``."""
    n = len(columns)
    if n == 1:
        return columns[0]
    if n == 2:
        return op(columns[0], columns[1])
    left = 2 ** floorlog2(n - 1)
    return op(reduce_tree(columns[:left], op), reduce_tree(columns[left:], op))


def softmax(x: np.ndarray, input_t: FixedType, result_t: FixedType,
            params: SoftmaxParams | Mapping[str, Any]) -> np.ndarray:
    """Softmax over the last axis of codes ``x`` (N, n) exactly as hls4ml computes it.

    ``params``: the stage's :class:`SoftmaxParams` (or a mapping with spec.json's keys): implementation,
    table sizes, and the types exp_table_t, inv_table_t, accum_t, inv_inp_t and (stable) inp_norm_t.
    """
    p = parse_params(StageKind.SOFTMAX, params, "softmax")
    impl = p.implementation
    if impl == "argmax":
        out = np.zeros_like(x)
        one = int(result_t.quantize(np.array(1.0)))
        out[np.arange(x.shape[0]), np.argmax(x, axis=1)] = one  # np.argmax: first maximum, as hls4ml
        return out
    exp_size, inv_size = p.exp_table_size, p.inv_table_size
    if impl == "stable":
        norm_t = p.inp_norm_t
        diff = x.max(axis=1, keepdims=True) - x  # exact: one more bit than the input
        diff_t = FixedType(input_t.width + 1, input_t.integer + 1)
        d = norm_t.cast(diff, diff_t)
        table = exp_table(norm_t, exp_size, p.exp_table_t, True)
        e = table[table_index(d, norm_t, exp_size)]
    elif impl == "latency":
        table = exp_table(input_t, exp_size, p.exp_table_t, False)
        e = table[table_index(x, input_t, exp_size)]
    else:
        raise ValueError(f"softmax implementation {impl!r} is not modelled")
    acc_t = p.accum_t
    e = acc_t.cast(e, p.exp_table_t)
    wide = FixedType(acc_t.width + 2, acc_t.integer + 2)
    total = reduce_tree([e[:, i] for i in range(e.shape[1])], lambda a, b: acc_t.cast(a + b, wide))  # Op_add<accum_t>
    s = p.inv_inp_t.cast(total, acc_t)
    inv = invert_table(p.inv_inp_t, inv_size, p.inv_table_t)[table_index(s, p.inv_inp_t, inv_size)]
    prod_t = FixedType.product_type(acc_t, p.inv_table_t)
    return result_t.cast(e * inv[:, None], prod_t)
