"""End to end: hlsgen build -> make csim (g++) bit-exact, a changed weight caught and named,
deterministic output, output safety, and the Vitis targets with a fake vitis_hls on PATH.

Slow: trains 1 epoch on 2,000 images and simulates 40 test images per build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from specs import SHARED, flip_observable_weight, mnist_subset

from hlsgen.config import quote_types

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 40

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None, reason="needs g++ and make"),
]


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    return mnist_subset(tmp_path_factory.mktemp("data") / "mnist-small.npz", 2000, 500)


def write_config(directory: Path, data: Path, pool: str = "MaxPooling2D", **hls) -> Path:
    raw = yaml.safe_load(quote_types((ROOT / "configs" / "mnist.yaml").read_text()))
    raw["model"]["layers"][1]["type"] = pool
    raw["data"]["path"] = str(data)
    raw["train"]["epochs"] = 1
    raw["hls"].update(hls)
    path = directory / f"cfg_{pool}_{'_'.join(map(str, hls.values())) or 'default'}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def hlsgen(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


def make(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def stream_project(tmp_path_factory, small_data) -> Path:
    work = tmp_path_factory.mktemp("build")
    cfg = write_config(work, small_data, io_type="io_stream")
    res = hlsgen("build", str(cfg), "--output", "prj", "--images", str(N_IMAGES), cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    return work / "prj"


def test_stream_csim_is_bit_exact(stream_project):
    res = make(stream_project, "csim", "HLS_TOOL=gxx")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"csim: {N_IMAGES}/{N_IMAGES} images bit-exact" in res.stdout
    assert "g++" in res.stdout and "Vitis HLS not used" in res.stdout
    got = np.loadtxt(stream_project / "tb_data" / "csim_output.txt", dtype=np.int64)
    want = np.loadtxt(stream_project / "tb_data" / "expected.txt", dtype=np.int64)
    np.testing.assert_array_equal(got, want)
    assert re.search(r"compare: accuracy csim (\S+), golden \1", res.stdout), res.stdout


def build_and_csim(work: Path, cfg: Path, images: int) -> None:
    """hlsgen build into work/prj_<config>, then make csim with g++: every image must be bit-exact."""
    project = work / f"prj_{cfg.stem}"
    res = hlsgen("build", str(cfg), "--output", str(project), "--images", str(images), cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    res = make(project, "csim", "HLS_TOOL=gxx")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert f"csim: {images}/{images} images bit-exact" in res.stdout


def test_parallel_latency_csim_is_bit_exact(tmp_path, small_data):
    build_and_csim(tmp_path, write_config(tmp_path, small_data, io_type="io_parallel", strategy="Latency"), 10)


def test_average_pooling_and_argmax_csim_is_bit_exact(tmp_path, small_data):
    """Average pooling, and the argmax softmax: it reads no table, but hls4ml compiles every implementation's
    code, so the firmware must hold tables for it too (it did not compile once)."""
    cfg = write_config(tmp_path, small_data, pool="AveragePooling2D", io_type="io_stream")
    raw = yaml.safe_load(quote_types(cfg.read_text()))
    raw["hls"]["softmax"] = "argmax"
    cfg.write_text(yaml.safe_dump(raw))
    build_and_csim(tmp_path, cfg, 20)


def test_other_input_type_and_narrow_accumulator_csim_is_bit_exact(tmp_path, small_data):
    """Input codes are the pixels cast to the input type (here 1/64 steps, rounded), not the raw bytes;
    an accumulator narrower than the products rounds each product and wraps, in hls4ml as in the golden
    model (what an hls4ml model precision of ap_fixed<8,I> does to every layer)."""
    cfg = write_config(tmp_path, small_data, io_type="io_stream")
    raw = yaml.safe_load(quote_types(cfg.read_text()))
    raw["precision"]["input"] = "ap_ufixed<8,2,AP_RND_CONV,AP_SAT>"
    raw["precision"]["layers"]["fc1"]["accum"] = "ap_fixed<12,5>"
    cfg = cfg.with_name("cfg_input_accum.yaml")
    cfg.write_text(yaml.safe_dump(raw))
    build_and_csim(tmp_path, cfg, 10)
    inputs = np.loadtxt(tmp_path / "prj_cfg_input_accum" / "tb_data" / "inputs.txt", dtype=np.int64)
    with np.load(small_data) as npz:
        pixels = npz["x_test"][:10].reshape(10, -1).astype(np.int64)
    np.testing.assert_array_equal(inputs, np.rint(pixels / 4))  # value p/256 in 1/64 steps: p/4, ties to even


def test_batchnorm_and_standalone_activations_csim_is_bit_exact(tmp_path, small_data):
    """BatchNormalization folded into the convolution (rounded again after QAT), a standalone ReLU and a
    standalone linear activation (each its own hls4ml layer and cast): hardware = golden model."""
    cfg = write_config(tmp_path, small_data, io_type="io_parallel", strategy="Latency")
    raw = yaml.safe_load(quote_types(cfg.read_text()))
    raw["model"]["layers"] = [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "linear"},
        {"type": "BatchNormalization", "name": "bn1"},
        {"type": "Activation", "name": "relu1", "activation": "relu"},
        {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc1", "units": 16, "activation": "linear"},
        {"type": "Activation", "name": "lin1", "activation": "linear"},
        {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"},
    ]
    raw["precision"]["layers"] = {"relu1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                                  "lin1": {"result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"},
                                  "fc2": {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>",
                                          "result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"}}
    raw["hls"]["reuse_factor"] = {"default": 1}
    cfg = cfg.with_name("cfg_bn_act.yaml")
    cfg.write_text(yaml.safe_dump(raw))
    build_and_csim(tmp_path, cfg, 10)


def test_changed_weight_fails_and_names_the_layer(stream_project, tmp_path):
    project = tmp_path / "broken"
    shutil.copytree(stream_project, project, ignore=shutil.ignore_patterns("build"))
    flip_observable_weight(project, "fc2", 5)  # one LSB of an fc2 weight, in the file C simulation reads
    res = make(project, "csim", "HLS_TOOL=gxx", "N=5", "TRACE=1")
    assert res.returncode != 0
    # the firmware is checked against the spec before the trace is: the file and the layer are named
    assert "values differ from the spec's fc2 weight codes" in res.stderr, res.stdout[-3000:] + res.stderr[-3000:]


def _digests(project: Path) -> dict[str, str]:
    skip = {"build", "train"}
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(project.rglob("*")) if p.is_file() and not skip & set(p.relative_to(project).parts)
            and not p.name.startswith("csim_") and p.name != "compare.json"}


def test_rebuild_is_byte_identical(stream_project, small_data):
    work = stream_project.parent
    before = _digests(stream_project)
    cfg = write_config(work, small_data, io_type="io_stream")
    res = hlsgen("build", str(cfg), "--output", "prj", "--images", str(N_IMAGES), cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "reusing the trained model" in res.stdout
    after = _digests(stream_project)
    assert before == after, sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def test_other_data_at_the_same_path_trains_again(stream_project, small_data, tmp_path):
    """Audit (issue 26, defect 5): HLSGEN_DATA pointing at a file whose labels were all shifted by one reused
    the cached training ("reusing the trained model"), and the next csim reported accuracy 0.0000."""
    project = tmp_path / "prj"
    shutil.copytree(stream_project, project)
    shifted = tmp_path / "mnist-small.npz"
    with np.load(small_data) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["y_train"] = (arrays["y_train"] + 1) % 10
    np.savez(shifted, **arrays)
    cfg = write_config(tmp_path, shifted, io_type="io_stream")
    res = hlsgen("build", str(cfg), "--output", "prj", "--images", str(N_IMAGES), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "reusing the trained model" not in res.stdout
    metrics = json.loads((project / "train" / "metrics.json").read_text())
    assert metrics["data"] == str(shifted)
    before = json.loads((stream_project / "train" / "metrics.json").read_text())
    assert metrics["data_digest"] != before["data_digest"]


def test_build_refuses_foreign_directory(tmp_path, small_data):
    cfg = write_config(tmp_path, small_data)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    res = hlsgen("build", str(cfg), "--output", "mine", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == ("hlsgen: error: mine: directory exists and was not created by hlsgen; "
                                  "refusing to replace it (use --force, or another output path)")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_build_refuses_known_hls4ml_bug_before_training(tmp_path, small_data):
    cfg = write_config(tmp_path, small_data, io_type="io_parallel", strategy="Resource",
                       reuse_factor={"default": 64, "conv1": 18, "fc1": 338})
    res = hlsgen("build", str(cfg), "--output", "prj", cwd=tmp_path)
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("hlsgen: error: ") and "conv1" in last and "#817" in last, last
    assert not (tmp_path / "prj").exists()


def test_synth_without_vitis_exits_3(stream_project):
    env = {"PATH": "/usr/bin:/bin"}
    res = make(stream_project, "synth", env=env)
    assert res.returncode != 0
    assert "Vitis HLS not found (neither vitis_hls nor vitis-run is on PATH)" in res.stderr
    assert "copy this directory as-is" in res.stderr
    # make reports any failed recipe as 2; `hlsgen synth` gives the documented 3
    res = hlsgen("synth", str(stream_project), cwd=stream_project, env=env)
    assert res.returncode == 3
    assert res.stderr.strip().startswith("hlsgen: error: Vitis HLS not found")


FAKE_VITIS = """#!/bin/sh
echo "$0 $*" >> "$FAKE_LOG"
cat build_opt.tcl >> "$FAKE_LOG"
mkdir -p mnist_cnn_prj/solution1/syn/report
cp "$FAKE_REPORT" mnist_cnn_prj/solution1/syn/report/mnist_cnn_csynth.xml
"""


@pytest.mark.parametrize("tool", ["vitis_hls", "vitis-run"])
def test_synth_with_fake_vitis(stream_project, tmp_path, tool):
    reports = sorted((SHARED / "reports").glob("*.xml"))
    if not reports:
        pytest.skip("no shared reports")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / tool
    fake.write_text(FAKE_VITIS)
    fake.chmod(0o755)
    log = tmp_path / "log.txt"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_LOG": str(log), "FAKE_REPORT": str(reports[-1])}
    project = tmp_path / "prj"
    shutil.copytree(stream_project, project, ignore=shutil.ignore_patterns("build"))
    res = make(project, "synth", env=env)
    assert res.returncode == 0, res.stderr
    text = log.read_text()
    expected = "vitis_hls -f build_prj.tcl" if tool == "vitis_hls" else "vitis-run --mode hls --tcl build_prj.tcl"
    assert text.splitlines()[0].endswith(expected)
    assert "synth 1" in text and "csim 0" in text and "cosim 0" in text
    assert (project / "mnist_cnn_prj/solution1/syn/report/mnist_cnn_csynth.xml").exists()
    assert "resource" in res.stdout and "BRAM_18K" in res.stdout  # hlsgen report's summary after synth


def test_estimate_and_report_cli(tmp_path):
    res = hlsgen("estimate", str(ROOT / "configs" / "mnist.yaml"), "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr

    est = json.loads(res.stdout)
    assert est["part"] == "xc7z020clg400-1" and not est["problems"]
    reports = sorted((SHARED / "reports").glob("*.xml"))
    if reports:
        res = hlsgen("report", str(reports[0]), "--json", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert set(json.loads(res.stdout)) >= {"tool_version", "part", "top", "clock_target_ns", "dsp", "available"}
    res = hlsgen("report", str(tmp_path / "none.xml"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.startswith("hlsgen: error: ") and "Traceback" not in res.stderr
