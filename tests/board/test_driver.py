"""board/driver.py (the file that goes to the board) against a fake pynq whose DMA feeds the C simulation of
the AXI top (``make board-sim``), after ``make bitstream`` with the fake Vivado (its .hwh gives the DMA's
widths); then ``hlsgen compare`` on the board's output. Mutations: a DMA that drops the last beat, a receive
buffer shorter than an image, a stale output, an output and tb_data of another build: each fails with its
exit code (driver: 1 the board failed, 2 bad input; compare: 2 refused evidence)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from boardkit import board_project, compare, make, needs_gxx, run_driver, tools_env

pytestmark = [needs_gxx, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")]
IMAGES = 12


@pytest.fixture(scope="module", params=["pynq-z2", "zcu104"])
def board(request, tmp_path_factory):
    """A project built for the board (zcu104: signed outputs, io_parallel), its bitstream made with the fake
    Vivado, its stream simulator compiled."""
    signed = request.param == "zcu104"
    project = board_project(tmp_path_factory.mktemp(request.param) / "prj", request.param,
                            "io_parallel" if signed else "io_stream", "none" if signed else "stable", IMAGES)
    for target in ("bitstream", "board-sim"):
        res = make(project, target, env=tools_env())
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return request.param, project


def test_driver_is_bit_exact_and_compare_accepts_its_output(board):
    name, project = board
    res = run_driver(project, "--batch", "5", "--run-id", "run1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"board: {IMAGES}/{IMAGES} images bit-exact" in res.stdout
    assert "images per second" in res.stdout
    out = (project / "tb_data" / "board_output.txt").read_text().splitlines()
    build = json.loads((project / "tb_data" / "manifest.json").read_text())["build"]
    assert out[0] == f"# hlsgen board run=run1 build={build} images={IMAGES} of={IMAGES}"
    assert out[-1] == f"# end images={IMAGES} mismatches=0" and len(out) == IMAGES + 2
    if name == "zcu104":
        assert any(code.startswith("-") for line in out[1:-1] for code in line.split())  # signed codes came back
    cmp = compare(project, "--run-id", "run1")
    assert cmp.returncode == 0, cmp.stderr
    assert f"compare: {IMAGES}/{IMAGES} images bit-exact with the golden model (the board: the FPGA's outputs)" \
        in cmp.stdout
    partial = run_driver(project, "-n", "3")
    assert partial.returncode == 0 and "board: 3/3 images bit-exact" in partial.stdout
    assert compare(project).returncode == 0


def test_a_dropped_last_beat_stops_the_board_and_leaves_no_verdict(board):
    _, project = board
    good = run_driver(project, "--run-id", "old")
    assert good.returncode == 0
    res = run_driver(project, "--timeout", "2", env={"FAKE_PYNQ_DROP_LAST_BEAT": "1"})
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"board: error: image {IMAGES - 1}: nothing within 2 s" in res.stderr
    cmp = compare(project)  # the old complete output is gone: the failed run's is incomplete
    assert cmp.returncode == 2 and "incomplete: no end marker" in cmp.stderr, cmp.stderr
    assert compare(project, "--run-id", "old").returncode == 2


def test_a_receive_buffer_shorter_than_an_image_is_a_dma_error(board):
    _, project = board
    res = run_driver(project, env={"FAKE_PYNQ_SHORT_RECV": "1"})
    assert res.returncode == 1 and "board: error: image 0: DMA error: DMA Internal Error" in res.stderr, res.stderr


def test_a_stale_output_is_refused(board):
    _, project = board
    assert run_driver(project, "--run-id", "first").returncode == 0
    assert run_driver(project, "--run-id", "second").returncode == 0
    cmp = compare(project, "--run-id", "first")
    assert cmp.returncode == 2 and "from an earlier run (second), not this one (first)" in cmp.stderr


def test_output_and_tb_data_of_another_build_are_refused(board, tmp_path):
    _, project = board
    assert run_driver(project).returncode == 0
    path = project / "tb_data" / "board_output.txt"
    path.write_text(re.sub(r"build=[0-9a-f]+", "build=00000000deadbeef", path.read_text(), count=1))
    cmp = compare(project)
    assert cmp.returncode == 2 and "from another build of the project (build 00000000deadbeef" in cmp.stderr
    manifest = project / "tb_data" / "manifest.json"
    original = manifest.read_text()
    try:
        manifest.write_text(original.replace(json.loads(original)["build"], "00000000deadbeef"))
        res = run_driver(project)
    finally:
        manifest.write_text(original)
    assert res.returncode == 2 and "tb_data/manifest.json: build 00000000deadbeef" in res.stderr, res.stderr


def test_without_pynq_the_driver_exits_3_and_bad_arguments_2(board, tmp_path):
    _, project = board
    res = run_driver(project, env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 3 and "board: error: pynq not found" in res.stderr
    for args, message in ((["-n", str(IMAGES + 1)], f"-n: {IMAGES + 1}: expected 1 to {IMAGES}"),
                          (["--run-id", "a b"], "--run-id: 'a b': 1 to 64 of the characters")):
        res = run_driver(project, *args)
        assert res.returncode == 2 and message in res.stderr, res.stderr
