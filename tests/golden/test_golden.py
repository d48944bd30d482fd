"""Golden model (hlsgen.golden): hand-worked layers, Keras as the oracle for convolution
geometry, and the trace."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
from specs import random_spec, small_config

from hlsgen import golden
from hlsgen.config.precision import derive_accum
from hlsgen.fixed import FixedType, Overflow
from hlsgen.golden import layers as nnet
from hlsgen.golden import network as golden_run
from hlsgen.spec import Stage

T = FixedType.parse


def dense_stage(x_t, w_t, b_t, r_t, w, b, accum=None):
    w = np.asarray(w, dtype=np.int64)
    acc = accum or derive_accum(x_t, w_t, b_t, w.shape[0])
    return Stage("d", "dense", (w.shape[0],), (w.shape[1],), x_t, r_t, w_t, b_t, acc, w,
                 np.asarray(b, dtype=np.int64), MappingProxyType({}))


def test_two_by_two_conv_by_hand():
    x_t, w_t, b_t = T("ap_ufixed<4,0>"), T("ap_fixed<4,1>"), T("ap_fixed<4,1>")
    r_t = T("ap_fixed<6,2,AP_RND_CONV,AP_SAT>")
    w = np.array([[1, -2], [3, 4]]).reshape(2, 2, 1, 1)
    stage = Stage("c", "conv2d", (3, 3, 1), (2, 2, 1), x_t, r_t, w_t, b_t, derive_accum(x_t, w_t, b_t, 4),
                  w, np.array([2]), MappingProxyType({"kernel_size": [2, 2], "strides": [1, 1], "padding": "valid"}))
    x = np.arange(1, 10).reshape(1, 3, 3, 1)
    out, overflow = nnet.STAGE_FUNCTIONS["conv2d"](stage, x)
    # products at 2^-7; bias 2 * 2^-3 = 32 * 2^-7. Window (0,0): 1 - 4 + 12 + 20 + 32 = 61 -> 61/8 = 7.625 -> 8
    # (0,1): 67 -> 8.375 -> 8; (1,0): 79 -> 9.875 -> 10; (1,1): 85 -> 10.625 -> 11  (result LSB 2^-4)
    assert out[..., 0].tolist() == [[[8, 8], [10, 11]]]
    assert overflow == 0


def test_dense_ties_hand_worked():
    # x in ap_fixed<8,3> (LSB 1/32), w in ap_fixed<8,1> (LSB 1/128): product LSB 1/4096.
    # Result ap_fixed<8,6,mode,AP_SAT> has LSB 1/4: one result LSB = 1024 product LSBs.
    # Choose dot products of 2.5, 3.5, -2.5 result LSBs and, with a bias, 2.5 again:
    x_t, w_t, b_t = T("ap_fixed<8,3>"), T("ap_fixed<8,1>"), T("ap_fixed<8,1>")
    x = np.array([[32, 16, -8]])                      # 1.0, 0.5, -0.25
    w = np.array([[80, 112, -80, 64],                 # 32*80 = 2560 = 2.5 * 1024
                  [0, 0, 0, 0],
                  [0, 0, 0, 0]])
    b = [0, 0, 0, 16]                                 # 16/128 = 0.125 = 512/4096: 2048 + 512 = 2560
    for mode, expected in [("AP_RND_CONV", [2, 4, -2, 2]), ("AP_RND", [3, 4, -2, 3]),
                           ("AP_RND_INF", [3, 4, -3, 3]), ("AP_RND_ZERO", [2, 3, -2, 2]),
                           ("AP_RND_MIN_INF", [2, 3, -3, 2]), ("AP_TRN", [2, 3, -3, 2]),
                           ("AP_TRN_ZERO", [2, 3, -2, 2])]:
        stage = dense_stage(x_t, w_t, b_t, T(f"ap_fixed<8,6,{mode},AP_SAT>"), w, b)
        out, overflow = nnet.STAGE_FUNCTIONS["dense"](stage, x)
        assert out[0].tolist() == expected, mode
        assert overflow == 0


def test_saturating_relu_by_hand():
    stage = Stage("r", "relu", (6,), (6,), T("ap_fixed<12,6>"), T("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"))
    x = np.array([[-100, 0, 50, 51, 53, 5000]])  # LSB 1/64 -> result LSB 1/32: halve, ties to even
    out, overflow = nnet.STAGE_FUNCTIONS["relu"](stage, x)
    assert out[0].tolist() == [0, 0, 25, 26, 26, 255]
    assert overflow == 1


def test_narrow_accumulator_rounds_each_product():
    # accum with fewer fraction bits than the product: every product is truncated on assignment
    x_t, w_t, b_t = T("ap_ufixed<4,0>"), T("ap_fixed<4,1>"), T("ap_fixed<4,1>")
    acc_t = T("ap_fixed<10,4>")                      # LSB 1/64, product LSB 1/128
    x = np.array([[1, 1, 1]])                        # 1/16 each
    w = np.array([[1], [1], [1]])                    # 1/8: product 1/128 -> floor to 0 in accum
    stage = dense_stage(x_t, w_t, b_t, T("ap_fixed<10,4>"), w, [0], accum=acc_t)
    out, _ = nnet.STAGE_FUNCTIONS["dense"](stage, x)
    assert out[0].tolist() == [0]                    # exact sum 3/128 would give code 1


@pytest.mark.parametrize("acc", ["ap_fixed<8,2>", "ap_fixed<8,2,AP_RND_CONV>", "ap_fixed<6,0,AP_RND_INF>"])
def test_narrow_accumulator_matches_product_by_product_casts(acc):
    """8-bit accumulators (what an hls4ml model precision of ap_fixed<8,I> gives): each product is
    rounded and wrapped into accum_t, the running sum too. Oracle: one C++-like assignment at a time."""
    x_t, w_t, b_t, acc_t = T("ap_ufixed<8,0>"), T("ap_fixed<8,1>"), T("ap_fixed<8,1>"), T(acc)
    rng = np.random.default_rng(11)
    x, w, b = rng.integers(0, 256, (5, 7)), rng.integers(-128, 128, (7, 3)), rng.integers(-128, 128, 3)
    stage = dense_stage(x_t, w_t, b_t, acc_t, w, b, accum=acc_t)
    prod_t = FixedType.product_type(x_t, w_t)
    expected = np.empty((5, 3), dtype=np.int64)
    for i in range(5):
        for o in range(3):
            total = int(acc_t.cast(np.array([b[o]]), b_t)[0])
            for k in range(7):
                p = int(acc_t.cast(np.array([x[i, k] * w[k, o]]), prod_t)[0])
                total = int(acc_t.cast(np.array([total + p]), FixedType.parse(f"ap_fixed<40,{40 - acc_t.frac}>"))[0])
            expected[i, o] = total
    np.testing.assert_array_equal(nnet.accumulate(x, stage), expected)


def test_maxpool_and_flatten_order():
    t = T("ap_ufixed<8,3>")
    pool = Stage("p", "maxpool", (4, 4, 2), (2, 2, 2), t, t,
                 params=MappingProxyType({"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}))
    x = np.arange(32).reshape(1, 4, 4, 2)
    out, _ = nnet.STAGE_FUNCTIONS["maxpool"](pool, x)
    assert out[0, :, :, 0].tolist() == [[10, 14], [26, 30]]
    flat, _ = nnet.STAGE_FUNCTIONS["flatten"](pool, out)
    assert flat[0].tolist() == [10, 11, 14, 15, 26, 27, 30, 31]  # channels-last


@pytest.mark.parametrize("padding,strides,channels", [("valid", 1, (2, 3)), ("same", 1, (2, 3)), ("same", 2, (2, 3)),
                                                       ("valid", 2, (2, 3)), ("valid", 1, (1, 2)),
                                                       ("same", 1, (8, 12)), ("valid", 2, (8, 12))])
@pytest.mark.parametrize("path", ["bands", "taps"])
def test_conv_accumulator_matches_keras_float64(padding, strides, channels, path, monkeypatch):
    """Keras in float64 computes the exact accumulator values: the geometry (padding, strides,
    weight layout) must agree with ours, on both of the golden model's convolution paths (column bands,
    the last one overlapping its neighbour here; one product per kernel tap)."""
    tf = pytest.importorskip("tensorflow")
    if path == "taps":
        monkeypatch.setattr(nnet, "_ROW_KERNEL_VALUES", 0)
    spec = random_spec(small_config(padding, strides, channels=channels), seed=strides)
    conv = spec.stage("c1")
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (4, 9, 8, channels[0]))
    layer = tf.keras.layers.Conv2D(channels[1], (3, 2), strides=strides, padding=padding, dtype="float64")
    layer.build((None, 9, 8, channels[0]))
    layer.set_weights([conv.weight_codes * conv.weight_t.lsb, conv.bias_codes * conv.bias_t.lsb])
    expected = layer(x * spec.input_t.lsb).numpy()
    trace = golden.run(spec, x).trace
    np.testing.assert_array_equal(trace["c1"], conv.result_t.quantize(expected))
    assert trace["c1"].shape[1:] == conv.output_shape


def test_run_returns_trace_of_every_stage_and_counts():
    spec = random_spec(small_config(), seed=7)  # a seed whose ReLU and dense both saturate
    x = np.random.default_rng(1).integers(0, 256, (6, 9, 8, 2))
    result = golden.run(spec, x)
    assert list(result.trace) == [s.name for s in spec.stages] == ["c1", "c1_relu", "p1", "f", "d1"]
    assert result.output.shape == (6, 5)
    for name, stats in result.stats.items():
        assert stats.total == result.trace[name].size
    # overflow counts, recomputed: each stage's exact value in a wide type with the result's LSB and
    # rounding, counted when outside the result type (the linear conv part holds the exact sums, the pool
    # and flatten keep their input type: none of these can overflow)
    def outside(t: FixedType, codes: np.ndarray, src: FixedType) -> int:
        wide = FixedType(62, 62 - t.frac, t.signed, t.rounding, Overflow.SAT)
        unclipped = wide.cast(codes, src)
        return int(np.count_nonzero((unclipped < t.min_code) | (unclipped > t.max_code)))

    c1, relu, p1, d1 = (spec.stage(n) for n in ("c1", "c1_relu", "p1", "d1"))
    assert c1.result_t == c1.accum_t and p1.result_t == p1.input_t
    flat = result.trace["f"].astype(np.int64)
    sums = flat @ d1.weight_codes * 2 ** (d1.accum_t.frac - d1.input_t.frac - d1.weight_t.frac)
    sums = sums + d1.bias_codes * 2 ** (d1.accum_t.frac - d1.bias_t.frac)
    expected = {"c1": 0, "p1": 0, "f": 0,
                "c1_relu": outside(relu.result_t, np.maximum(result.trace["c1"].astype(np.int64), 0), relu.input_t),
                "d1": outside(d1.result_t, sums, d1.accum_t)}
    assert {name: stats.overflow for name, stats in result.stats.items()} == expected
    assert expected["c1_relu"] > 0 and expected["d1"] > 0  # saturation happens here, and is counted
    with pytest.raises(ValueError, match="outside ap_ufixed<8,0>"):
        golden.run(spec, x + 1)


@pytest.mark.parametrize("pool,strides,padding", [((2, 2), (2, 2), "valid"), ((3, 2), (3, 2), "valid"),
                                                   ((2, 2), (2, 2), "same"), ((3, 3), (2, 2), "valid"),
                                                   ((2, 3), (1, 2), "same")])
def test_maxpool_matches_keras(pool, strides, padding):
    """Both max-pooling paths (windows that tile the input, cropped or padded; overlapping windows)
    against Keras on odd-sized inputs with several channels."""
    tf = pytest.importorskip("tensorflow")
    t = T("ap_fixed<8,3>")
    x = np.random.default_rng(4).integers(-128, 128, (3, 7, 9, 3))
    layer = tf.keras.layers.MaxPooling2D(pool, strides, padding=padding, dtype="float64")
    expected = layer(x.astype(np.float64)).numpy()
    stage = Stage("p", "maxpool", x.shape[1:], expected.shape[1:], t, t,
                  params=MappingProxyType({"pool_size": list(pool), "strides": list(strides), "padding": padding}))
    for dtype in (np.int64, np.int16):
        out, _ = nnet.STAGE_FUNCTIONS["maxpool"](stage, x.astype(dtype))
        np.testing.assert_array_equal(out, expected)


def test_blocks_and_threads_do_not_change_the_result(monkeypatch):
    spec = random_spec(small_config("same", 1), seed=5)
    x = np.random.default_rng(2).integers(0, 256, (37, 9, 8, 2))
    whole = golden.run(spec, x, threads=1)
    monkeypatch.setattr(golden_run, "_BLOCK_VALUES", 500)  # 2 images per block: 19 blocks, the last one short
    for threads in (1, 2, 3):
        blocked = golden.run(spec, x, threads=threads)
        for name, codes in whole.trace.items():
            np.testing.assert_array_equal(blocked.trace[name], codes, err_msg=name)
            assert blocked.stats[name] == whole.stats[name]


def test_trace_dtype_is_the_narrowest_that_holds_the_codes():
    assert T("ap_ufixed<8,3>").code_dtype == np.int16
    assert T("ap_fixed<16,3>").code_dtype == np.int16
    assert T("ap_ufixed<16,3>").code_dtype == np.int32   # 65535 > int16 max
    assert T("ap_fixed<32,3>").code_dtype == np.int32
    assert T("ap_fixed<33,3>").code_dtype == np.int64
    spec = random_spec(small_config(), seed=3)
    trace = golden.run(spec, np.zeros((2, 9, 8, 2), dtype=np.int64)).trace
    assert trace["c1_relu"].dtype == np.int16 and trace["c1"].dtype == spec.stage("c1").result_t.code_dtype


def test_avgpool_by_hand_truncates_toward_zero():
    in_t = T("ap_fixed<8,3>")                      # LSB 1/32
    from hlsgen.config.precision import avgpool_accum

    acc_t = avgpool_accum(in_t, 4)                 # 2 extra fraction bits: LSB 1/128
    assert acc_t.frac == in_t.frac + 2
    stage = Stage("a", "avgpool", (2, 4, 1), (1, 2, 1), in_t, T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>"), accum_t=acc_t,
                  params=MappingProxyType({"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}))
    x = np.array([[1, 0, -3, 0], [0, 1, 0, -2]]).reshape(1, 2, 4, 1)
    out, _ = nnet.STAGE_FUNCTIONS["avgpool"](stage, x)
    # left window: sum 2 (1/32 units) -> 8/128; /4 -> 2/128 = 0.5 LSB of the result: ties to even -> 0
    # right window: sum -5 -> -20/128; /4 -> -5/128 = -1.25 LSB -> rounds to -1
    assert out.reshape(-1).tolist() == [0, -1]


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_empty_batch_gives_empty_trace(padding):
    spec = random_spec(small_config(padding, 1), seed=5)
    empty = np.zeros((0, 9, 8, 2), dtype=np.int64)
    result = golden.run(spec, empty)
    for stage in spec.stages:
        assert result.trace[stage.name].shape == (0, *stage.output_shape)
        assert result.stats[stage.name].overflow == 0
    out, overflow = nnet.STAGE_FUNCTIONS["conv2d"](spec.stage("c1"), empty)
    assert out.shape == (0, *spec.stage("c1").output_shape) and overflow == 0
