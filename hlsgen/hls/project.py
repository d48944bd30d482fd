"""The generated project on disk: hls4ml's output, our testbench, Makefile, Unified cfg, tb_data and
the spec, made byte-identical across builds."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import golden
from hlsgen.data import input_codes
from hlsgen.hls import convert
from hlsgen.hls.tables import write_softmax_tables
from hlsgen.hls.templates import TEMPLATES_DIR, render
from hlsgen.hls.testbench import testbench_source, write_codes
from hlsgen.spec import HardwareSpec, HlsSettings

#: ``make cosim`` simulates at most this many images unless N=... says otherwise (each image costs
#: thousands of simulated cycles); the project's own default is the smaller of this and its image count.
COSIM_IMAGES = 100
_COSIM_TOKEN = "@HLSGEN_COSIM_N@"  # in Makefile and hls_config.cfg until the image count is known
_RUN_FILES = ("Makefile", "hls_config.cfg")


def emit_project(spec: HardwareSpec, settings: HlsSettings, project: Path):
    """hls4ml's project (every type checked against the spec), with the softmax tables as constants
    (:mod:`.tables`), our Makefile, vitis.sh and Unified cfg, and the spec into ``project``; returns the
    hls4ml model (the testbench reads its I/O names and traced layers)."""
    hls_model = convert.convert(spec, settings, project)
    convert.check_types(spec, hls_model)
    hls_model.write()
    write_softmax_tables(spec, hls_model, project)
    keras_file = project / "keras_model.keras"
    if keras_file.exists():
        keras_file.unlink()  # a zip with timestamps; spec.json + weights.npz describe the model exactly
    (project / "Makefile").write_text(render("Makefile", top=spec.name, hlsgen=_hlsgen_executable(),
                                             cosim_n=_COSIM_TOKEN))
    uncertainty = hls_model.config.get_config_value("ClockUncertainty") or "27%"  # hls4ml's Vitis default
    (project / "hls_config.cfg").write_text(render(
        "hls_config.cfg", top=spec.name, part=settings.part, clock=settings.clock_ns, uncertainty=uncertainty,
        cosim_n=_COSIM_TOKEN))
    script = project / "vitis.sh"
    script.write_text((TEMPLATES_DIR / "vitis.sh").read_text())  # no placeholders: the Makefile passes NAME
    script.chmod(0o755)
    spec.save(project)
    return hls_model


def write_test_vectors(spec: HardwareSpec, project: Path, hls_model, test_images: np.ndarray, labels: np.ndarray,
                       qkeras_labels: np.ndarray | None) -> None:
    """tb_data (input codes, the golden model's expected output codes, labels, QKeras' labels), its
    manifest, and the testbench, which has the manifest's image count and build id compiled in."""
    codes = input_codes(spec.input_t, test_images)
    expected = golden.run(spec, codes).output
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    for stale in tb.iterdir():
        stale.unlink()  # hls4ml's float test vectors: our testbench exchanges codes only
    write_codes(tb / "inputs.txt", codes)
    write_codes(tb / "expected.txt", expected)
    np.savetxt(tb / "labels.txt", labels, fmt="%d")
    if qkeras_labels is not None:
        np.savetxt(tb / "qkeras_labels.txt", qkeras_labels, fmt="%d")
    widths = {"inputs.txt": codes[0].size if len(codes) else 0, "expected.txt": expected[0].size if len(codes) else 0,
              "labels.txt": 1, "qkeras_labels.txt": 1}
    manifest = write_manifest(tb, spec_stamp(project), len(codes), widths)
    (project / f"{spec.name}_test.cpp").write_text(
        testbench_source(spec, hls_model, images=len(codes), build=manifest["build"]))
    for name in _RUN_FILES:  # the cosim default: at most COSIM_IMAGES, at most the project's images
        path = project / name
        text = path.read_text()
        if _COSIM_TOKEN not in text:
            raise ValueError(f"{path}: no {_COSIM_TOKEN} to fill in (written by emit_project?)")
        path.write_text(text.replace(_COSIM_TOKEN, str(max(1, min(COSIM_IMAGES, len(codes))))))


def normalize_project(project: Path, final: Path) -> None:
    """hls4ml's files made byte-identical across builds (:func:`normalize_hls4ml_output`)."""
    normalize_hls4ml_output(project, final, spec_stamp(project))


MANIFEST = "manifest.json"  # read by hlsgen/verify/evidence.py (same format number)
MANIFEST_FORMAT = 1
TB_FILES = ("inputs.txt", "expected.txt", "labels.txt", "qkeras_labels.txt")


def write_manifest(tb: Path, stamp: str, images: int, widths: dict[str, int]) -> dict[str, Any]:
    """``tb_data/manifest.json``: the number of test images and the SHA-256 of every tb_data file, so
    that the testbench and ``hlsgen compare`` accept exactly this evidence; ``build`` (a digest of the
    spec and those files, deterministic) stamps every simulation output of this build."""
    import hashlib

    files = {name: hashlib.sha256((tb / name).read_bytes()).hexdigest() for name in TB_FILES if (tb / name).exists()}
    build = hashlib.sha256(json.dumps([stamp, images, files], sort_keys=True).encode()).hexdigest()[:16]
    manifest = {"format": MANIFEST_FORMAT, "images": images, "build": build, "sha256": files,
                "codes_per_line": {name: int(widths[name]) for name in files}}
    (tb / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


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
