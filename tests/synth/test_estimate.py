"""Tests of hlsgen/estimate.py: figures worked out by hand for configs/mnist.yaml, and the reuse-factor
rule checked against hls4ml 1.3.0's own backend."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from hlsgen.config import config_from_dict, quote_types
from hlsgen.spec.lower import lower_with_settings
from hlsgen.synth.estimate import closest_reuse_factor, estimate, valid_reuse_factors
from hlsgen.synth.estimate_format import estimate_json, format_estimate
from hlsgen.synth.parts import lookup_part

ROOT = Path(__file__).resolve().parents[2]
MNIST = yaml.safe_load(quote_types((ROOT / "configs" / "mnist.yaml").read_text()))


def mnist(**hls) -> dict:
    raw = copy.deepcopy(MNIST)
    raw["hls"].update(hls)
    return raw


def run(raw: dict):
    return estimate(*lower_with_settings(config_from_dict(raw)))


def by_name(est) -> dict:
    return {le.name: le for le in est.layers}


def test_mnist_counts_by_hand():
    est = run(mnist())
    layers = by_name(est)
    conv1, fc1, fc2 = layers["conv1"], layers["fc1"], layers["fc2"]
    # conv1: 3x3x1 kernel, 2 filters, 26x26 output pixels
    assert (conv1.n_in, conv1.n_out, conv1.weights, conv1.biases) == (9, 2, 18, 2)
    assert conv1.macs == 26 * 26 * 2 * 9 == 12168
    assert fc1.macs == fc1.weights == 338 * 128 == 43264
    assert fc2.macs == fc2.weights == 128 * 10 == 1280
    # multipliers = ceil(weights / RF): 18/9, 43264/338, 1280/64
    assert [conv1.multipliers, fc1.multipliers, fc2.multipliers] == [2, 128, 20]
    assert sum(le.dsp_upper for le in est.layers) == 150
    assert lookup_part("xc7z020clg400-1").resources()["dsp"] == 220
    assert not [w for w in est.warnings if "DSPs" in w] and not est.suggestion  # 150 of 220 DSPs: it fits
    # memory: every weight and bias is 8 bits wide; float32 takes 32
    assert conv1.memory_bits == 20 * 8 and fc1.memory_bits == (43264 + 128) * 8
    assert fc2.memory_bits == (1280 + 10) * 8
    params = 20 + 43392 + 1290
    assert est.total("memory_bits") == params * 8 and est.total("float32_bits") == params * 32
    # Resource strategy: weights in BRAM, >= ceil(bits / 18432) each
    assert [le.bram18_lower for le in est.layers] == [1, math.ceil(43264 * 8 / 18432), 1] == [1, 19, 1]
    # io_stream: conv1 >= max(28*28, 26*26*9); dense layers >= RF; dataflow overlaps the layers
    assert [le.latency_lower for le in est.layers] == [6084, 338, 64]
    assert (est.interval_lower, est.latency_lower, est.latency_sum) == (6084, 6084, 6084 + 338 + 64)
    assert est.warnings == () and est.problems == ()
    assert est.table_bits == 1024 * (18 + 18)


def test_io_parallel_latency_is_the_sum():
    est = run(mnist(io_type="io_parallel"))
    assert [le.latency_lower for le in est.layers] == [26 * 26 * 9, 338, 64]
    assert est.latency_lower == est.latency_sum == 6084 + 338 + 64


def test_latency_strategy_has_no_bram():
    est = run(mnist(strategy="Latency", reuse_factor={"default": 1}))
    assert est.total("bram18_lower") == 0
    assert [le.multipliers for le in est.layers] == [18, 43264, 1280]


@pytest.mark.parametrize("n_in,n_out", [(338, 128), (128, 10), (9, 2), (27, 16), (100, 7), (64, 64), (1, 5)])
def test_valid_reuse_factors_equal_hls4mls(n_in, n_out):
    backends = pytest.importorskip("hls4ml.backends")
    vitis = backends.get_backend("Vitis")
    valid = valid_reuse_factors(n_in, n_out)
    assert list(valid) == vitis.get_valid_reuse_factors(n_in, n_out)
    for rf in (1, 3, 7, 26, 64, 100, 500, n_in * n_out + 1):
        assert closest_reuse_factor(valid, rf) == vitis.get_closest_reuse_factor(list(valid), rf), rf


def test_invalid_reuse_factor_warns_with_hls4mls_choice():
    est = run(mnist(reuse_factor={"default": 64, "conv1": 9}))
    fc1 = by_name(est)["fc1"]
    assert (fc1.reuse_factor, fc1.hls4ml_reuse_factor, fc1.multipliers) == (64, 26, 43264 // 26)
    [warning] = [w for w in est.warnings if w.startswith("fc1:")]
    assert warning.startswith("fc1: reuse factor 64 is not valid for hls4ml (n_in=338, n_out=128); it would "
                              "use 26 instead; valid: 1, 2, 13, 26, 169, 338, ")
    assert warning.endswith("set hls.reuse_factor.fc1 to one of them")
    assert "64->26" in format_estimate(est)


def test_latency_strategy_keeps_any_reuse_factor():
    est = run(mnist(strategy="Latency", reuse_factor={"default": 64, "conv1": 9, "fc1": 100}))
    fc1 = by_name(est)["fc1"]
    assert fc1.hls4ml_reuse_factor == 100 and fc1.multipliers == math.ceil(43264 / 100)
    assert not any("not valid" in w for w in est.warnings)


def test_latency_strategy_unroll_limit():
    est = run(mnist(strategy="Latency"))
    [warning] = [w for w in est.warnings if "unroll" in w]
    assert warning.startswith("fc1: 43264 multiplications") and "4096" in warning
    assert "hls.strategy: Resource" in warning and "at least 13" in warning  # 43264 / 13 = 3328 <= 4096


def test_resource_strategy_unroll_limit():
    est = run(mnist(reuse_factor={"default": 64, "conv1": 9, "fc1": 2}))  # 21632 multipliers in MultLoop
    [warning] = [w for w in est.warnings if "unroll" in w]
    assert warning.startswith("fc1: 21632 multiplications") and "hls.reuse_factor.fc1 to at least 13" in warning


def test_conv_io_parallel_resource_rf_above_kernel_is_a_problem():
    est = run(mnist(io_type="io_parallel", reuse_factor={"default": 64, "conv1": 18, "fc1": 338}))
    [problem] = est.problems
    assert problem.startswith("conv1: io_parallel Resource Conv2D with reuse factor 18 > kh*kw*cin = 9")
    assert "#817" in problem and "hls.reuse_factor.conv1 to at most 9" in problem
    assert "problem: conv1" in format_estimate(est)
    assert run(mnist(io_type="io_stream", reuse_factor={"default": 64, "conv1": 18, "fc1": 338})).problems == ()


def test_io_stream_pooling_needs_pool_equal_stride():
    raw = mnist()
    raw["model"]["layers"][1].update(pool_size=2, strides=1)
    [problem] = run(raw).problems
    assert problem.startswith("pool1: io_stream MaxPooling2D needs pool_size == strides and no padding")
    assert run(mnist(io_type="io_parallel") | {"model": raw["model"]}).problems == ()


def test_small_part_gets_a_fitting_suggestion():
    est = run(mnist(part="xc7z010clg400-1"))  # 80 DSPs
    [warning] = [w for w in est.warnings if "DSPs" in w]
    assert warning.startswith("150 multipliers exceed the 80 DSPs of xc7z010")
    assert dict(est.suggestion) == {"conv1": 9, "fc1": 676, "fc2": 128}
    layers = by_name(est)
    multipliers = sum(math.ceil(layers[n].weights / r) for n, r in est.suggestion.items())
    assert multipliers == 2 + 64 + 10
    assert multipliers <= lookup_part("xc7z010clg400-1").resources()["dsp"] == 80  # the suggestion fits
    for name, rf in est.suggestion.items():  # hls4ml keeps them, none lower than configured
        assert rf in layers[name].valid_reuse_factors and rf >= layers[name].reuse_factor
    refit = run(mnist(part="xc7z010clg400-1", reuse_factor={"default": 1, **est.suggestion}))
    assert not any("DSPs" in w for w in refit.warnings)


def test_unknown_part_is_said():
    est = run(mnist(part="xc9z999"))
    assert est.device is None and est.suggestion == {}
    assert any("not in hlsgen's parts table" in w for w in est.warnings)
    assert "unknown to hlsgen: no fit check" in format_estimate(est)


def test_format_marks_bounds_and_exact_counts():
    text = format_estimate(run(mnist()))
    assert "≤150" in text and "≥6,084" in text and "≥19" in text
    assert "56,712" in text  # total MACs, exact
    assert "4.0x smaller" in text and "LUT and FF are not estimated" in text
    assert "hlsgen report" in text and "may be built from LUTs" in text


def test_json_keys():
    doc = estimate_json(run(mnist()))
    json.dumps(doc)  # serializable
    assert set(doc) == {"name", "part", "io_type", "strategy", "clock_period_ns", "layers", "totals", "device",
                        "warnings", "problems", "suggestion"}
    assert set(doc["layers"][0]) >= {"name", "macs", "multipliers", "dsp_upper", "memory_bits", "memory_bytes",
                                     "float32_bytes", "bram18_lower", "latency_cycles_lower", "reuse_factor",
                                     "hls4ml_reuse_factor", "valid_reuse_factors"}
    t = doc["totals"]
    assert (t["macs"], t["multipliers"], t["memory_bytes"], t["float32_bytes"]) == (56712, 150, 44702, 178808)
    assert t["memory_ratio"] == 4.0 and doc["device"]["dsp"] == 220
