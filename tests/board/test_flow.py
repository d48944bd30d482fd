"""``make ip`` and ``make bitstream`` under a fake Vitis HLS and a fake Vivado (tests/board/fake_tools): the
generated Tcl runs under tclsh with every block-design command recorded; the recorded design, as a graph,
has every interface pin connected, the DMA's stream widths equal to the IP's, every clock and reset driven,
an address map covering the DMA's registers and DDR along connected paths, and a flow that ends in
write_bitstream; Vivado's reports are summarized. Without Vivado (or with one older than 2022.2) the
recipe exits 3 naming Vivado 2022.2+. No g++ needed."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest
from boardkit import FAKE_TOOLS, board_project, make, tools_env

from hlsgen.board.boards import BOARDS

sys.path.insert(0, str(FAKE_TOOLS))
import fakeboard  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None or shutil.which("make") is None,
                                reason="needs tclsh and make")


@pytest.fixture(scope="module", params=["pynq-z2", "zcu104", "kv260"])
def built(request, tmp_path_factory):
    project = board_project(tmp_path_factory.mktemp(request.param) / "prj", request.param, images=4)
    res = make(project, "bitstream", env=tools_env())
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return request.param, project, res


def test_bitstream_writes_the_files_pynq_loads_and_the_summary(built):
    board, project, res = built
    for name in ("board/tiny.bit", "board/tiny.hwh", "board/reports/utilization.rpt",
                 "board/reports/timing_summary.rpt", "tiny_axi_prj/solution1/impl/ip/component.xml"):
        assert (project / name).is_file(), name
    device = "xc7z020clg400-1" if board == "pynq-z2" else "xczu3eg-sbva484-1-e"  # the real reports the fake copies
    assert f": {device}\n" in res.stdout
    assert re.search(r"  LUT +\d+ of \d+ \(", res.stdout) and "timing    WNS 2.221 ns" in res.stdout


def test_recorded_design_passes_every_graph_check(built):
    board, project, _ = built
    g = fakeboard.build(project / "board" / "vivado" / "fake_vivado.tsv")
    assert fakeboard.check(g, json.loads((project / "board" / "board.json").read_text())) == []
    cells = g["cells"]
    ip, dma = cells["tiny_axi_0"], cells["axi_dma_0"]
    width = int(re.search(r"hls::axis<ap_uint<(\d+)>", (project / "firmware" / "tiny_axi.h").read_text())[1])
    assert width == BOARDS[board].stream_bits
    assert {n: w for n, (_, k, w) in ip["pins"]["intf"].items()} == {"in_axis": width, "out_axis": width}
    assert int(dma["config"]["CONFIG.c_m_axis_mm2s_tdata_width"]) == width
    assert int(dma["config"]["CONFIG.c_s_axis_s2mm_tdata_width"]) == width
    assert dma["config"]["CONFIG.c_include_sg"] == "0"
    ps_ip = "processing_system7" if BOARDS[board].ps == "zynq7" else "zynq_ultra_ps_e"
    assert ps_ip in cells["ps"]["vlnv"] and g["board_part"] == BOARDS[board].board_part
    clock = next(net for net in g["nets"] if "tiny_axi_0/ap_clk" in net)
    assert len(clock) == 10 and clock[0].startswith("ps/")  # one PL clock for all nine clock inputs
    spaces = {a["space"]: a["segment"] for a in g["addresses"]}
    assert spaces["ps/Data"] == "axi_dma_0/S_AXI_LITE/Reg"
    assert spaces["axi_dma_0/Data_MM2S"] == spaces["axi_dma_0/Data_S2MM"]
    flow = [f[:4] for f in g["flow"] if f[0] in ("launch_runs", "wait_on_run")]
    assert flow[-2:] == [["launch_runs", "impl_1", "-to_step", "write_bitstream"], ["wait_on_run", "impl_1"]]


@pytest.mark.parametrize("edit,message", [
    (("CONFIG.c_s_axis_s2mm_tdata_width {{{w}}}", "CONFIG.c_s_axis_s2mm_tdata_width {{{w2}}}"), "stream widths differ"),
    ((" [get_bd_pins tiny_axi_0/ap_rst_n]", ""), "tiny_axi_0/ap_rst_n: reset input not driven"),
    (("CONFIG.c_include_sg {{0}}", "CONFIG.c_include_sg {{1}}"), "axi_dma_0/M_AXI_SG: not connected"),
    (("assign_bd_address -target_address_space [get_bd_addr_spaces axi_dma_0/Data_S2MM]",
      "puts skipped; # [get_bd_addr_spaces axi_dma_0/Data_S2MM]"), "axi_dma_0/Data_S2MM: an address space"),
])
def test_a_broken_block_design_fails_validation(built, edit, message):
    board, project, _ = built
    tcl = project / "board" / "bitstream.tcl"
    original = tcl.read_text()
    w = BOARDS[board].stream_bits
    old, new = (part.format(w=w, w2=2 * w) for part in edit)
    assert original.count(old) == 1, old
    try:
        tcl.write_text(original.replace(old, new))
        res = make(project, "bitstream", env=tools_env())
    finally:
        tcl.write_text(original)
    assert res.returncode != 0 and message in res.stderr, res.stderr[-2000:]


def test_without_vivado_bitstream_exits_3_naming_vivado_2022_2(tmp_path):
    project = board_project(tmp_path / "prj", "pynq-z2", images=2)
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "make", "sh", "grep", "head", "tr", "sort", "dirname", "rm", "cat"):
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    res = make(project, "bitstream", env={"PATH": str(bare)})
    assert "make[1]" not in res.stderr and "Error 3" in res.stderr, res.stderr
    assert res.stderr.splitlines()[0] == (
        "make bitstream: error: vivado not found on PATH: 'make bitstream' needs Vivado 2022.2 or newer (source "
        "<Vivado>/settings64.sh), or copy this directory as-is to a machine that has it")
    old = make(project, "bitstream", env={**tools_env(), "FAKE_VIVADO_VERSION": "2021.2"})
    assert "Vivado 2021.2 is older than 2022.2" in old.stderr and "Error 3" in old.stderr
