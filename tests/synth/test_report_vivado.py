"""Vivado's own implementation reports (hlsgen.synth.vivado), read from real reports of public projects
(tests/board/data/SOURCES.md): a Zynq-7020 block design (7-series 'Slice LUTs' rows, 36 Kb BRAM tiles)
and a Zynq UltraScale+ design ('CLB LUTs', 'CLB Registers', no UltraRAM)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hlsgen.errors import UsageError
from hlsgen.synth import vivado

DATA = Path(__file__).resolve().parents[1] / "board" / "data"


def test_zynq7020_utilization_counts_bram_in_18k_blocks():
    rep = vivado.parse_utilization((DATA / "z7020_utilization_placed.rpt").read_text())
    assert rep["device"] == "xc7z020clg400-1" and rep["tool_version"].startswith("Vivado v.2022.1 ")
    assert rep["used"] == {"lut": 5417, "ff": 6173, "bram_18k": 20, "dsp": 0, "uram": None}
    assert rep["available"] == {"lut": 53200, "ff": 106400, "bram_18k": 280, "dsp": 220, "uram": None}


def test_ultrascale_plus_utilization_and_timing(tmp_path):
    shutil.copy(DATA / "zu3eg_utilization_routed.rpt", tmp_path / vivado.UTILIZATION)
    shutil.copy(DATA / "zu3eg_timing_summary_routed.rpt", tmp_path / vivado.TIMING)
    assert vivado.holds_reports(tmp_path) and not vivado.holds_reports(tmp_path / vivado.TIMING)
    rep = vivado.load_reports(tmp_path)
    assert rep.used == {"lut": 429, "ff": 299, "bram_18k": 0, "dsp": 3, "uram": None}
    assert rep.available["lut"] == 70560 and rep.available["dsp"] == 360 and rep.available["bram_18k"] == 432
    assert (rep.wns_ns, rep.tns_ns, rep.failing_endpoints, rep.whs_ns) == (2.221, 0, 0, 0.042)
    assert (rep.clock, rep.clock_period_ns) == ("clk", 5)
    assert rep.utilization_pct()["dsp"] == 0.83
    text = vivado.format_report(rep)
    assert "  DSP       3 of 360 (0.83 %)" in text and "WNS 2.221 ns" in text and ": met" in text
    assert rep.to_json_dict()["timing_met"] is True


def test_a_violated_timing_is_reported_as_not_met(tmp_path):
    text = (DATA / "zu3eg_timing_summary_routed.rpt").read_text()
    row = "      2.221        0.000                      0                  899        0.042"
    assert text.index(row) < text.index("Intra Clock Table")  # the first one is the Design Timing Summary's
    (tmp_path / vivado.TIMING).write_text(text.replace(row, row.replace("2.221", "-0.310").replace(
        "0.000                      0", "-4.200                     17"), 1))
    rep = vivado.load_reports(tmp_path)
    assert (rep.wns_ns, rep.tns_ns, rep.failing_endpoints) == (-0.31, -4.2, 17)
    assert "NOT met" in vivado.format_report(rep)


def test_missing_or_foreign_reports_are_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="no utilization.rpt or timing_summary.rpt"):
        vivado.load_reports(tmp_path)
    (tmp_path / vivado.UTILIZATION).write_text("<?xml version='1.0'?><profile/>")
    with pytest.raises(UsageError, match="not a Vivado utilization report"):
        vivado.load_reports(tmp_path)
