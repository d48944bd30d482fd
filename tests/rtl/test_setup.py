"""`make setup` on a machine without perl (issue 26, "poor"): tools/setup-rtl.sh finished with a Python
traceback from its Verilator warm-up. The core set-up must finish (exit 0, a line saying what is missing),
and `hlsgen rtl` then says perl is missing, exit 3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def no_perl(tmp_path) -> dict[str, str]:
    """A PATH holding every tool setup-rtl.sh and Verilator use, but not perl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "dirname", "cat", "env", "make", "g++"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return {**os.environ, "PATH": str(bin_dir)}


@pytest.mark.slow
def test_setup_rtl_finishes_without_perl(no_perl, rtl_tools):
    venv = Path(sys.executable).parent.parent
    res = subprocess.run(["bash", str(ROOT / "tools" / "setup-rtl.sh"), str(venv)], cwd=ROOT, env=no_perl,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert res.stderr.count("setup-rtl: warning:") == 1 and "setup-rtl: warning: 'perl' not found" in res.stderr
    assert "Verilator not usable yet: rtl: 'perl' is not installed (Verilator needs it)" in res.stdout


def test_hlsgen_rtl_without_perl_exits_3(no_perl, rtl_tools, tmp_path):
    from test_rtl import tiny_spec, write_project

    project = write_project(tmp_path / "p", tiny_spec(), images=5)
    res = subprocess.run([sys.executable, "-m", "hlsgen.cli", "rtl", str(project)], env=no_perl,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 3, res.stderr
    assert res.stderr == "hlsgen: error: rtl: 'perl' is not installed (Verilator needs it)\n"


def test_hlsgen_rtl_with_only_python3_on_path_is_bit_exact(rtl_tools, tmp_path):
    """A machine with ``python3`` but no ``python`` (Debian without python-is-python3), hlsgen run from an
    unactivated venv: Verilator's makefiles run ``python`` for their helper scripts and every build failed
    ("Verilator build failed"); the venv's own bin now comes first where PATH has no ``python``."""
    from rtlkit import write_project
    from test_shapes import valid_spec

    from hlsgen.rtl import tools

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):  # every tool of this PATH but the pythons
        for tool in Path(directory).glob("*") if Path(directory).is_dir() else ():
            if not tool.name.startswith("python") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    (bin_dir / "python3").symlink_to(sys.executable)
    assert shutil.which("python", path=str(bin_dir)) is None
    env = {**os.environ, "PATH": str(bin_dir)}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", env)
        assert shutil.which("python", path=tools.verilator_env.__wrapped__()["PATH"]) is not None
    project = write_project(tmp_path / "p", valid_spec(), images=5)  # its build runs Verilator's includer
    res = subprocess.run([sys.executable, "-m", "hlsgen.cli", "rtl", str(project)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rtl: 5/5 images bit-exact" in res.stdout, res.stdout
