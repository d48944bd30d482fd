"""Write the committed expected codes of tests/golden/test_expected_codes.py (run on numpy 1.26 only).

    .venv/bin/python tests/golden/expected_codes/make_expected.py [REFERENCE_PROJECT]

Each case is a folder here: ``spec.json`` + ``weights.npz`` (a :class:`~hlsgen.spec.HardwareSpec`),
``inputs.npz`` (input codes; the reference case reads the MNIST test images of $HLSGEN_SHARED instead)
and ``expected.json``: per golden stage the dtype, shape and SHA-256 of its trace, the overflow count,
and the output codes of the first images in full (a readable diff when a digest differs). The random
cases are made once, from the configs below with seeded weight codes; the reference case copies the
spec of a built reference project (``hlsgen build configs/mnist.yaml`` on the primary stack). Running
this again rewrites expected.json from the committed specs and inputs only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for specs

from hlsgen import golden  # noqa: E402
from hlsgen.spec import HardwareSpec  # noqa: E402

FIRST = 16  # images whose output codes are stored in full


def _small(name: str, padding: str, strides: int, softmax: str, pool: str, modes: dict[str, str],
           shape=(9, 8, 2)) -> dict:
    return {
        "name": name,
        "model": {"input_shape": list(shape), "layers": [
            {"type": "Conv2D", "name": "c1", "filters": 3, "kernel_size": [3, 2], "strides": strides,
             "padding": padding, "activation": "relu"},
            {"type": pool, "name": "p1", "pool_size": 2, "padding": padding},
            {"type": "Flatten", "name": "f"},
            {"type": "Dense", "name": "d1", "units": 7, "activation": "relu"},
            {"type": "Dense", "name": "d2", "units": 5, "activation": "softmax"},
        ]},
        "precision": {"input": "ap_fixed<8,1>", "layers": modes},
        "hls": {"softmax": softmax},
    }


# Every rounding and overflow mode, narrow accumulators that wrap, signed and unsigned results, average
# pooling (a division), both softmax tables: the integer paths NEP 50's promotion rules could change.
CASES = {
    "modes_valid_stable": _small("modes_a", "valid", 1, "stable", "MaxPooling2D", {
        "c1": {"result": "ap_ufixed<9,2,AP_RND,AP_WRAP>", "accum": "ap_fixed<12,3,AP_TRN,AP_WRAP>"},
        "d1": {"result": "ap_ufixed<10,3,AP_RND_ZERO,AP_SAT>"},
        "d2": {"result": "ap_fixed<12,4,AP_RND_INF,AP_SAT_SYM>", "weight": "ap_fixed<6,1>"}}),
    "modes_same_latency": _small("modes_b", "same", 2, "latency", "AveragePooling2D", {
        "c1": {"result": "ap_fixed<10,3,AP_RND_MIN_INF,AP_SAT>", "weight": "ap_fixed<4,1>"},
        "p1": {"result": "ap_fixed<7,2,AP_TRN_ZERO,AP_WRAP>"},
        "d1": {"result": "ap_ufixed<6,1,AP_RND_CONV,AP_SAT>", "accum": "ap_fixed<14,5,AP_RND,AP_WRAP>"},
        "d2": {"result": "ap_fixed<16,6,AP_TRN,AP_WRAP>", "bias": "ap_fixed<12,6>"}}),
    "wide_argmax": _small("wide", "valid", 1, "argmax", "MaxPooling2D", {
        "c1": {"result": "ap_ufixed<24,8,AP_RND_CONV,AP_SAT>", "weight": "ap_fixed<16,2>"},
        "d1": {"result": "ap_ufixed<20,6,AP_RND,AP_SAT>", "weight": "ap_fixed<16,1>"},
        "d2": {"result": "ap_fixed<32,12,AP_RND_CONV,AP_SAT>", "weight": "ap_fixed<16,1>"}}),
}


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def golden_codes(spec: HardwareSpec, inputs: np.ndarray) -> dict:
    """What expected.json holds for ``spec`` on ``inputs`` (also what the test computes)."""
    result = golden.run(spec, inputs)
    return {"images": len(inputs),
            "stages": {name: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": digest(a),
                              "overflow": result.stats[name].overflow}
                       for name, a in result.trace.items()},
            "first_outputs": result.output[:FIRST].reshape(min(FIRST, len(inputs)), -1).tolist()}


def reference_inputs(spec: HardwareSpec) -> np.ndarray:
    """The 10,000 MNIST test images of $HLSGEN_SHARED (or ../shared) as the reference spec's input codes."""
    from specs import SHARED

    from hlsgen.data import input_codes
    with np.load(SHARED / "data" / "mnist" / "mnist-10k.npz") as f:
        return input_codes(spec.input_t, f["x_test"])


def inputs_of(case: Path, spec: HardwareSpec) -> np.ndarray:
    if case.name == "reference":
        return reference_inputs(spec)
    with np.load(case / "inputs.npz") as f:
        return f["codes"]


def make_case(name: str, raw: dict) -> None:
    from specs import random_spec
    case = HERE / name
    case.mkdir(exist_ok=True)
    spec = random_spec(raw, seed=sum(map(ord, name)))
    spec.save(case)
    t = spec.input_t
    rng = np.random.default_rng(7)
    codes = rng.integers(t.min_code, t.max_code + 1, (64, *spec.input_shape)).astype(np.int64)
    codes[0], codes[1] = t.min_code, t.max_code  # the extremes: every accumulator at its widest
    np.savez_compressed(case / "inputs.npz", codes=codes)


def main() -> None:
    if int(np.__version__.split(".")[0]) >= 2:
        sys.exit("make_expected: run this on numpy 1.26 (the primary stack's .venv): the expected codes are "
                 "numpy 1.26's, which every other numpy must reproduce")
    if len(sys.argv) > 1:  # copy a built reference project's spec
        ref = HERE / "reference"
        ref.mkdir(exist_ok=True)
        spec = HardwareSpec.load(sys.argv[1])
        spec.save(ref)
        with np.load(ref / "weights.npz") as f:  # compressed: the same int64 codes in a fifth of the bytes
            arrays = dict(f)
        np.savez_compressed(ref / "weights.npz", **arrays)
        shutil.copy(Path(sys.argv[1]) / "spec.json", ref / "spec.json")
    for name, raw in CASES.items():
        if not (HERE / name / "spec.json").exists():
            make_case(name, raw)
    for case in sorted(p for p in HERE.iterdir() if (p / "spec.json").exists()):
        spec = HardwareSpec.load(case)
        doc = {"numpy": np.__version__, **golden_codes(spec, inputs_of(case, spec))}
        (case / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{case.name}: {doc['images']} images, {len(doc['stages'])} stages")


if __name__ == "__main__":
    main()
