"""The generated project on disk: hls4ml's output, our testbench, Makefile, Unified cfg, tb_data and
the spec, made byte-identical across builds."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np

from hlsgen import golden
from hlsgen.board import emit as board
from hlsgen.hls import convert
from hlsgen.hls.tables import write_softmax_tables
from hlsgen.hls.templates import TEMPLATES_DIR, render
from hlsgen.hls.testbench import testbench_source, write_codes
from hlsgen.spec import HardwareSpec, HlsSettings
from hlsgen.verify.evidence import build_id, write_manifest

#: ``make cosim`` simulates at most this many images unless N=... says otherwise (each image costs
#: thousands of simulated cycles); the project's own default is the smaller of this and its image count.
COSIM_IMAGES = 100


def cosim_images(images: int) -> int:
    """``make cosim``'s default image count for a project of ``images`` test images: at most
    :data:`COSIM_IMAGES`, at most the project's images, at least one."""
    return max(1, min(COSIM_IMAGES, images))


def emit_project(spec: HardwareSpec, settings: HlsSettings, project: Path, images: int):
    """hls4ml's project (every type checked against the spec), with the softmax tables as constants
    (:mod:`.tables`), our Makefile, vitis.sh and Unified cfg (written once, with the cosim default of a
    project of ``images`` test images), and the spec into ``project``; returns the hls4ml model (the testbench
    reads its I/O names and traced layers)."""
    hls_model = convert.convert(spec, settings, project)
    convert.check_types(spec, hls_model)
    hls_model.write()
    write_softmax_tables(spec, hls_model, project)
    keras_file = project / "keras_model.keras"
    if keras_file.exists():
        keras_file.unlink()  # a zip with timestamps; spec.json + weights.npz describe the model exactly
    (project / "Makefile").write_text(render("Makefile", top=spec.name, hlsgen=_hlsgen_executable(),
                                             cosim_n=cosim_images(images),
                                             **board.makefile_values(settings, spec.name)))
    if settings.board != "none":  # the AXI top, its stream simulator, the IP and bitstream Tcl (hlsgen.board)
        board.write_board(spec, settings, project)
    uncertainty = hls_model.config.get_config_value("ClockUncertainty") or "27%"  # hls4ml's Vitis default
    (project / "hls_config.cfg").write_text(render(
        "hls_config.cfg", top=spec.name, part=settings.part, clock=settings.clock_ns, uncertainty=uncertainty,
        cosim_n=cosim_images(images)))
    script = project / "vitis.sh"
    script.write_text((TEMPLATES_DIR / "vitis.sh").read_text())  # no placeholders: the Makefile passes NAME
    script.chmod(0o755)
    spec.save(project)
    return hls_model


def write_test_vectors(spec: HardwareSpec, project: Path, hls_model, codes: np.ndarray, labels: np.ndarray,
                       qkeras_labels: np.ndarray | None, expected: np.ndarray | None = None) -> None:
    """tb_data (the input ``codes``, the golden model's expected output codes, labels, QKeras' labels) and the
    testbench, which has the image count and the build id (:func:`hlsgen.verify.evidence.build_id`)
    compiled in. The manifest comes last (:func:`seal_project`). ``expected``: the golden model's outputs of
    ``spec`` on ``codes`` when the build already has them (from training); else they are computed here.
    (``hlsgen csim`` and ``compare`` recompute them from the spec before they believe them.)"""
    if expected is None:
        expected = golden.run(spec, codes).output
    elif expected.shape[0] != codes.shape[0]:
        raise ValueError(f"{len(expected)} expected outputs for {len(codes)} input images")
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    for stale in tb.iterdir():
        stale.unlink()  # hls4ml's float test vectors: our testbench exchanges codes only
    write_codes(tb / "inputs.txt", codes)
    write_codes(tb / "expected.txt", expected)
    np.savetxt(tb / "labels.txt", labels, fmt="%d")
    if qkeras_labels is not None:
        np.savetxt(tb / "qkeras_labels.txt", qkeras_labels, fmt="%d")
    (project / f"{spec.name}_test.cpp").write_text(
        testbench_source(spec, hls_model, images=len(codes), build=build_id(spec)))
    if board.board_record(project) is not None:  # built for a board: the AXI top's testbench and the driver
        (project / f"{spec.name}_axi_test.cpp").write_text(
            testbench_source(spec, hls_model, images=len(codes), build=build_id(spec), axi=True))
        board.write_driver(spec, project, build_id(spec))


def normalize_project(spec: HardwareSpec, project: Path, final: Path) -> None:
    """hls4ml's files made byte-identical across builds (:func:`normalize_hls4ml_output`)."""
    normalize_hls4ml_output(project, final, spec.digest()[:8])


def seal_project(spec: HardwareSpec, project: Path, images: int) -> None:
    """The manifest, the build's last file: tb_data's ``images``, digests and codes per line, the build id
    and the seal of every generated source (:func:`hlsgen.verify.evidence.write_manifest`)."""
    n_in, n_out = math.prod(spec.input_shape), math.prod(spec.output_shape)
    write_manifest(project, spec, images, {"inputs.txt": n_in, "expected.txt": n_out, "labels.txt": 1,
                                           "qkeras_labels.txt": 1})


def _hlsgen_executable() -> str:
    """This hlsgen's executable for the Makefile's HLSGEN, or plain ``hlsgen`` (found on PATH) where its path
    has a character the Makefile refuses (a space, a quote...)."""
    exe = Path(sys.executable).parent / "hlsgen"
    return str(exe) if exe.exists() and re.fullmatch(r"[A-Za-z0-9._/+-]+", str(exe)) else "hlsgen"


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
