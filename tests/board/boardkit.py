"""Shared by the board tests: a real generated project of a small random spec built for a board (hls4ml's
firmware, the AXI top, tb_data, the sealed manifest), without training; and the fake tools' folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from specs import random_spec, small_config

HERE = Path(__file__).resolve().parent
FAKE_TOOLS = HERE / "fake_tools"
FAKE_PYNQ = HERE / "fake_pynq"
DATA = HERE / "data"

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None,
                               reason="needs g++ and make")


def board_project(directory: Path, board: str, io_type: str = "io_stream", softmax: str = "stable",
                  images: int = 12, seed: int = 3) -> Path:
    """The tiny spec (9x8x2 input, Conv2D, MaxPool, Dense of 5) with random weights (``seed``) built for
    ``board`` into ``directory``, with ``images`` random input images; ``softmax='none'`` gives signed
    (ap_fixed<8,3>) outputs."""
    from hlsgen.board.boards import BOARDS
    from hlsgen.hls.project import emit_project, normalize_project, seal_project, write_test_vectors
    from hlsgen.spec import HlsSettings

    directory.mkdir(parents=True, exist_ok=True)
    spec = random_spec(small_config(softmax=softmax), seed=seed)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (images, *spec.input_shape))
    labels = rng.integers(0, 5, images)
    part = BOARDS[board].part if board in BOARDS else "xc7z020clg400-1"
    settings = HlsSettings(part=part, clock_period=10.0, io_type=io_type, board=board)
    hls_model = emit_project(spec, settings, directory, len(codes))
    write_test_vectors(spec, directory, hls_model, codes, labels, None)
    normalize_project(spec, directory, directory)
    seal_project(spec, directory, len(codes))
    return directory


def tools_env(*extra: Path) -> dict[str, str]:
    """PATH with the fake Vitis HLS and Vivado (and ``extra`` folders) first."""
    return {"PATH": os.pathsep.join([*map(str, extra), str(FAKE_TOOLS), os.environ.get("PATH", "")])}


def run_driver(project: Path, *args: str, env: dict[str, str] | None = None):
    """``python3 board/driver.py args...`` in ``project`` with the fake pynq in front of the stream simulator."""
    import sys

    full = {**os.environ, "PYTHONPATH": str(FAKE_PYNQ), "FAKE_PYNQ_SIM": str(project / "build" / "stream_sim"),
            **(env or {})}
    return subprocess.run([sys.executable, "board/driver.py", *args], cwd=project, capture_output=True, text=True,
                          env=full, timeout=600)


def compare(project: Path, *args: str):
    """``hlsgen compare project args...`` (the command, in a fresh process)."""
    import sys

    return subprocess.run([sys.executable, "-m", "hlsgen.cli", "compare", str(project), *args], capture_output=True,
                          text=True, timeout=600)


def make(project: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600):
    """``make -C project args...`` with the environment plus ``env``; returns the CompletedProcess."""
    full = {**os.environ, **(env or {})}
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), *args], capture_output=True,
                          text=True, env=full, timeout=timeout)
