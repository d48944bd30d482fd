"""Process-wide symbols in a built model (hlsgen/rtl/verilate.py). g++ makes a class's static constants
STB_GNU_UNIQUE: one copy per process, whichever library defines it. Without -fno-gnu-unique, a network rebuilt
after a weight was edited computed with the first build's MAC weights in the same process: the edited weight
passed, and the next test's network in the same pytest process gave 40 of 40 images wrong (the two failures
first seen on da4ml 0.6, reproduced on 0.5.2 alike). Each build's library is now checked for them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hlsgen.errors import HlsgenError
from hlsgen.rtl.verilate import MAKE_CFLAGS, unique_symbols

SOURCE = """struct Mac { static constexpr int W[3] = {1, 2, 3}; };
extern "C" const int *weights() { return Mac::W; }
"""


def _lib(tmp_path: Path, *flags: str) -> Path:
    src, lib = tmp_path / "mac.cpp", tmp_path / f"lib{len(flags)}.so"
    src.write_text(SOURCE)
    subprocess.run(["g++", "-std=c++17", "-fPIC", "-shared", *flags, str(src), "-o", str(lib)], check=True,
                   capture_output=True, timeout=120)
    return lib


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++")
def test_a_static_constant_is_process_wide_unless_built_with_no_gnu_unique(tmp_path):
    assert unique_symbols(_lib(tmp_path)) == ["_ZN3Mac1WE"]
    assert unique_symbols(_lib(tmp_path, "-fno-gnu-unique")) == []
    assert "-fno-gnu-unique" in MAKE_CFLAGS.split()


def test_a_file_that_is_not_elf64_is_refused(tmp_path):
    (tmp_path / "x.so").write_bytes(b"#!/bin/sh\n")
    with pytest.raises(HlsgenError, match="not a little-endian ELF64"):
        unique_symbols(tmp_path / "x.so")


@pytest.mark.slow
def test_a_model_built_without_no_gnu_unique_is_refused(rtl_tools, tmp_path, monkeypatch, capsys):
    """The check is wired into every build: the MAC's weight arrays compiled without -fno-gnu-unique are
    named, exit 2, before anything is simulated."""
    from rtlkit import write_project
    from test_rtl import _chain

    from hlsgen.rtl import rtl_command, verilate

    monkeypatch.setattr(verilate, "MAKE_CFLAGS", verilate.MAKE_CFLAGS.replace(" -fno-gnu-unique", ""))
    project = write_project(tmp_path / "p", _chain(), images=5)
    assert rtl_command(project, None, layers=False, synth=False, jobs=2) == 2
    captured = capsys.readouterr()
    assert "STB_GNU_UNIQUE" in captured.err and "images bit-exact" not in captured.out, captured
