"""CI's no-skip rule (shared test data: tests/specs.py, importable from any test folder).

``HLSGEN_REQUIRE_ALL=1`` (set by ``.ci/run``): a test that skips -- a missing g++, a missing
``../shared`` data file or report folder, a missing package -- fails instead, naming why it skipped,
so CI cannot pass on a run that left part of the suite out. Expected failures (xfail) are untouched.
"""

import os

import pytest

# TensorFlow's C++ start-up chatter, as the hlsgen command silences it (hlsgen.cli.main)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# `make test` runs pytest inside make: MAKELEVEL/MAKEFLAGS would make every `make` a test runs a sub-make
# ("make[1]: ...", the parent's flags and jobserver), unlike the user's shell the tests speak for
for _var in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
    os.environ.pop(_var, None)

pytest_plugins = ["pytester"]  # tests/golden/test_require_all.py runs pytest on small test files

REQUIRE_ALL = "HLSGEN_REQUIRE_ALL"


# ------------------------------------------------------------------------------ HLSGEN_REQUIRE_ALL

def _require_all() -> bool:
    return os.environ.get(REQUIRE_ALL, "").strip() not in ("", "0")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _fail_instead_of_skip(report, config) -> None:
    reason = _skip_reason(report)
    report.outcome = "failed"
    report.longrepr = f"skipped, and {REQUIRE_ALL}=1 forbids skips: {reason}"
    config.stash.setdefault(_FORBIDDEN_SKIPS, []).append((report.nodeid, reason))


_FORBIDDEN_SKIPS = pytest.StashKey[list]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _require_all() and report.skipped and not hasattr(report, "wasxfail"):
        _fail_instead_of_skip(report, item.config)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module that skips as a whole (``pytest.skip(..., allow_module_level=True)``): a collection error."""
    outcome = yield
    report = outcome.get_result()
    if _require_all() and report.skipped:
        _fail_instead_of_skip(report, collector.config)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skips = config.stash.get(_FORBIDDEN_SKIPS, [])
    if skips:
        terminalreporter.section(f"skips turned into failures ({REQUIRE_ALL}=1)", red=True)
        for nodeid, reason in skips:
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(f"{len(skips)} test(s) would have skipped; CI needs g++, make, hls4ml and the "
                              f"../shared data and reports (HLSGEN_DATA, HLSGEN_SHARED)")
