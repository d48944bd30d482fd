"""The generated project on disk: hls4ml's output, our testbench, Makefile, Unified cfg, tb_data and
the spec, made byte-identical across builds."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.data import input_codes
from hlsgen.hls import convert
from hlsgen.hls.templates import render
from hlsgen.hls.testbench import testbench_source, write_codes
from hlsgen.spec import HardwareSpec


def write_project(spec: HardwareSpec, project: Path, final: Path, test_images: np.ndarray,
                  labels: np.ndarray, qkeras_labels: np.ndarray | None) -> dict[str, Any]:
    """hls4ml's project plus our testbench, Makefile, tb_data and spec into ``project``."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    hls_model = convert.convert(spec, project)
    convert.check_types(spec, hls_model)
    hls_model.write()
    timings["hls4ml"] = time.perf_counter() - start
    keras_file = project / "keras_model.keras"
    if keras_file.exists():
        keras_file.unlink()  # a zip with timestamps; spec.json + weights.npz describe the model exactly
    (project / f"{spec.name}_test.cpp").write_text(testbench_source(spec, hls_model))
    (project / "Makefile").write_text(render("Makefile", top=spec.name, hlsgen=_hlsgen_executable()))
    (project / "hls_config.cfg").write_text(render(
        "hls_config.cfg", top=spec.name, part=spec.hls["part"], clock=spec.hls["clock_period"]))
    spec.save(project)

    start = time.perf_counter()
    codes = input_codes(spec.input_t, test_images)
    expected = golden.run(spec, codes).output
    timings["golden"] = time.perf_counter() - start
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    for stale in tb.iterdir():
        stale.unlink()  # hls4ml's float test vectors: our testbench exchanges codes only
    write_codes(tb / "inputs.txt", codes)
    write_codes(tb / "expected.txt", expected)
    np.savetxt(tb / "labels.txt", labels, fmt="%d")
    if qkeras_labels is not None:
        np.savetxt(tb / "qkeras_labels.txt", qkeras_labels, fmt="%d")
    normalize_hls4ml_output(project, final, spec_stamp(project))
    return timings


def spec_stamp(project: Path) -> str:
    import hashlib

    return hashlib.sha256((project / "spec.json").read_bytes() + (project / "weights.npz").read_bytes()).hexdigest()[:8]


def _hlsgen_executable() -> str:
    exe = Path(sys.executable).parent / "hlsgen"
    return str(exe) if exe.exists() else "hlsgen"


def normalize_hls4ml_output(project: Path, final: Path, stamp: str) -> None:
    """Make hls4ml's files byte-identical across builds: the temporary directory's name becomes the
    final one (absolute and relative spellings), and the random library stamp a digest of the spec."""
    renames = [(str(project.resolve()), str(final.resolve())), (str(project), str(final)),
               (project.name, final.name)]
    for path in project.rglob("*"):
        if not path.is_file() or path.suffix not in (".tcl", ".sh", ".yml", ".cpp", ".h", ".cfg", ".json"):
            continue
        text = path.read_text()
        new = text
        for old, replacement in renames:
            new = new.replace(old, replacement)
        new = re.sub(r"LIB_STAMP=[0-9a-f]+", f"LIB_STAMP={stamp}", new)
        # hls4ml's stamp is 8 random hex digits; YAML quotes it when they are all decimal (2 % of builds)
        quoted = f"'{stamp}'" if stamp.isdigit() else stamp
        new = re.sub(r"(?m)^Stamp: ('?)[0-9a-f]+\1$", f"Stamp: {quoted}", new)
        if new != text:
            path.write_text(new)
