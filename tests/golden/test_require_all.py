"""tests/conftest.py's HLSGEN_REQUIRE_ALL: with it set, every kind of skip fails the run and says why;
without it, skips stay skips. Runs pytest (pytester, in a subprocess) on a small file, under a copy of
the conftest. (Kept here as a new file; the rule itself lives in tests/conftest.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SAMPLE = '''
import pytest

@pytest.fixture
def data():
    pytest.skip("no MNIST file (set HLSGEN_DATA)")

@pytest.mark.skipif(True, reason="needs g++ and make")
def test_marker():
    pass

def test_fixture(data):
    pass

def test_body():
    pytest.skip("no shared reports")

def test_import():
    pytest.importorskip("hlsgen_no_such_module_xyz")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False

def test_passes():
    pass
'''


@pytest.fixture
def sample(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_sample=SAMPLE)
    return pytester


@pytest.mark.parametrize("value", [None, "", "0"])
def test_skips_stay_skips_without_the_variable(sample, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("HLSGEN_REQUIRE_ALL", raising=False)
    else:
        monkeypatch.setenv("HLSGEN_REQUIRE_ALL", value)
    result = sample.runpytest_subprocess("-ra", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
    assert "turned into failures" not in result.stdout.str()


def test_require_all_turns_every_skip_into_a_failure_naming_why(sample, monkeypatch):
    monkeypatch.setenv("HLSGEN_REQUIRE_ALL", "1")
    result = sample.runpytest_subprocess("-ra", "-p", "no:cacheprovider")
    # a skip while setting up (marker, fixture) is reported as an error, one in the test body as a failure
    result.assert_outcomes(passed=1, skipped=0, failed=2, errors=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    for nodeid, reason in [("test_marker", "needs g++ and make"), ("test_fixture", "no MNIST file (set HLSGEN_DATA)"),
                           ("test_body", "no shared reports"), ("test_import", "hlsgen_no_such_module_xyz")]:
        # the short summary (-ra) and the closing section both name the test and the reason
        result.stdout.re_match_lines([rf"(ERROR|FAILED) test_sample.py::{nodeid} - .*HLSGEN_REQUIRE_ALL=1 .*"])
        assert any(line.startswith(f"test_sample.py::{nodeid}: ") and reason in line for line in out.splitlines()), (
            nodeid, out)
    assert "skips turned into failures (HLSGEN_REQUIRE_ALL=1)" in out
    assert "4 test(s) would have skipped" in out


def test_require_all_fails_a_module_level_skip(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_module='import pytest\npytest.skip("no g++", allow_module_level=True)\n'
                                     "def test_x():\n    pass\n")
    monkeypatch.setenv("HLSGEN_REQUIRE_ALL", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    assert "HLSGEN_REQUIRE_ALL=1 forbids skips: no g++" in result.stdout.str()
    monkeypatch.delenv("HLSGEN_REQUIRE_ALL")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
