"""Overflow proofs (hlsgen.analysis.prove): a hand-worked dense layer, the point analysis against the golden
model's own overflow counts, soundness on random in-range inputs, witnesses the golden model confirms."""

from __future__ import annotations

import numpy as np
import pytest
from specs import random_spec

from hlsgen import golden
from hlsgen.analysis.prove import ProofStatus, analyse, find_witness, prove, summary
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec, Stage

T = FixedType.parse


def _config(result="ap_ufixed<8,2,AP_RND_CONV,AP_SAT>", pool="MaxPooling2D", dense_result=None, softmax="stable",
            accum=None) -> dict:
    layers = {"c1": {"result": result}}
    if accum:
        layers["c1"]["accum"] = accum
    if dense_result:
        layers["d1"] = {"result": dense_result}
    return {
        "name": "tiny",
        "model": {"input_shape": [9, 8, 1], "layers": [
            {"type": "Conv2D", "name": "c1", "filters": 3, "kernel_size": 3, "activation": "relu"},
            {"type": pool, "name": "p1", "pool_size": 3 if pool == "AveragePooling2D" else 2},
            {"type": "Flatten", "name": "f"},
            {"type": "Dense", "name": "d1", "units": 4, "activation": "softmax"},
        ]},
        "precision": {"input": "ap_ufixed<8,0>", "layers": layers},
        "hls": {"softmax": softmax},
    }


CONFIGS = {
    "reference-like": _config(),
    "narrow conv result": _config(result="ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"),
    "wrapping conv result": _config(result="ap_ufixed<6,1,AP_RND,AP_WRAP>"),
    "avgpool, narrow logits": _config(pool="AveragePooling2D", dense_result="ap_fixed<6,1,AP_TRN,AP_SAT>"),
    "narrow accumulator": _config(accum="ap_fixed<12,2>"),
    "latency softmax": _config(softmax="latency", dense_result="ap_fixed<8,3,AP_RND,AP_SAT>"),
}


def test_dense_bound_and_witness_by_hand():
    # y = 3*x0 - 2*x1 + 1: x in ap_ufixed<2,0> (codes 0..3, LSB 1/4), integer weights and bias (ap_fixed<4,4>).
    # Largest: x = (3, 0) -> 9/4 + 1 = 3.25; smallest: x = (0, 3) -> -6/4 + 1 = -0.5. In the accumulator
    # ap_fixed<12,8> (LSB 1/16): codes -8 and 52, which need 7 of its 12 bits (headroom 5). The result type
    # ap_fixed<4,2> holds [-2, 1.75]: the top overflows, at the weights' sign pattern (3, 0).
    x_t, w_t, acc_t = T("ap_ufixed<2,0>"), T("ap_fixed<4,4>"), T("ap_fixed<12,8>")
    out_t = T("ap_fixed<4,2,AP_TRN,AP_SAT>")
    stage = Stage("d", "dense", (2,), (1,), x_t, out_t, w_t, w_t, acc_t, np.array([[3], [-2]]), np.array([1]))
    spec = HardwareSpec("t", (2,), x_t, (stage,))
    accum, result = analyse(spec, np.zeros((1, 2), np.int64), np.full((1, 2), 3))
    assert (accum.cast, int(accum.lo[0]), int(accum.hi[0])) == ("accum", -8, 52)
    assert result.cast == "result" and result.overflow[0] == 1
    reports = prove(spec)
    assert [r.status for r in reports] == ["proved", "may_overflow"]
    assert reports[1].bound == (-0.5, 3.25)
    assert reports[1].witness == [3, 0] and reports[1].witness_confirmed  # the sign pattern of the weights
    assert reports[0].headroom_bits == 5
    assert summary(reports) == "proved overflow-free: 1 of 2 casts; may saturate: d result"


