"""The golden model's fast kernels (issue 27: banded convolution on gathered kernel rows, float32 casts in
cache-sized chunks, tiled max pooling by records, balanced blocks) against plain oracles on random
stages: exact int64 sums of ``FixedType.cast``-assigned products, ``FixedType.cast`` itself (checked
against the ap_types headers by tests/fixed) and window maxima by loops. Every output code and every
overflow count must be equal, over random shapes, strides, paddings, types, rounding and overflow modes."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
from specs import random_spec, small_config

from hlsgen import golden
from hlsgen.config.precision import derive_accum
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.geometry import output_size, padding
from hlsgen.golden import layers as nnet
from hlsgen.golden import network
from hlsgen.spec import Stage

ROUNDINGS = list(Rounding)
OVERFLOWS = [Overflow.SAT, Overflow.WRAP, Overflow.SAT_ZERO, Overflow.SAT_SYM]


def random_type(rng, width: tuple[int, int], signed: bool | None = None, rounding=Rounding.TRN,
                overflow=Overflow.WRAP) -> FixedType:
    w = int(rng.integers(*width))
    signed = bool(rng.integers(2)) if signed is None else signed
    return FixedType(w, int(rng.integers(-2, w + 3)), signed, rounding, overflow)


def codes(rng, t: FixedType, shape) -> np.ndarray:
    """Random codes of ``t``, a fifth of them at its extremes (where saturation and wrapping act)."""
    x = rng.integers(t.min_code, t.max_code + 1, shape)
    edge = rng.random(shape) < 0.2
    x[edge] = rng.choice([t.min_code, t.max_code], int(edge.sum()))
    return x.astype(t.code_dtype)


def oracle_conv(stage: Stage, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Each product assigned to accum_t, summed in int64 with the bias, wrapped, cast to result_t."""
    (kh, kw), (sy, sx) = stage.params.kernel_size, stage.params.strides
    x = x.astype(np.int64)
    if stage.params.padding == "same":
        x = np.pad(x, ((0, 0), padding(x.shape[1], kh, sy, "same"), padding(x.shape[2], kw, sx, "same"), (0, 0)))
    acc_t, prod_t = stage.accum_t, FixedType.product_type(stage.input_t, stage.weight_t)
    w = stage.weight_codes.astype(np.int64)
    oh, ow, cout = stage.output_shape
    acc = np.empty((len(x), oh, ow, cout), dtype=np.int64)
    bias = acc_t.cast(stage.bias_codes.astype(np.int64), stage.bias_t)
    for r in range(oh):
        for c in range(ow):
            window = x[:, r * sy:r * sy + kh, c * sx:c * sx + kw, :]          # (N, kh, kw, cin)
            products = window[..., None] * w[None]                            # (N, kh, kw, cin, cout)
            acc[:, r, c] = acc_t.cast(products, prod_t).sum(axis=(1, 2, 3)) + bias
    acc = acc_t.cast(acc, FixedType.widest(acc_t.frac))
    out, overflow = stage.result_t.cast(acc, acc_t, return_overflow=True)
    return out, int(overflow.sum())


def random_conv(rng) -> tuple[Stage, np.ndarray]:
    cin, cout = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    kernel = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
    strides = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    pad = str(rng.choice(["valid", "same"]))
    h, w = int(rng.integers(kernel[0], 13)), int(rng.integers(kernel[1], 31))
    in_t, w_t, b_t = random_type(rng, (2, 10)), random_type(rng, (2, 9), True), random_type(rng, (2, 9), True)
    acc_t = derive_accum(in_t, w_t, b_t, kernel[0] * kernel[1] * cin)
    shape = (output_size(h, kernel[0], strides[0], pad), output_size(w, kernel[1], strides[1], pad), cout)
    choice = rng.integers(4)
    if choice == 1:    # a narrower accumulator: sums wrap
        acc_t = FixedType(max(2, acc_t.width - 4), acc_t.integer - 4, True)
    elif choice == 2:  # fewer fraction bits than a product: each product rounds
        acc_t = FixedType(acc_t.width - 2, acc_t.integer, True, ROUNDINGS[int(rng.integers(len(ROUNDINGS)))])
    result_t = acc_t if rng.integers(2) else random_type(rng, (2, 12), None, ROUNDINGS[int(rng.integers(7))],
                                                          OVERFLOWS[int(rng.integers(4))])
    stage = Stage("c", "conv2d", (h, w, cin), shape, in_t, result_t, w_t, b_t, acc_t,
                  codes(rng, w_t, (*kernel, cin, cout)).astype(np.int64), codes(rng, b_t, (cout,)).astype(np.int64),
                  MappingProxyType({"kernel_size": kernel, "strides": strides, "padding": pad}))
    return stage, codes(rng, in_t, (int(rng.integers(1, 9)), h, w, cin))


