"""The AXI4-Stream top in C simulation (``make csim TOP=axi``, g++): every image packed into beats as the DMA
moves them, the wrapper run, its beats unpacked and checked with the same evidence checks as ``make csim``
(bit-exact against the golden model, counts, run id, end marker, then hlsgen compare). Unsigned (softmax)
and signed (logits) outputs, io_stream and io_parallel, 32- and 64-bit streams. Without a board, the
project's Makefile is the one it was before boards existed."""

from __future__ import annotations

import re

import pytest
from boardkit import board_project, make, needs_gxx

from hlsgen.board import axi
from hlsgen.board.boards import BOARDS
from hlsgen.board.emit import NO_BOARD
from hlsgen.errors import UsageError
from hlsgen.hls.runner import csim_command
from hlsgen.hls.templates import render
from hlsgen.spec import HardwareSpec


def test_layout_pads_each_image_to_whole_beats():
    from specs import random_spec, small_config

    spec = random_spec(small_config(softmax="none"))
    lay = axi.layout(spec, BOARDS["pynq-z2"])
    assert (lay.n_in, lay.in_code_bytes, lay.in_beats) == (144, 1, 36)  # 9x8x2 bytes in 4-byte beats
    assert (lay.n_out, lay.out_code_bytes, lay.out_beats) == (5, 1, 2)  # 5 bytes: 2 beats, 3 padding bytes
    assert axi.layout(spec, BOARDS["zcu104"]).out_beats == 1


def test_without_a_board_the_makefile_is_unchanged():
    text = render("Makefile", top="net", hlsgen="hlsgen", cosim_n="100", **NO_BOARD)
    assert "TOP" not in text and "board" not in text.lower() and text.endswith("csim_trace.txt)\n")
    assert "\t  $(CSIM_CXX) $(NAME)_test.cpp firmware/$(NAME).cpp -o build/csim && \\\n" in text
    assert "HLSGEN_RUN_ID='$(HLSGEN_RUN_ID)' ./build/csim $(N)\n" in text


@needs_gxx
@pytest.mark.slow
@pytest.mark.parametrize("board,io_type,softmax", [("pynq-z2", "io_stream", "stable"),
                                                   ("zcu104", "io_parallel", "none")])
def test_axi_top_csim_is_bit_exact_and_judged_like_csim(tmp_path, board, io_type, softmax):
    project = board_project(tmp_path / "prj", board, io_type, softmax)
    spec = HardwareSpec.load(project)
    assert spec.stages[-1].result_t.signed == (softmax == "none")
    res = make(project, "csim", "TOP=axi")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "csim: 12/12 images bit-exact" in res.stdout
    assert "compare: 12/12 images bit-exact with the golden model" in res.stdout
    assert "tiny_axi_test.cpp firmware/tiny.cpp firmware/tiny_axi.cpp -o build/csim_axi" in res.stdout
    header = (project / "tb_data" / "csim_output.txt").read_text().splitlines()[0]
    assert re.fullmatch(r"# hlsgen csim run=\S+ build=[0-9a-f]{16} images=12 of=12", header)
    bits = BOARDS[board].stream_bits
    assert f"typedef hls::axis<ap_uint<{bits}>, 0, 0, 0> hlsgen_axi_beat_t;" in (
        project / "firmware" / "tiny_axi.h").read_text()
    assert csim_command(project, images=5, top="axi") == 0  # hlsgen csim --top axi: the same run, in-process
    plain = make(project, "csim", "N=3")  # the plain top still simulates beside it
    assert plain.returncode == 0 and "csim: 3/3 images bit-exact" in plain.stdout, plain.stderr[-2000:]


@needs_gxx
@pytest.mark.slow
def test_a_wrapper_that_never_sets_tlast_fails(tmp_path):
    project = board_project(tmp_path / "prj", "pynq-z2", images=4)
    wrapper = project / "firmware" / "tiny_axi.cpp"
    text = wrapper.read_text()
    assert text.count("out.last = beats == HLSGEN_AXI_OUT_BEATS - 1;") == 1
    wrapper.write_text(text.replace("out.last = beats == HLSGEN_AXI_OUT_BEATS - 1;", "out.last = 0;"))
    res = make(project, "csim", "TOP=axi", "HLSGEN_COMPARE=0")  # the seal would refuse the edit: testbench only
    assert res.returncode != 0
    assert "csim: mismatch: image 0: TLAST=0 on output beat 2 of 2" in res.stdout
    assert "csim: 0/4 images bit-exact" in res.stdout


def test_top_must_be_axi_or_nothing(tmp_path):
    project = board_project(tmp_path / "prj", "pynq-z2", images=2)
    res = make(project, "csim", "TOP=axi;rm")
    assert res.returncode != 0 and "make: TOP: only TOP=axi" in res.stderr
    with pytest.raises(UsageError, match="--top: 'hls'"):
        csim_command(project, top="hls")
    plain = board_project(tmp_path / "plain", "none", images=2)
    assert not (plain / "board").exists() and not (plain / "firmware" / "tiny_axi.cpp").exists()
    with pytest.raises(UsageError, match="was built without hls.board"):
        csim_command(plain, top="axi")
