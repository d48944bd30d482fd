"""The one place that runs the project's tools (make, g++, vitis_hls, vitis-run), and ``hlsgen csim``: the
evidence checked, the simulation run, its output judged."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from hlsgen.errors import ToolMissingError, UsageError, VerificationError


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


def csim_command(project: str | Path, images: int | None = None, trace: bool = False, top: str | None = None) -> int:
    """``make csim`` (the simulation only), then the comparison in-process: 0 every requested image
    bit-exact, 1 a mismatch (or firmware that is not the spec's), 2 bad project files or no output, 3 no
    compiler (nor Vitis HLS). The evidence is derived from the spec before anything runs
    (:func:`hlsgen.verify.derive.check_project`) and again when the output is judged. ``top='axi'``
    simulates the AXI4-Stream top of a project built with ``hls.board`` (``make csim TOP=axi``, g++ only)."""
    from hlsgen.outdir import require_project
    from hlsgen.verify.compare import compare_project
    from hlsgen.verify.derive import check_project
    from hlsgen.verify.evidence import Manifest, NoOutputError

    project = require_project(project, "Makefile", "spec.json")
    manifest = Manifest.load(project)
    if images is not None and images > manifest.images:
        raise UsageError(f"-n/--images: {images}, but {project} has {manifest.images} test images")
    if top not in (None, "axi"):
        raise UsageError(f"--top: {top!r}: only 'axi' (the AXI4-Stream top of a project built with hls.board)")
    if top == "axi" and not (project / "board" / "board.json").is_file():
        raise UsageError(f"--top axi: {project} was built without hls.board: it has no AXI4-Stream top")
    check_project(project)  # before any simulation: the evidence is the spec's
    vitis = ((shutil.which("vitis_hls") or shutil.which("vitis-run")) and os.environ.get("HLS_TOOL") != "gxx"
             and top is None)  # the AXI top's C simulation runs with g++ only
    if not vitis:
        cxx = (os.environ.get("CXX") or "g++").split()[0]
        require(cxx, "for the C simulation (or Vitis HLS: vitis_hls or vitis-run)")
    run_id = uuid.uuid4().hex
    variables = {"N": str(images or 0), "TRACE": "1" if trace else "0", "RUN_ID": run_id, "HLSGEN_COMPARE": "0"}
    if top is not None:
        variables["TOP"] = top
    status = run_make(project, "csim", variables)
    if status in (130, -signal.SIGINT):
        raise KeyboardInterrupt
    try:
        compare_project(project, trace=trace, run_id=run_id)
    except NoOutputError:
        raise UsageError(f"{project}: 'make csim' failed (exit {status}) before the simulation wrote any output; "
                         "see the errors above") from None
    if status != 0:
        raise VerificationError(f"{project}: 'make csim' exited {status} although every image compared bit-exact")
    return 0
