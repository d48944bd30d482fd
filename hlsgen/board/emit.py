"""The board's files in a generated project (only when ``hls.board`` names a board: with ``none`` the project
is byte for byte what it was before boards existed).

``emit_project`` (:mod:`hlsgen.hls.project`) calls :func:`write_board` for the AXI top, the stream simulator, the
Tcl and the scripts, and :func:`makefile_values` for the Makefile's board part; ``write_test_vectors`` calls
:func:`write_driver` once the build id and the image count are known.
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from hlsgen.board import axi, tcl
from hlsgen.board.boards import board as board_of
from hlsgen.spec import HardwareSpec, HlsSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The project's record of its board (read by write_test_vectors, the fake tools of the tests, humans).
BOARD_JSON = "board/board.json"
#: The Makefile's values without a board: the text it had before boards existed.
NO_BOARD = {"board_vars": "", "board_rules": "", "csim_tb": "$(NAME)_test.cpp",
            "csim_srcs": "$(NAME)_test.cpp firmware/$(NAME).cpp", "csim_bin": "build/csim"}


def _render(name: str, **values) -> str:
    return Template((TEMPLATES / name).read_text()).substitute(**values)


def makefile_values(settings: HlsSettings, top: str) -> dict[str, str]:
    """The Makefile template's board placeholders: :data:`NO_BOARD` for ``none``, else ``TOP=axi`` and the
    ``board-sim``, ``ip`` and ``bitstream`` rules."""
    if settings.board == "none":
        return dict(NO_BOARD)
    return {"board_vars": _render("board_vars.mk"), "board_rules": _render("board.mk", board=settings.board, top=top),
            "csim_tb": "$(CSIM_TB)", "csim_srcs": "$(CSIM_SRCS)", "csim_bin": "$(CSIM_BIN)"}


def write_board(spec: HardwareSpec, settings: HlsSettings, project: Path) -> None:
    """The AXI top (``firmware/<top>_axi.h``, ``.cpp``), the g++ stand-in for ``ap_axi_sdata.h``, and ``board/``:
    ``board.json``, ``stream_sim.cpp``, ``board.sh``, ``hls_ip.tcl``, ``bitstream.tcl``."""
    brd = board_of(settings.board)
    lay = axi.layout(spec, brd)
    top = spec.name
    firmware = project / "firmware"
    (firmware / f"{top}_axi.h").write_text(axi.header(top, lay))
    (firmware / f"{top}_axi.cpp").write_text(axi.source(top, lay, settings.io_type))
    (firmware / "ap_types" / "ap_axi_sdata.h").write_text((TEMPLATES / "ap_axi_sdata.h").read_text())
    out = project / "board"
    out.mkdir(exist_ok=True)
    record = {"board": brd.name, "part": brd.part, "board_part": brd.board_part, "ps": brd.ps,
              "clock_period": settings.clock_period, "stream_bits": brd.stream_bits, "hp_bits": brd.hp_bits,
              "top": f"{top}_axi", "dma": tcl.DMA_CELL, "in_beats": lay.in_beats, "out_beats": lay.out_beats,
              "in_code_bytes": lay.in_code_bytes, "out_code_bytes": lay.out_code_bytes}
    (project / BOARD_JSON).write_text(json.dumps(record, indent=2) + "\n")
    (out / "stream_sim.cpp").write_text(_render("stream_sim.cpp", top=top))
    script = out / "board.sh"
    script.write_text((TEMPLATES / "board.sh").read_text())
    script.chmod(0o755)
    (out / "hls_ip.tcl").write_text(tcl.hls_ip(top, settings))
    (out / "bitstream.tcl").write_text(tcl.bitstream(top, brd, settings))


def board_record(project: Path) -> dict | None:
    """``board/board.json`` of a project built with a board, else None."""
    path = project / BOARD_JSON
    return json.loads(path.read_text()) if path.is_file() else None


def write_driver(spec: HardwareSpec, project: Path, build: str) -> None:
    """``board/driver.py``: the pynq driver with this build's id and stream layout compiled in."""
    rec = board_record(project)
    if rec is None:
        return
    lay = axi.layout(spec, board_of(rec["board"]))
    in_t, out_t = lay.in_t, lay.out_t
    path = project / "board" / "driver.py"
    path.write_text(_render(
        "driver.py.in", top=spec.name, board=rec["board"], build=build, dma=tcl.DMA_CELL, n_in=lay.n_in,
        n_out=lay.n_out, beat_bytes=lay.beat_bytes, in_beats=lay.in_beats, out_beats=lay.out_beats,
        in_code_bytes=lay.in_code_bytes, out_code_bytes=lay.out_code_bytes, out_signed=bool(out_t.signed),
        in_min=in_t.min_code, in_max=in_t.max_code, out_min=out_t.min_code, out_max=out_t.max_code,
        in_type=str(in_t), out_type=str(out_t)))
    path.chmod(0o755)
