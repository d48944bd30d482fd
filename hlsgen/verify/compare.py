"""Compare a project's C simulation with the golden model: bit for bit, accuracy, and per layer.

Reads only the project directory (``spec.json``, ``weights.npz``, ``tb_data/``): no TensorFlow.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.errors import UsageError, VerificationError
from hlsgen.spec import HardwareSpec
from hlsgen.verify.derive import check_project
from hlsgen.verify.evidence import AGAIN, CODE_CHARS, NoOutputError, read_file, read_run_output

#: Where each simulation's testbench writes its output, relative to the project: g++ and Vitis HLS C
#: simulation (the Tcl flow's solution, the Unified component's hls folder: UG1399 "Output of C
#: Simulation": the test bench runs in csim/build), and the C/RTL co-simulation's second testbench run,
#: on the RTL's outputs, in sim/wrapc_pc (a work folder of UG1399 "Output of C/RTL Co-Simulation"; the
#: first run, in sim/wrapc, sees only the C model and is never judged).
OUTPUT_FILES = (
    "tb_data/csim_output.txt",
    "{name}_prj/solution*/csim/build/tb_data/csim_output.txt",
    "{name}_comp/hls/csim/build/tb_data/csim_output.txt",
    "{name}_prj/solution*/sim/wrapc_pc/tb_data/cosim_output.txt",
    "{name}_comp/hls/sim/wrapc_pc/tb_data/cosim_output.txt",
    "tb_data/board_output.txt",  # board/driver.py on the FPGA (a project built with hls.board)
)


def _run_of(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            first = fh.readline(200).decode("utf-8", "replace").split()
    except OSError:
        return None
    return next((w[4:] for w in first if w.startswith("run=")), None)


def simulation_output_file(project: Path, name: str, run_id: str | None = None) -> Path:
    """The simulation output to judge: the one of run ``run_id`` if there is one, else the newest of
    every C simulation (g++ or Vitis HLS), C/RTL co-simulation and board output (:data:`OUTPUT_FILES`)."""
    found = [p for pattern in OUTPUT_FILES for p in project.glob(pattern.format(name=name)) if p.is_file()]
    if not found:
        raise NoOutputError(f"{project}: no C simulation output (tb_data/csim_output.txt) and no co-simulation "
                            "output; run 'make csim' first")
    mine = [p for p in found if run_id is not None and _run_of(p) == run_id]
    return max(mine or found, key=lambda p: p.stat().st_mtime)


def compare_project(project: str | Path, trace: bool = False, run_id: str | None = None) -> dict[str, Any]:
    """Compare the last simulation (C simulation or C/RTL co-simulation) with the golden model; print
    and return a summary (``simulation``: which one was judged).

    Believes nothing it can derive (:func:`hlsgen.verify.derive.check_project`: the expected outputs are the
    golden model's of the spec, the firmware is the spec's, the sources are the build's) and judges one
    complete output of this build's testbench (of run ``run_id`` when given); else UsageError (exit 2)
    naming the file and line. Raises VerificationError (exit 1) when any image differs; with ``trace``,
    the message names the first layer whose bits differ from the golden trace.
    """
    ev = check_project(project)
    project, spec, manifest = ev.project, ev.spec, ev.manifest
    tb = project / "tb_data"
    n_out = int(np.prod(spec.output_shape))
    qk_all = ev.qkeras_labels
    run = read_run_output(simulation_output_file(project, spec.name, run_id), manifest, n_out, run_id)
    got, n = run.codes, run.images
    expected, labels = ev.expected[:n], ev.labels[:n]
    bad = np.flatnonzero(np.any(got != expected, axis=1))
    summary: dict[str, Any] = {
        "images": n, "bit_exact": int(n - len(bad)), "run_id": run.run_id, "simulation": run.kind,
        "output": str(run.path.relative_to(project)),
        "csim_accuracy": float(np.mean(np.argmax(got, axis=1) == labels)),
        "golden_accuracy": float(np.mean(np.argmax(expected, axis=1) == labels)),
    }
    if qk_all is not None:
        summary["differs_from_qkeras"] = int(np.count_nonzero(np.argmax(got, axis=1) != qk_all[:n]))
    what = {"cosim": " (C/RTL co-simulation: the RTL's outputs)", "board": " (the board: the FPGA's outputs)"}.get(
        run.kind, "")
    lines = [f"compare: {summary['bit_exact']}/{n} images bit-exact with the golden model{what}",
             f"compare: accuracy {run.kind} {summary['csim_accuracy']:.4f}, golden {summary['golden_accuracy']:.4f}"]
    if "differs_from_qkeras" in summary:
        lines.append(f"compare: {summary['differs_from_qkeras']} of {n} images classified differently from "
                     "QKeras (argmax; the hardware softmax/argmax vs QKeras' float softmax)")
    if trace:
        summary["trace"] = compare_trace(project, spec, ev.inputs)
        lines.append(summary["trace"]["message"])
    (tb / "compare.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n".join(lines))
    if len(bad):
        first = int(bad[0])
        j = int(np.flatnonzero(got[first] != expected[first])[0])
        where = f"; {summary['trace']['message']}" if trace else "; run 'make csim TRACE=1' to find the layer"
        raise VerificationError(f"{len(bad)} of {n} images differ from the golden model, first: image {first} "
                                f"output {j} expected {expected[first, j]} got {got[first, j]}{where}")
    if run.mismatches:
        raise VerificationError(f"{run.path}: the testbench counted {run.mismatches} mismatching images, yet its "
                                f"output equals tb_data/expected.txt: it read other test data; "
                                f"{AGAIN[run.kind]}")
    return summary


def compare_trace(project: Path, spec: HardwareSpec, inputs: np.ndarray) -> dict[str, Any]:
    """Per-layer comparison of tb_data/csim_trace.txt (HLSGEN_TRACE) with the golden trace of ``inputs``
    (the project's checked input codes)."""
    path = project / "tb_data" / "csim_trace.txt"
    traces = sorted([*project.glob(f"{spec.name}_prj/solution*/csim/build/tb_data/csim_trace.txt"),
                     *project.glob(f"{spec.name}_comp/hls/csim/build/tb_data/csim_trace.txt")],
                    key=lambda p: p.stat().st_mtime)
    if traces and (not path.exists() or traces[-1].stat().st_mtime > path.stat().st_mtime):
        path = traces[-1]
    if not path.exists():
        raise UsageError(f"{project}: no layer trace; run 'make csim TRACE=1' first")
    csim: dict[int, dict[str, np.ndarray]] = {}
    limit = len(inputs) * (sum(math.prod(s.output_shape) for s in spec.stages) * CODE_CHARS + len(spec.stages) * 100)
    text = read_file(path, limit, "run 'make csim TRACE=1' again").decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            image, name, *codes = line.split()
            csim.setdefault(int(image), {})[name] = np.array(codes, dtype=np.int64)
        except (ValueError, OverflowError):
            raise UsageError(f"{path}: line {number}: expected 'image layer code...', got {line[:60]!r}") from None
    if not csim:
        raise UsageError(f"{path}: no traced images; run 'make csim TRACE=1' again")
    images = sorted(csim)
    if not 0 <= images[0] <= images[-1] < len(inputs):
        raise UsageError(f"{path}: traces image {images[-1]}, the project has {len(inputs)} test images")
    inputs = inputs[: images[-1] + 1]
    gold = golden.run(spec, inputs.reshape(len(inputs), *spec.input_shape)).trace
    for stage in spec.stages:
        for image in images:
            if stage.name not in csim[image]:
                continue
            want = gold[stage.name][image].reshape(-1)
            have = csim[image][stage.name]
            diff = np.flatnonzero(have != want)
            if len(diff):
                i = int(diff[0])
                return {"first_layer": stage.name, "image": image, "index": i, "expected": int(want[i]),
                        "got": int(have[i]), "count": len(diff),
                        "message": f"trace: first differing layer '{stage.name}' (image {image}: {len(diff)} of "
                                   f"{want.size} values differ, first at {i}: expected {want[i]} got {have[i]})"}
    return {"first_layer": None, "images": images,
            "message": f"trace: every traced layer matches the golden model on images {images}"}
