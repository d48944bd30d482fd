"""The generated project under (fake) Vitis HLS (issue 14): both flows, the step order, cosim's verdict,
versions, GUI guidance and the softmax tables.

No Vitis HLS here: ``tests/hls/fake_tools`` holds a fake ``vitis_hls`` / ``vitis-run`` / ``v++`` (see its
``fakevitis.py``). Their C simulation compiles only what the config lists, with the config's flags, against
hls4ml's ap_types as the tool's own headers, in a fresh ``csim/build`` holding copies of the ``tb.file``
entries only; the Tcl flow is hls4ml's real ``build_prj.tcl`` under ``tclsh`` with stubbed Vitis commands.
What these tests cannot show: that real Vitis HLS behaves as the fakes do (see the README).

Slow: trains 1 epoch on 2,000 images; the project has 120 test images (cosim's default is 100).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from specs import build_small_project

from hlsgen.golden.softmax import exp_table, invert_table
from hlsgen.hls.tables import read_header_values
from hlsgen.spec import HardwareSpec

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fake_tools"
IMAGES = 120
TOP = "mnist_cnn"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("g++", "make", "tclsh")),
                       reason="needs g++, make and tclsh"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A 120-image io_stream project (never simulated here)."""
    work = tmp_path_factory.mktemp("vitis")
    build_small_project(work, IMAGES)
    return work / "prj"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("objects")  # the fakes' object files, shared by every copy


def tools_dir(tmp_path: Path, tools=("vitis_hls", "vitis-run", "v++"), version: str = "2023.2") -> Path:
    """The fakes where an installation keeps its tools: the version is read from that path."""
    bindir = tmp_path / "Xilinx" / "Vitis" / version / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        (bindir / tool).symlink_to(FAKES / tool)
    return bindir


