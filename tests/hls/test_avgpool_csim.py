"""End to end: a 3x3 AveragePooling2D after a linear (signed) Conv2D, built with ``hlsgen build`` and
simulated with ``make csim`` (g++): hls4ml's C++ divides negative window sums by 9, truncating toward
zero, and every image must come out bit-exact against the golden model.

The pool's result keeps all of its accumulator's fraction bits, so every negative window sum that 9
does not divide shows in the output (a floor or a rounding division would change those codes); the
test checks that the simulated images hold many such windows.

Slow: trains 1 epoch on 1,000 images and simulates 20 test images per io type.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from specs import REFERENCE, mnist_subset

from hlsgen import golden
from hlsgen.spec import HardwareSpec

ROOT = Path(__file__).resolve().parents[2]
N_IMAGES = 20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None, reason="needs g++ and make"),
]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    return mnist_subset(tmp_path_factory.mktemp("data") / "mnist-avg.npz", 1000, 100)


def avgpool_config(directory: Path, data: Path, io_type: str) -> Path:
    raw = copy.deepcopy(REFERENCE)
    raw["name"] = "avg3"
    raw["data"]["path"] = str(data)
    raw["model"]["layers"] = [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "linear"},
        {"type": "AveragePooling2D", "name": "pool1", "pool_size": 3},          # 26x26 -> 8x8, stride 3
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc1", "units": 16, "activation": "relu"},
        {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"}]
    raw["train"]["epochs"] = 1
    raw["precision"]["layers"] = {
        # signed: the linear convolution's outputs (and so the window sums) are negative as often as not
        "conv1": {"result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"},
        # the derived accumulator has 5 + 4 fraction bits (a 9-cell window): the result keeps all 9
        "pool1": {"result": "ap_fixed<13,4,AP_RND_CONV,AP_SAT>"},
        "fc1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
        "fc2": {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>", "result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"}}
    raw["hls"].update({"io_type": io_type, "strategy": "Latency", "reuse_factor": {"default": 1}})
    path = directory / f"avg3_{io_type}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("io_type", ["io_stream", "io_parallel"])
def test_avgpool_3x3_over_negative_sums_csim_is_bit_exact(tmp_path, small_data, io_type):
    cfg = avgpool_config(tmp_path, small_data, io_type)
    project = tmp_path / "prj"
    res = run([sys.executable, "-m", "hlsgen.cli", "build", str(cfg), "--output", str(project),
               "--images", str(N_IMAGES)], cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]

    res = run(["make", "--no-print-directory", "-C", str(project), "csim", "HLS_TOOL=gxx"], cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"csim: {N_IMAGES}/{N_IMAGES} images bit-exact" in res.stdout, res.stdout[-3000:]
    got = np.loadtxt(project / "tb_data" / "csim_output.txt", dtype=np.int64)
    want = np.loadtxt(project / "tb_data" / "expected.txt", dtype=np.int64)
    np.testing.assert_array_equal(got, want)

    # the evidence is worth something: window sums that are negative and not multiples of 9
    spec = HardwareSpec.load(project)
    pool = spec.stage("pool1")
    assert pool.accum_t.frac == pool.result_t.frac == pool.input_t.frac + 4
    inputs = np.loadtxt(project / "tb_data" / "inputs.txt", dtype=np.int64).reshape(N_IMAGES, *spec.input_shape)
    trace = golden.run(spec, inputs).trace
    conv = trace[spec.stages[spec.stages.index(pool) - 1].name].astype(np.int64)  # the pool's input
    sums = conv[:, :24, :24].reshape(N_IMAGES, 8, 3, 8, 3, -1).sum(axis=(2, 4))
    inexact_negative = (sums < 0) & (sums % 9 != 0)
    assert np.count_nonzero(inexact_negative) > 100, np.count_nonzero(inexact_negative)
    # ... and there the golden model truncates toward zero (floor would be one accumulator LSB lower)
    acc = sums * 16
    np.testing.assert_array_equal(trace["pool1"], np.sign(acc) * (np.abs(acc) // 9))
