"""Yosys ``stat`` reports parsed into LUT/FF/CARRY/DSP counts (no tools needed): the local listing of the
top module, once, also when Yosys adds a "design hierarchy" section that repeats every cell."""

from __future__ import annotations

from hlsgen.rtl.synth import parse_stat

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