@pytest.mark.parametrize("name", list(CONFIGS))
def test_point_analysis_counts_what_the_golden_model_counts(name):
    spec = random_spec(CONFIGS[name], seed=3)
    x = np.random.default_rng(1).integers(0, 256, (300, 9, 8, 1))
    x[:20] = 255  # bright images saturate more
    gold = golden.run(spec, x)
    checked = 0
    for check in analyse(spec, x, x):
        if check.cast == "result" and spec.stage(check.layer).kind != "softmax":
            assert int(check.overflow.sum()) == gold.stats[check.layer].overflow, check.layer
            checked += 1
    assert checked >= 2  # the ReLU and the logits (max pooling keeps its type: no cast)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_proved_casts_never_overflow_on_random_inputs(name):
    spec = random_spec(CONFIGS[name], seed=7)
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.integers(0, 256, (500, 9, 8, 1)), rng.choice([0, 255], (500, 9, 8, 1))])
    reports = prove(spec, search=False, time_limit=5)
    proved = {(r.layer, r.cast) for r in reports if r.status is ProofStatus.PROVED}
    # adversarial inputs too: every witness, and each one-pixel change of it to the ends of the range
    for r in reports:
        if r.witness is not None:
            w = np.array(r.witness).reshape(1, 9, 8, 1)
            flips = np.where(np.eye(72, dtype=bool).reshape(72, 9, 8, 1), 255 - w, w)
            x = np.concatenate([x, w, flips])
    gold = golden.run(spec, x)
    for check in analyse(spec, x, x):
        if (check.layer, check.cast) in proved:
            assert check.overflow.sum() == 0, (name, check.layer, check.cast)
            if check.cast == "result" and spec.stage(check.layer).kind != "softmax":
                assert gold.stats[check.layer].overflow == 0


def test_narrow_conv_result_has_a_witness_the_golden_model_confirms():
    spec = random_spec(CONFIGS["narrow conv result"], seed=3)
    reports = {(r.layer, r.cast): r for r in prove(spec)}
    relu = reports[("c1_relu", "result")]
    assert relu.status == "may_overflow" and relu.witness is not None and relu.witness_confirmed
    witness = np.array(relu.witness).reshape(1, 9, 8, 1)
    assert golden.run(spec, witness).stats["c1_relu"].overflow > 0
    assert reports[("c1", "accum")].status == "proved"  # the derived accumulator is exact by construction


def test_wrapping_accumulator_witness_is_found():
    spec = random_spec(CONFIGS["narrow accumulator"], seed=3)
    report = next(r for r in prove(spec) if (r.layer, r.cast) == ("c1", "accum"))
    assert report.status == "may_overflow" and report.witness_confirmed
    x = np.array(report.witness).reshape(1, 9, 8, 1)
    check = next(c for c in analyse(spec, x, x) if (c.layer, c.cast) == ("c1", "accum"))
    assert check.overflow[0] > 0


def test_witness_search_returns_none_when_nothing_overflows():
    spec = random_spec(CONFIGS["reference-like"], seed=3)
    starts = np.zeros((1, 9, 8, 1), np.int64)
    assert find_witness(spec, "c1", "accum", starts) is None


def test_witnesses_for_every_cast_of_a_random_network_no_test_image_overflows():
    # seed 7: the one-change-per-round search on the worst value (before #24) found no witness for the ReLU
    # nor for the softmax result (a table lookup: flat almost everywhere); the per-value ascent and the
    # softmax margin find both, and no cast is left unknown
    spec = random_spec(CONFIGS["reference-like"], seed=7)
    reports = {(r.layer, r.cast): r for r in prove(spec, time_limit=10)}
    assert not [k for k, r in reports.items() if r.status is ProofStatus.UNKNOWN]
    for key in [("c1_relu", "result"), ("d1_softmax", "result")]:
        r = reports[key]
        assert r.status is ProofStatus.MAY_OVERFLOW and r.witness_confirmed, key
        x = np.array(r.witness).reshape(1, 9, 8, 1)
        check = next(c for c in analyse(spec, x, x) if (c.layer, c.cast) == key)
        assert check.overflow[0] > 0, key
    assert reports[("c1_relu", "result")].to_json()["status"] == "may_overflow"


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_prove_command_refuses_a_time_limit_that_is_not_seconds(seconds, tmp_path):
    from hlsgen.analysis.command import prove_command
    from hlsgen.errors import UsageError

    with pytest.raises(UsageError, match="--time-limit"):
        prove_command(str(tmp_path), as_json=False, time_limit=seconds)
