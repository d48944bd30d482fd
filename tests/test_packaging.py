"""A wheel built from the repo, installed without ``-e`` into a fresh venv, builds a project and passes
``make csim``: the templates travel as package data, nothing is read from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ("Makefile", "hls_config.cfg", "testbench.cpp", "vitis.sh")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=300)
    (found,) = out.glob("hlsgen-*.whl")
    return found


def test_wheel_carries_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in TEMPLATES:
        assert f"hlsgen/hls/templates/{name}" in names, sorted(n for n in names if "templates" in n)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


@pytest.mark.slow
def test_installed_wheel_builds_and_passes_csim(wheel, tmp_path):
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("needs g++ and make")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    # the dependencies come from this environment's site-packages; a path added by a .pth line is not
    # scanned for .pth files, so the editable install of the source tree does not come along
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    where = subprocess.run([str(py), "-c", "import hlsgen; print(hlsgen.__file__)"], capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(site), where  # the wheel's copy, not the source tree

    cfg = (ROOT / "configs" / "mnist.yaml").read_text().replace("output_dir: build/mnist_cnn", "output_dir: prj")
    (tmp_path / "cfg.yaml").write_text(cfg)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    build = subprocess.run([str(venv / "bin" / "hlsgen"), "build", "cfg.yaml", "--epochs", "1", "--images", "20"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    csim = subprocess.run(["make", "--no-print-directory", "-C", "prj", "csim", "HLS_TOOL=gxx"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert csim.returncode == 0, (csim.stdout + csim.stderr)[-3000:]
    assert "csim: 20/20 images bit-exact" in csim.stdout
    assert f"{venv}/bin/hlsgen" in (tmp_path / "prj" / "Makefile").read_text()  # compare ran from the wheel
