"""The one place that runs external tools (make, g++, vitis_hls, vitis-run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hlsgen.errors import ToolMissingError


def require(tool: str, why: str) -> str:
    """Path of ``tool`` on PATH, or ToolMissingError (exit 3) saying what it is needed for."""
    path = shutil.which(tool)
    if path is None:
        raise ToolMissingError(f"{tool} not found on PATH; it is needed {why}")
    return path


def run_make(directory: Path, target: str, variables: dict[str, str] | None = None) -> int:
    """Run ``make -C directory target VAR=value...``, streaming its output; returns make's exit code."""
    make = require("make", f"to run 'make {target}' in {directory}")
    args = [make, "--no-print-directory", "-C", str(directory), target]
    args += [f"{k}={v}" for k, v in (variables or {}).items()]
    return subprocess.run(args, check=False).returncode
