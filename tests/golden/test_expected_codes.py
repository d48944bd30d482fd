"""The golden model's codes are numpy-version independent: every stage's output, byte for byte, equals
what numpy 1.26 computed (committed in tests/golden/expected_codes/, written by its make_expected.py on
the primary stack), on whichever numpy this stack has (1.26, or 2.x on the Keras 3 stack). NumPy 2
changed scalar promotion (NEP 50: a Python int no longer widens an array's dtype by its value); a code
path that relied on the old rule would change a dtype, wrap where it did not, or round otherwise, and one
of these digests would differ."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hlsgen.spec import HardwareSpec

HERE = Path(__file__).resolve().parent / "expected_codes"
CASES = sorted(p.name for p in HERE.iterdir() if (p / "expected.json").exists())


def _maker():
    spec = importlib.util.spec_from_file_location("make_expected", HERE / "make_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_case_is_there_and_numpy_126s():
    assert set(CASES) == {"reference", "modes_valid_stable", "modes_same_latency", "wide_argmax"}, CASES
    for case in CASES:
        assert json.loads((HERE / case / "expected.json").read_text())["numpy"].startswith("1.26."), case


@pytest.mark.parametrize("case", CASES)
def test_golden_codes_are_numpy_126s_byte_for_byte(case):
    make = _maker()
    spec = HardwareSpec.load(HERE / case)
    if case == "reference":
        from specs import SHARED
        if not (SHARED / "data" / "mnist" / "mnist-10k.npz").exists():
            pytest.skip(f"needs {SHARED}/data/mnist/mnist-10k.npz (the reference case's 10,000 test images)")
    expected = json.loads((HERE / case / "expected.json").read_text())
    got = make.golden_codes(spec, make.inputs_of(HERE / case, spec))
    assert got["images"] == expected["images"]
    # the first images' outputs in full first: a readable difference
    assert got["first_outputs"] == expected["first_outputs"], f"{case}: output codes differ on numpy {np.__version__}"
    for name, want in expected["stages"].items():
        assert got["stages"][name] == want, f"{case}: stage {name} on numpy {np.__version__}"
    assert list(got["stages"]) == list(expected["stages"])


def test_a_changed_code_or_dtype_changes_the_digest():
    """The comparison sees a one-LSB change and a dtype change of the same values."""
    make = _maker()
    spec = HardwareSpec.load(HERE / "modes_valid_stable")
    codes = make.inputs_of(HERE / "modes_valid_stable", spec)
    a = make.golden.run(spec, codes).output
    b = a.copy()
    b.flat[5] += 1
    assert make.digest(a) != make.digest(b)
    assert make.digest(a) != make.digest(a.astype(np.int64))
