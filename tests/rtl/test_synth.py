"""Yosys ``stat`` reports parsed into LUT/FF/CARRY/DSP counts (no tools needed): the local listing of the
top module, once, also when Yosys adds a "design hierarchy" section that repeats every cell."""

from __future__ import annotations

import pytest

from hlsgen.errors import HlsgenError, ToolMissingError
from hlsgen.fixed import FixedType
from hlsgen.rtl import tools
from hlsgen.rtl.synth import parse_stat
from hlsgen.spec import HardwareSpec, Stage

HIERARCHICAL = """
14. Printing statistics.

=== m_fc2 ===

        +----------Local Count, excluding submodules.
        |
    13427 wires
    18845 cells
     1024   IBUF
      669   INV
     6636   LUT2
     4314   LUT3
     1458   LUT4
      943   LUT5
     2418   LUT6
       80   OBUF
       12   FDRE
        3   DSP48E1
     3020 submodules
     2768   CARRY4
      210   MUXF7
       42   MUXF8

=== design hierarchy ===

        +----------Count including submodules.
        |
    18845 m_fc2

        +----------Count including submodules.
        |
    18845 cells
     6636   LUT2
     4314   LUT3
     1458   LUT4
      943   LUT5
     2418   LUT6
     2768   CARRY4
      210   MUXF7
       42   MUXF8
"""


def test_the_top_listing_is_counted_once():
    assert parse_stat(HIERARCHICAL) == {"LUT": 6636 + 4314 + 1458 + 943 + 2418, "FF": 12, "CARRY": 2768, "DSP": 3,
                                        "MUXF": 252}


def test_cells_with_a_dollar_prefix_and_other_cells_are_not_counted():
    text = "=== top ===\n     5   $scopeinfo\n     7   LUT6\n     2   $_DFF_P_\n     4   IBUF\n"
    assert parse_stat(text) == {"LUT": 7, "FF": 0, "CARRY": 0, "DSP": 0, "MUXF": 0}


FAKE_YOSYS = """#!/bin/sh
# a native yosys as hlsgen runs it (-q -p SCRIPT): fails like the WebAssembly build out of memory on
# the stage 'big', writes a stat report for any other
case "$3" in
  *"-top m_big "*) echo "Error: failed to run main module" >&2; echo "Caused by:" >&2;
                   echo "    thrown Wasm exception" >&2; exit 1;;
esac
printf '=== top ===\\n     7   LUT6\\n     2   CARRY4\\n' > yosys_stat.txt
"""


def test_a_stage_yosys_cannot_synthesize_is_named_after_the_others(rtl_tools, tmp_path, monkeypatch, capsys):
    from hlsgen.rtl.build import stage_units, write_unit
    from hlsgen.rtl.synth import synth_report

    fake = tmp_path / "yosys"
    fake.write_text(FAKE_YOSYS)
    fake.chmod(0o755)
    monkeypatch.setenv("HLSGEN_YOSYS", str(fake))
    tools.yosys_command.cache_clear()
    t = FixedType.parse
    x_t, y_t = t("ap_fixed<6,2>"), t("ap_fixed<6,2,AP_RND,AP_SAT>")
    spec = HardwareSpec("two", (4,), x_t, (Stage("small", "linear", (4,), (4,), x_t, y_t),
                                            Stage("big", "relu", (4,), (4,), y_t, t("ap_ufixed<4,2>"))))
    root = tmp_path / "rtl"
    root.mkdir()
    for unit in stage_units(spec, design="area"):
        write_unit(unit, root, lambda _: None)
    with pytest.raises(HlsgenError) as err:
        synth_report(spec, root, jobs=2, log=print)
    out = capsys.readouterr().out
    assert "rtl --synth: small" in out and "LUT       7" in out and "total of 1 stages" in out, out
    message = str(err.value)
    assert "m_big" in message and "HLSGEN_YOSYS" in message and "yosys.err" in message, message
    assert "\n" not in message
    assert any(p.name == "yosys.err" for p in root.rglob("*"))
    tools.yosys_command.cache_clear()


def test_hlsgen_yosys_must_exist(monkeypatch):
    monkeypatch.setenv("HLSGEN_YOSYS", "/nonexistent/yosys")
    tools.yosys_command.cache_clear()
    with pytest.raises(ToolMissingError, match="HLSGEN_YOSYS"):
        tools.yosys_command()
    tools.yosys_command.cache_clear()
