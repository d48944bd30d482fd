"""The exact method (hlsgen.analysis.exact) against exhaustive enumeration: on networks small enough to run
every input (2-bit codes on 3x3 pixels: 262144 images), a cast is proved exactly when no input overflows
it, and otherwise gets a witness the golden model confirms, never ``unknown``; upstream casts that may
overflow (saturating, wrapping) and every rounding mode are modelled exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from specs import random_spec

from hlsgen import golden
from hlsgen.analysis.interval import analyse, overflow_thresholds
from hlsgen.analysis.prove import ProofMethod, ProofStatus, prove
from hlsgen.fixed import FixedType

T = FixedType.parse
ROUNDING = ["AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV"]


def _config(conv_result: str, dense_result: str, pool: str = "MaxPooling2D", padding: str = "valid") -> dict:
    return {
        "name": "tiny",
        "model": {"input_shape": [3, 3, 1], "layers": [
            {"type": "Conv2D", "name": "c1", "filters": 2, "kernel_size": 2, "padding": padding,
             "activation": "relu"},
            {"type": pool, "name": "p1", "pool_size": 2},
            {"type": "Flatten", "name": "f"},
            {"type": "Dense", "name": "d1", "units": 3, "activation": "softmax"},
        ]},
        "precision": {"input": "ap_ufixed<2,0>", "default": {"weight": "ap_fixed<4,1>", "bias": "ap_fixed<4,1>"},
                      "layers": {"c1": {"result": conv_result}, "d1": {"result": dense_result}}},
        "hls": {"softmax": "none"},
    }


def _mlp(hidden: str, out: str) -> dict:
    return {
        "name": "tiny",
        "model": {"input_shape": [3, 3, 1], "layers": [
            {"type": "Flatten", "name": "f"},
            {"type": "Dense", "name": "h", "units": 4, "activation": "relu"},
            {"type": "Dense", "name": "d1", "units": 3, "activation": "softmax"},
        ]},
        "precision": {"input": "ap_ufixed<2,0>", "default": {"weight": "ap_fixed<4,1>", "bias": "ap_fixed<4,1>"},
                      "layers": {"h": {"result": hidden}, "d1": {"result": out}}},
        "hls": {"softmax": "none"},
    }


CASES = {
    "mlp": _mlp("ap_ufixed<6,2,AP_RND_CONV,AP_SAT>", "ap_fixed<6,3,AP_RND_CONV,AP_SAT>"),
    "mlp, saturating hidden": _mlp("ap_ufixed<4,1,AP_RND_CONV,AP_SAT>", "ap_fixed<5,2,AP_RND,AP_SAT>"),
    **{f"dense {r}": _config("ap_ufixed<4,1,AP_RND_CONV,AP_SAT>", f"ap_fixed<4,1,{r},AP_SAT>") for r in ROUNDING},
    "wrapping conv result": _config("ap_ufixed<3,0,AP_RND,AP_WRAP>", "ap_fixed<4,1,AP_RND_CONV,AP_SAT>"),
    "wrapping dense result": _config("ap_ufixed<4,1,AP_TRN,AP_SAT>", "ap_fixed<3,0,AP_RND_ZERO,AP_WRAP>"),
    "average pooling": _config("ap_ufixed<4,1,AP_RND_CONV,AP_SAT>", "ap_fixed<4,0,AP_RND_INF,AP_SAT>",
                               pool="AveragePooling2D"),
    "same padding": _config("ap_ufixed<4,1,AP_RND,AP_SAT>", "ap_fixed<4,1,AP_TRN_ZERO,AP_SAT>", padding="same"),
}
ALL = np.array(list(itertools.product(range(4), repeat=9)), np.int64).reshape(-1, 3, 3, 1)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(CASES))
def test_exact_verdicts_match_exhaustive_enumeration(name, seed):
    spec = random_spec(CASES[name], seed=seed)
    every = {(c.layer, c.cast): int(c.overflow.sum()) for c in analyse(spec, ALL, ALL)}
    gold = golden.run(spec, ALL)
    for r in prove(spec, search=False, time_limit=30):
        overflows = every[(r.layer, r.cast)]
        assert r.status is not ProofStatus.UNKNOWN, (name, seed, r.layer, r.cast)
        assert (r.status is ProofStatus.PROVED) == (overflows == 0), (name, seed, r.layer, r.cast, overflows)
        if r.status is ProofStatus.MAY_OVERFLOW:
            assert r.witness_confirmed
            x = np.array(r.witness).reshape(1, 3, 3, 1)
            check = next(c for c in analyse(spec, x, x) if (c.layer, c.cast) == (r.layer, r.cast))
            assert check.overflow[0] > 0
        if r.cast == "result":
            assert (gold.stats[r.layer].overflow == 0) == (r.status is ProofStatus.PROVED)


@pytest.mark.parametrize("seed", [1, 3, 7])
def test_exact_method_proves_what_intervals_cannot(seed):
    # the hidden values share every input: the interval bound of d1 exceeds its type for these seeds (worked
    # out by enumeration when this test was written), yet no input reaches it
    spec = random_spec(CASES["mlp"], seed=seed)
    t = spec.input_t
    box = {(c.layer, c.cast): c for c in analyse(spec, np.zeros((1, 3, 3, 1)), np.full((1, 3, 3, 1), t.max_code))}
    assert box[("d1", "result")].overflow[0] > 0
    report = next(r for r in prove(spec, search=False, time_limit=30) if (r.layer, r.cast) == ("d1", "result"))
    assert (report.status, report.method) == (ProofStatus.PROVED, ProofMethod.EXACT)
    every = next(c for c in analyse(spec, ALL, ALL) if (c.layer, c.cast) == ("d1", "result"))
    assert every.overflow.sum() == 0
    lsb = 2.0 ** -every.src.frac
    lo, hi = report.bound  # sound: every value of every input lies within it
    assert lo <= every.lo.min() * lsb and every.hi.max() * lsb <= hi
    assert report.to_json()["method"] == "exact" and report.to_json()["status"] == "proved"


@pytest.mark.parametrize("text", ["ap_ufixed<4,1,AP_RND_CONV,AP_SAT>", "ap_fixed<4,1,AP_TRN_ZERO,AP_SAT_SYM>",
                                  "ap_fixed<3,0,AP_RND,AP_WRAP>"])
def test_overflow_thresholds_are_the_first_codes_that_overflow(text):
    t, src = T(text), T("ap_fixed<12,4>")
    codes = np.arange(src.min_code, src.max_code + 1)
    over = t.cast(codes, src, return_overflow=True)[1]
    a, b = overflow_thresholds(t, src, src.min_code, src.max_code)
    assert a == codes[(codes <= 0) & over].max() and b == codes[(codes >= 0) & over].min()
    assert not over[(codes > a) & (codes < b)].any()


def test_prove_json_names_the_method_and_every_status_is_a_string(tmp_path, capsys):
    import json

    from hlsgen.analysis.command import prove_command

    random_spec(CASES["mlp"], seed=1).save(tmp_path)
    assert prove_command(str(tmp_path), as_json=True, time_limit=30) == 0
    casts = {(c["layer"], c["cast"]): c for c in json.loads(capsys.readouterr().out)["casts"]}
    assert (casts[("d1", "result")]["status"], casts[("d1", "result")]["method"]) == ("proved", "exact")
    assert (casts[("h", "accum")]["status"], casts[("h", "accum")]["method"]) == ("proved", "interval")
    assert all(c["status"] in ("proved", "may_overflow", "unknown") for c in casts.values())
