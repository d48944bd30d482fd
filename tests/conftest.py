"""Shared test data (the reference config as a dict, the shared folder) and CI's no-skip rule.

``HLSGEN_REQUIRE_ALL=1`` (set by ``.ci/run``): a test that skips -- a missing g++, a missing
``../shared`` data file or report folder, a missing package -- fails instead, naming why it skipped,
so CI cannot pass on a run that left part of the suite out. Expected failures (xfail) are untouched.
"""

import os
from pathlib import Path

import pytest

# TensorFlow's C++ start-up chatter, as the hlsgen command silences it (hlsgen.cli.main)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

pytest_plugins = ["pytester"]  # tests/golden/test_require_all.py runs pytest on small test files

REQUIRE_ALL = "HLSGEN_REQUIRE_ALL"

# The folder beside the repository that holds data/ and reports/ ($HLSGEN_SHARED for a copy elsewhere)
SHARED = Path(os.environ.get("HLSGEN_SHARED") or Path(__file__).resolve().parents[2] / "shared")

# configs/mnist.yaml, as a dict (these tests do not depend on that file's formatting)
REFERENCE = {
    "name": "mnist_cnn", "seed": 1, "data": {"dataset": "mnist", "path": None},
    "model": {"input_shape": [28, 28, 1], "layers": [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc1", "units": 128, "activation": "relu"},
        {"type": "Dropout", "name": "drop1", "rate": 0.5},
        {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"}]},
    "train": {"epochs": 12, "batch_size": 128, "optimizer": "adadelta", "learning_rate": 1.0},
    "precision": {
        "input": "ap_ufixed<8,0>",
        "default": {"weight": "ap_fixed<8,1>", "bias": "ap_fixed<8,1>",
                    "result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"},
        "layers": {"conv1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc2": {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>",
                           "result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"}},
        "softmax": {"result": "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"}},
    "hls": {"softmax": "stable", "reuse_factor": {"default": 64}},
    "output_dir": "build/mnist_cnn",
}


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
