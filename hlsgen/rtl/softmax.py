"""hls4ml's softmax traced with da4ml, from the golden model's own tables (:mod:`hlsgen.golden.softmax`).

``stable``: ``max`` by ``max_of``; ``d = max - x`` (exact); the exp table is a lookup table addressed by
``d`` (its entries: the golden table at the top bits of ``inp_norm_t(d)``); the sum by hls4ml's adder
tree, each partial sum cast to ``accum_t``; the inverse table addressed by the top bits of the sum's
``inv_inp_t`` pattern; the product ``e * inv`` (a multiplier) cast to ``result_t``. ``latency`` reads the
exp table at the logits' own top bits. ``argmax``: ``result_t(1)`` at the first largest logit, from
comparisons (sign bits) only.
"""

from __future__ import annotations

import numpy as np

from hlsgen.fixed import FixedType
from hlsgen.fixed.bits import ceillog2
from hlsgen.golden import softmax as golden
from hlsgen.rtl import arith
from hlsgen.spec import Stage


def _index_table(codes: np.ndarray, addr_t: FixedType, size: int, entries: np.ndarray) -> np.ndarray:
    return entries[golden.table_index(codes, addr_t, size)]


def _array(values, like):
    from da4ml.trace import FixedVariableArray

    return FixedVariableArray(np.asarray(values, dtype=object), like.solver_options)


def _top_bits(v, t: FixedType, size: int):
    """``v`` (a value of ``t``) reduced to the top ``ceillog2(size)`` bits of its W-bit pattern, as an
    unsigned variable (value = index * 2**(W - n) * lsb): the address of a ``size``-entry table."""
    n = ceillog2(size)
    k, i, f = arith.kif(t)
    if isinstance(v, float) or v.low == v.high:
        return v
    return v.quantize(0, i + k, f - (t.width - n), "WRAP", "TRN")


def softmax(stage: Stage, x):
    p, in_t, out_t, where = stage.params, stage.input_t, stage.result_t, stage.name
    xs = list(np.asarray(x._vars).ravel())
    if p.implementation == "argmax":
        return _array(_argmax(xs, out_t), x)
    if p.implementation == "stable":
        norm_t = p.inp_norm_t
        m = xs[0]
        for v in xs[1:]:
            m = m.max_of(v)
        diff_t = FixedType(in_t.width + 1, in_t.integer + 1)
        entries = golden.exp_table(norm_t, p.exp_table_size, p.exp_table_t, True)

        def exp_of_diff(values):
            d = norm_t.cast(np.round(values / in_t.lsb).astype(np.int64), diff_t)
            return _index_table(d, norm_t, p.exp_table_size, entries) * p.exp_table_t.lsb

        es = [arith.table(m - v, exp_of_diff, where, "the exp table") for v in xs]
    elif p.implementation == "latency":
        entries = golden.exp_table(in_t, p.exp_table_size, p.exp_table_t, False)
        es = []
        for v in xs:
            a = _top_bits(v, in_t, p.exp_table_size)
            es.append(arith.table(a, lambda values: _exp_at(values, in_t, p, entries), where, "the exp table"))
    else:
        raise arith.RtlRefusal(f"{where}: softmax implementation {p.implementation!r} is not built in RTL")
    acc_t, inv_t = p.accum_t, p.inv_inp_t
    es = [arith.cast(e, p.exp_table_t, acc_t, where) for e in es]
    wide = FixedType(acc_t.width + 2, acc_t.integer + 2)
    total = golden.reduce_tree(es, lambda a, b: arith.cast(a + b, wide, acc_t, where))
    s = arith.cast(total, acc_t, inv_t, where)
    inv_entries = golden.invert_table(inv_t, p.inv_table_size, p.inv_table_t)
    a = _top_bits(s, inv_t, p.inv_table_size)
    inv = arith.table(a, lambda values: _entry(values, inv_t, p.inv_table_size, inv_entries) * p.inv_table_t.lsb,
                      where, "the inverse table")
    prod_t = FixedType.product_type(acc_t, p.inv_table_t)
    return _array([arith.cast(e * inv, prod_t, out_t, where) for e in es], x)


def _entry(values: np.ndarray, t: FixedType, size: int, entries: np.ndarray) -> np.ndarray:
    """Table entries at the addresses ``values`` (from :func:`_top_bits`: index * 2**(W-n) * lsb)."""
    n = ceillog2(size)
    index = np.round(values / t.lsb).astype(np.int64) >> (t.width - n)
    return entries[index]


def _exp_at(values, in_t: FixedType, p, entries):
    return _entry(values, in_t, p.exp_table_size, entries) * p.exp_table_t.lsb


def _argmax(xs, out_t: FixedType):
    """``out_t(1)`` at the first largest of ``xs``, 0 elsewhere: ``x_i > x_j`` for every j before i and
    ``x_i >= x_j`` for every j after it, counted with one-bit comparisons."""
    one = float(out_t.quantize(np.array(1.0))) * out_t.lsb
    n = len(xs)
    out = []
    for i in range(n):
        wins = 0.0
        for j in range(n):
            if j == i:
                continue
            # x_i > x_j  <=>  x_j - x_i < 0 ;  x_i >= x_j  <=>  not (x_i - x_j < 0)
            wins = wins + (_neg(xs[j] - xs[i]) if j < i else 1.0 - _neg(xs[i] - xs[j]))
        # all n-1 comparisons won  <=>  wins - (n - 1) >= 0  <=>  not negative
        out.append((1.0 - _neg(wins - (n - 1))) * one if n > 1 else one)
    return out


def _neg(v):
    if isinstance(v, float | int):
        return 1.0 if v < 0 else 0.0
    return arith._negative(v)
