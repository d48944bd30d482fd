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
    from hlsgen.hls.project import emit_project, normalize_project, seal_project, write_test_vectors
    from hlsgen.spec import HlsSettings

    directory.mkdir(parents=True, exist_ok=True)
    spec = random_spec(small_config(softmax=softmax), seed=seed)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (images, *spec.input_shape))
    labels = rng.integers(0, 5, images)
    settings = HlsSettings(part="xc7z020clg400-1", clock_period=10.0, io_type=io_type, board=board)
    hls_model = emit_project(spec, settings, directory)
    write_test_vectors(spec, directory, hls_model, codes, labels, None)
    normalize_project(spec, directory, directory)
    seal_project(spec, directory, len(codes))
    return directory


def make(project: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600):
    """``make -C project args...`` with the environment plus ``env``; returns the CompletedProcess."""
    full = {**os.environ, **(env or {})}
    return subprocess.run(["make", "--no-print-directory", "-C", str(project), *args], capture_output=True,
                          text=True, env=full, timeout=timeout)