def test_convolution_equals_the_product_by_product_oracle(monkeypatch):
    rng = np.random.default_rng(27)
    monkeypatch.setattr(nnet, "_CONV_ROWS_VALUES", 200)  # groups of a few images: several per call
    for case in range(300):
        # one case in four takes the per-tap products (the band matrix deemed too large)
        monkeypatch.setattr(nnet, "_ROW_KERNEL_VALUES", 0 if case % 4 == 3 else 1 << 16)
        stage, x = random_conv(rng)
        want, want_overflow = oracle_conv(stage, x)
        out = np.full((len(x), *stage.output_shape), 7, dtype=stage.result_t.code_dtype)
        got, overflow = nnet.STAGE_FUNCTIONS["conv2d"](stage, x, out)
        assert got is out and got.dtype == stage.result_t.code_dtype, case
        bad = np.argwhere(got != want)
        assert not len(bad), f"case {case} ({stage}): {len(bad)} codes differ, first {bad[:3].tolist()}: " \
                             f"{got[tuple(bad[0])]} != {want[tuple(bad[0])]}"
        assert overflow == want_overflow, case


@pytest.mark.parametrize("kind", ["relu", "linear"])
def test_casts_equal_fixed_type_cast(kind, monkeypatch):
    """Every rounding and overflow mode, sources of up to 30 bits (the float path takes those of at most 24
    and AP_RND_CONV or AP_TRN with saturation; the others go the integer way), in chunks of 64 values."""
    rng = np.random.default_rng(28)
    monkeypatch.setattr(nnet, "_CAST_VALUES", 64)
    for case in range(400):
        src = random_type(rng, (2, 31))
        t = random_type(rng, (1, 25), None, ROUNDINGS[int(rng.integers(7))], OVERFLOWS[int(rng.integers(4))])
        if case % 2:  # half of them of the float path's kind
            t = FixedType(min(t.width, 24), t.integer, t.signed, [Rounding.RND_CONV, Rounding.TRN][case % 4 // 2],
                          Overflow.SAT)
            src = FixedType(min(src.width, 24), src.integer, src.signed)
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 70)))
        x = codes(rng, src, shape)
        stage = Stage("s", kind, shape[1:], shape[1:], src, t)
        exact = np.maximum(x.astype(np.int64), 0) if kind == "relu" else x.astype(np.int64)
        want, mask = t.cast(exact, src, return_overflow=True)
        out = np.zeros(shape, dtype=t.code_dtype)
        got, overflow = nnet.STAGE_FUNCTIONS[kind](stage, x, out)
        assert np.array_equal(got, want), f"case {case}: {src} -> {t}: {np.count_nonzero(got != want)} differ"
        assert overflow == int(mask.sum()), f"case {case}: {src} -> {t}"


def test_max_pooling_equals_window_maxima():
    rng = np.random.default_rng(29)
    for case in range(300):
        pool = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        strides = list(pool) if rng.integers(3) else [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        pad = str(rng.choice(["valid", "same"]))
        h, w, c = int(rng.integers(pool[0], 14)), int(rng.integers(pool[1], 14)), int(rng.integers(1, 6))
        t = random_type(rng, (2, 17))
        oh, ow = output_size(h, pool[0], strides[0], pad), output_size(w, pool[1], strides[1], pad)
        stage = Stage("p", "maxpool", (h, w, c), (oh, ow, c), t, t,
                      params=MappingProxyType({"pool_size": pool, "strides": strides, "padding": pad}))
        x = codes(rng, t, (int(rng.integers(1, 6)), h, w, c))
        xp = x.astype(np.int64)
        if pad == "same":
            (t0, b0), (l0, r0) = padding(h, pool[0], strides[0], "same"), padding(w, pool[1], strides[1], "same")
            xp = np.pad(xp, ((0, 0), (t0, b0), (l0, r0), (0, 0)), constant_values=np.iinfo(np.int64).min)
        want = np.empty((len(x), oh, ow, c), dtype=np.int64)
        for r in range(oh):
            for col in range(ow):
                window = xp[:, r * strides[0]:r * strides[0] + pool[0], col * strides[1]:col * strides[1] + pool[1]]
                want[:, r, col] = window.max(axis=(1, 2))
        for out in (np.zeros((len(x), oh, ow, c), dtype=t.code_dtype), None):
            got, overflow = nnet.STAGE_FUNCTIONS["maxpool"](stage, x, out)
            assert np.array_equal(got, want) and got.dtype == t.code_dtype, f"case {case}: {stage.params}"
            assert overflow == 0


def test_run_gives_the_same_trace_whatever_the_blocks_and_threads(monkeypatch):
    spec = random_spec(small_config(padding="same", softmax="stable"), seed=4)
    x = np.random.default_rng(30).integers(0, 256, (53, *spec.input_shape))
    base = golden.run(spec, x, threads=1)
    for values, threads in [(1 << 20, 2), (300, 1), (300, 2), (300, 3), (1, 2)]:
        monkeypatch.setattr(network, "_BLOCK_VALUES", values)
        got = golden.run(spec, x, threads=threads)
        for name, codes_ in base.trace.items():
            assert got.trace[name].dtype == codes_.dtype and np.array_equal(got.trace[name], codes_), (name, values)
        assert got.stats == base.stats