class Project:
    """A copy of the built project with the fake tools on PATH; ``make`` runs a target there."""

    def __init__(self, built: Path, tmp_path: Path, cache: Path, tools=("vitis_hls", "vitis-run", "v++"),
                 version: str = "2023.2", **env):
        self.path = tmp_path / "prj"
        shutil.copytree(built, self.path)
        self.log = tmp_path / "fake_vitis.log"
        path = f"{tools_dir(tmp_path, tools, version)}:{Path(sys.executable).parent}:/usr/bin:/bin"
        self.env = {**os.environ, "PATH": path, "HLS_TOOL": "auto", "FAKE_VITIS_LOG": str(self.log),
                    "FAKE_VITIS_CACHE": str(cache), "FAKE_VITIS_VERSION": version, **env}
        for var in ("XILINX_HLS", "XILINX_VITIS"):
            self.env.pop(var, None)

    def make(self, target: str, *args: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", "-C", str(self.path), target, *args],
                              capture_output=True, text=True, timeout=900, env={**self.env, **env})

    def steps(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def ok(res: subprocess.CompletedProcess) -> str:
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


# ------------------------------------------------------------------------------------------ the two flows

def test_unified_csim_runs_from_the_copied_folder(built, tmp_path, cache):
    prj = Project(built, tmp_path, cache)
    out = ok(prj.make("csim", "HLS_FLOW=cfg", "N=7"))
    assert "csim: 7/7 images bit-exact" in out and "compare: 7/7 images bit-exact with the golden model" in out
    assert "Vitis HLS 2023.2 (vitis-run" in out  # the version, printed first
    build = prj.path / f"{TOP}_comp" / "hls" / "csim" / "build"
    assert sorted(p.name for p in build.iterdir()) == ["csim.exe", f"{TOP}_test.cpp", "tb_data", "weights"]
    assert (build / "tb_data" / "csim_output.txt").read_text().startswith("# hlsgen csim run=")
    assert any("cfg csim" in line for line in prj.steps())


def test_unified_csim_needs_the_weights_as_tb_file(built, tmp_path, cache):
    """Defect 1: without tb.file=firmware/weights the firmware cannot read weights/*.txt in csim/build."""
    prj = Project(built, tmp_path, cache)
    cfg = prj.path / "hls_config.cfg"
    cfg.write_text(cfg.read_text().replace("tb.file=firmware/weights\n", ""))
    res = prj.make("csim", "HLS_FLOW=cfg", "N=2")
    assert res.returncode != 0 and "ERROR: file weights/w2.txt does not exist" in res.stderr, res.stderr[-3000:]


@pytest.mark.parametrize("flow", ["cfg", "tcl"])
def test_vitis_never_gets_the_bundled_ap_types(built, tmp_path, cache, flow):
    """Defect 2: the fakes refuse -I...ap_types; the generated files carry none, the g++ rule does."""
    prj = Project(built, tmp_path, cache)
    for name in ("hls_config.cfg", "build_prj.tcl"):
        settings = [line for line in (prj.path / name).read_text().splitlines() if not line.startswith("#")]
        assert not any("ap_types" in line for line in settings), name
    assert "-Ifirmware/ap_types" in (prj.path / "Makefile").read_text()  # g++ csim only
    cfg = prj.path / "hls_config.cfg"
    cfg.write_text(cfg.read_text().replace(f"{TOP}.cpp,-std=c++0x", f"{TOP}.cpp,-std=c++0x -Ifirmware/ap_types"))
    tcl = prj.path / "build_prj.tcl"
    flags = '.cpp -cflags "-std=c++0x'
    tcl.write_text(tcl.read_text().replace(flags + '"', flags + ' -Ifirmware/ap_types"'))
    res = prj.make("csim", f"HLS_FLOW={flow}", "N=2")
    assert res.returncode != 0 and "refusing '-Ifirmware/ap_types'" in res.stderr, res.stderr[-3000:]


@pytest.mark.parametrize("flow", ["tcl", "cfg"])
def test_synth_csim_cosim_export_keeps_the_synthesis(built, tmp_path, cache, flow):
    """Defect 3: no step after synthesis resets the project; the order synth -> csim -> cosim -> export works."""
    prj = Project(built, tmp_path, cache)
    out = ok(prj.make("synth", f"HLS_FLOW={flow}"))
    assert "tool      Vitis HLS 2023.2" in out  # hlsgen report read the (fake) csynth.xml
    sol = prj.path / (f"{TOP}_prj/solution1" if flow == "tcl" else f"{TOP}_comp/hls")
    csynth = sol / "syn" / "report" / "csynth.xml"
    assert csynth.exists()
    out = ok(prj.make("csim", f"HLS_FLOW={flow}", "N=4"))
    assert "csim: 4/4 images bit-exact" in out and csynth.exists()
    out = ok(prj.make("cosim", f"HLS_FLOW={flow}", "N=5"))
    assert "cosim: 5/5 images bit-exact" in out and "compare: 5/5 images bit-exact" in out and csynth.exists()
    ok(prj.make("export", f"HLS_FLOW={flow}"))
    assert csynth.exists() and (sol / "impl" / "ip" / "component.xml").exists()
    steps = prj.steps()
    if flow == "tcl":
        opens = [s for s in steps if s.startswith(("open_project", "open_solution"))]
        assert opens[:2] == [f"open_project reset=1 {TOP}_prj", "open_solution reset=1 solution1"]  # no project yet
        assert all("reset=0" in s for s in opens[2:]) and len(opens) == 8, opens
        assert [s.split()[0] for s in steps if s.endswith("_design") or "_design " in s] == \
            ["csynth_design", "csim_design", "cosim_design", "export_design"]
        assert "cosim_setup tb_flags=['-std=c++0x -DRTL_SIM']" in steps  # hls4ml's cosim define
    else:
        assert [s.split()[3] for s in steps if " cfg " in s] == ["synth", "csim", "cosim", "package"]


def test_cosim_without_n_simulates_the_small_default(built, tmp_path, cache):
    """Defect 5: cosim's own default (100 images here, not the project's 120); N reaches both flows alike."""
    prj = Project(built, tmp_path, cache)
    assert "cosim.argv=--rtl 100" in (prj.path / "hls_config.cfg").read_text()
    assert "csim.argv=0" in (prj.path / "hls_config.cfg").read_text()
    ok(prj.make("synth"))
    out = ok(prj.make("cosim"))
    assert "cosim: 100/100 images bit-exact" in out and "compare: 100/100 images bit-exact" in out
    summary = json.loads((prj.path / "tb_data" / "compare.json").read_text())
    assert summary["simulation"] == "cosim" and summary["images"] == 100
    assert summary["output"] == f"{TOP}_prj/solution1/sim/wrapc_pc/tb_data/cosim_output.txt"


# ------------------------------------------------------------------------------------------- cosim verdict

def test_cosim_fails_unless_the_report_says_pass_and_every_image_matched(built, tmp_path, cache):
    """Defect 6: exit 1 from the recipe (make itself reports 2) on a Fail report, on fewer images than
    asked, and without synthesis; hlsgen compare judges the cosim output as it judges csim's."""
    prj = Project(built, tmp_path, cache)
    res = prj.make("cosim", "N=3")
    assert res.returncode != 0 and "no synthesis results" in res.stderr, res.stderr[-3000:]
    ok(prj.make("synth"))
    res = prj.make("cosim", "N=3", FAKE_COSIM_STATUS="Fail")
    assert res.returncode != 0 and "does not say Pass (RTL status: NA Fail)" in res.stderr, res.stderr[-3000:]
    res = prj.make("cosim", "N=5", FAKE_COSIM_IMAGES="3")
    assert res.returncode != 0 and "not this run's co-simulation of 5 images" in res.stderr, res.stderr[-3000:]
    assert "compare:" not in res.stdout
    ok(prj.make("cosim", "N=6"))
    compare = [sys.executable, "-m", "hlsgen.cli", "compare", str(prj.path)]
    res = subprocess.run(compare, capture_output=True, text=True)
    assert res.returncode == 0 and "6/6 images bit-exact with the golden model (C/RTL co-simulation" in res.stdout
    out = prj.path / f"{TOP}_prj/solution1/sim/wrapc_pc/tb_data/cosim_output.txt"
    lines = out.read_text().splitlines(keepends=True)
    codes = lines[2].split()
    lines[2] = " ".join([str(int(codes[0]) ^ 1), *codes[1:]]) + "\n"
    out.write_text("".join(lines))
    res = subprocess.run(compare, capture_output=True, text=True)
    assert res.returncode == 1 and "1 of 6 images differ from the golden model, first: image 1" in res.stderr
    out.write_text("".join(lines[:-1]))  # no end marker: the run stopped early
    res = subprocess.run(compare, capture_output=True, text=True)
    assert res.returncode == 2 and "incomplete" in res.stderr and "run 'make cosim' again" in res.stderr
    out.write_text("".join(lines).replace("# hlsgen cosim", "# hlsgen csim"))
    res = subprocess.run(compare, capture_output=True, text=True)
    assert res.returncode == 2 and "a csim output in a cosim output file" in res.stderr


# ------------------------------------------------------------------------------------ versions and the GUI

def test_the_version_is_printed_and_an_old_one_warned_about(built, tmp_path, cache):
    """Defect 4."""
    prj = Project(built, tmp_path, cache, version="2021.2")
    out = ok(prj.make("synth"))
    assert "synth: Vitis HLS 2021.2 (vitis_hls:" in out
    assert "warning: Vitis HLS 2021.2 is older than 2022.2" in out
    path = f"{FAKES}:{Path(sys.executable).parent}:/usr/bin:/bin"  # a path without a version in it
    out = ok(prj.make("synth", XILINX_HLS="/opt/Xilinx/Vitis_HLS/2022.2", PATH=path))
    assert "synth: Vitis HLS 2022.2 (vitis_hls:" in out and "warning" not in out  # from $XILINX_HLS


def test_without_vitis_the_message_names_2022_2(built, tmp_path, cache):
    prj = Project(built, tmp_path, cache, tools=())
    res = prj.make("synth")
    assert res.returncode != 0 and "install Vitis HLS 2022.2 or newer" in res.stderr, res.stderr
    assert "2020.2" not in res.stderr


@pytest.mark.parametrize("tools, version, classic, unified", [
    (("vitis_hls",), "2023.1", True, False),
    (("vitis_hls", "vitis-run", "v++"), "2023.2", True, True),
    (("vitis_hls", "vitis-run", "v++"), "2024.1", False, True),
    (("vitis-run", "v++"), "2024.2", False, True),
])
def test_make_project_prints_the_gui_of_the_tool_found(built, tmp_path, cache, tools, version, classic, unified):
    """Defect 7: the classic vitis_hls GUI up to 2023.2, the Unified IDE where vitis-run is (2023.2 on)."""
    prj = Project(built, tmp_path, cache, tools=tools, version=version)
    ok(prj.make("synth"))
    out = ok(prj.make("project"))
    assert (f"vitis_hls -p {TOP}_prj" in out) == classic, out
    assert ("vitis -w " in out and "Use existing config file" in out) == unified, out
    assert (prj.path / f"{TOP}_prj/solution1/syn/report/csynth.xml").exists()  # `make project` reset nothing


# ------------------------------------------------------------------------------------------- cfg parity

def test_cfg_has_the_settings_of_the_tcl_flow(built):
    """Defect 8 (hls4ml's build_prj.tcl: config_compile -name_max_length 80, -enable_dsp_full_reg=false)."""
    cfg = (built / "hls_config.cfg").read_text().splitlines()
    for line in ("clock=10ns", "clock_uncertainty=27%", "syn.compile.name_max_length=80",
                 "syn.schedule.enable_dsp_full_reg=0", "tb.file=firmware/weights", "tb.file=tb_data",
                 f"tb.file={TOP}_test.cpp", "package.output.format=ip_catalog"):
        assert line in cfg, line
    tcl = (built / "project.tcl").read_text()
    assert "set clock_period 10" in tcl and "set clock_uncertainty 27%" in tcl


# ----------------------------------------------------------------------------------------- softmax tables

def test_softmax_tables_are_the_golden_models(built):
    """Defect 9: firmware/hlsgen_tables.h holds exactly the golden model's tables, and hls4ml's
    initialisers read them instead of std::exp."""
    spec = HardwareSpec.load(built)
    stage = next(s for s in spec.stages if s.kind == "softmax")
    p = stage.params
    tables = read_header_values(built / "firmware" / "hlsgen_tables.h")
    (exp_key,) = [k for k in tables if k.endswith("::exp_table")]
    (inv_key,) = [k for k in tables if k.endswith("::invert_table")]
    np.testing.assert_array_equal(np.array(tables[exp_key]) * 2.0 ** p.exp_table_t.frac,
                                  exp_table(p.inp_norm_t, p.exp_table_size, p.exp_table_t, True))
    np.testing.assert_array_equal(np.array(tables[inv_key]) * 2.0 ** p.inv_table_t.frac,
                                  invert_table(p.inv_inp_t, p.inv_table_size, p.inv_table_t))
    activation = (built / "firmware" / "nnet_utils" / "nnet_activation.h").read_text()
    assert "softmax_tables<CONFIG_T>::exp_table[i]" in activation
    assert "exp_fcn_float(x)" not in activation and "1 / x" not in activation
    assert '#include "hlsgen_tables.h"' in (built / "firmware" / "parameters.h").read_text()


@pytest.mark.parametrize("tool", ["gxx", "vitis"])
def test_a_changed_table_entry_fails_csim(built, tmp_path, cache, tool):
    """C simulation reads the header's constants: change one entry (exp(0), used by every image's
    largest input) and `make csim` fails with g++ and under the (fake) Vitis alike."""
    prj = Project(built, tmp_path, cache)
    header = prj.path / "firmware" / "hlsgen_tables.h"
    text = header.read_text()
    marker = "::exp_table[256] = {\n    1.0,"
    assert text.count(marker) == 1
    header.write_text(text.replace(marker, "::exp_table[256] = {\n    0.5,"))
    args = ["HLS_TOOL=gxx"] if tool == "gxx" else ["HLS_FLOW=cfg"]
    res = prj.make("csim", "N=10", *args)
    assert res.returncode != 0, res.stdout[-3000:]
    # the testbench sees the changed outputs; hlsgen compare names the file (the manifest seals every source)
    assert "csim: mismatch: image 0" in res.stdout
    assert "firmware/hlsgen_tables.h: changed since the build" in res.stderr, res.stderr
