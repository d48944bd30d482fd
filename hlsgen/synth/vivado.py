"""Vivado's own implementation reports: ``report_utilization`` (LUT, FF, BRAM, DSP, URAM used of available)
and ``report_timing_summary`` (worst negative slack at the target clock), as ``make bitstream`` writes them
(``board/reports/utilization.rpt``, ``board/reports/timing_summary.rpt``).

Both are text tables. Rows are found by their site type, in 7-series spelling (``Slice LUTs``, ``Slice
Registers``) and UltraScale+ spelling (``CLB LUTs``, ``CLB Registers``); ``Block RAM Tile`` counts 36 Kb
tiles (halves are possible), reported here as 18 Kb blocks (x 2) to match the HLS reports' ``bram_18k``.
The timing figures are the ``Design Timing Summary`` row (WNS, TNS, failing endpoints, WHS) and the first
clock of the ``Clock Summary`` (its period). A missing figure is None, never a guess. Tested on real
reports: tests/board/data/SOURCES.md.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hlsgen.errors import UsageError

UTILIZATION, TIMING = "utilization.rpt", "timing_summary.rpt"
#: Site type rows -> our resource key, and the factor to 18 Kb units.
_ROWS = {"Slice LUTs": ("lut", 1), "CLB LUTs": ("lut", 1), "Slice Registers": ("ff", 1),
         "CLB Registers": ("ff", 1), "Block RAM Tile": ("bram_18k", 2), "DSPs": ("dsp", 1), "URAM": ("uram", 1)}
_KEYS = ("lut", "ff", "bram_18k", "dsp", "uram")
_MAX_BYTES = 64 * 2**20


@dataclass(frozen=True)
class VivadoReport:
    """What ``make bitstream`` prints: resources used of available, and the timing at the target clock."""

    tool_version: str | None = None
    device: str | None = None
    used: dict[str, float | None] = field(default_factory=dict)
    available: dict[str, float | None] = field(default_factory=dict)
    wns_ns: float | None = None
    tns_ns: float | None = None
    failing_endpoints: int | None = None
    whs_ns: float | None = None
    clock: str | None = None
    clock_period_ns: float | None = None
    sources: tuple[str, ...] = ()

    def utilization_pct(self) -> dict[str, float | None]:
        out = {}
        for key in _KEYS:
            used, avail = self.used.get(key), self.available.get(key)
            out[key] = round(100.0 * used / avail, 2) if used is not None and avail else None
        return out

    def to_json_dict(self) -> dict[str, Any]:
        return {"tool_version": self.tool_version, "device": self.device, "used": dict(self.used),
                "available": dict(self.available), "utilization_pct": self.utilization_pct(),
                "wns_ns": self.wns_ns, "tns_ns": self.tns_ns, "failing_endpoints": self.failing_endpoints,
                "whs_ns": self.whs_ns, "clock": self.clock, "clock_period_ns": self.clock_period_ns,
                "timing_met": None if self.wns_ns is None else self.wns_ns >= 0 and (self.whs_ns or 0) >= 0,
                "sources": list(self.sources)}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def _header(text: str, name: str) -> str | None:
    m = re.search(rf"(?m)^\|\s*{name}\s*:\s*(.+?)\s*$", text)
    return m.group(1) if m else None


def parse_utilization(text: str) -> dict[str, Any]:
    """``report_utilization``'s totals: ``used`` and ``available`` per resource key (None when the report has
    no row for it; a device without UltraRAM has no URAM row), the tool version and the device."""
    used: dict[str, float | None] = dict.fromkeys(_KEYS)
    avail: dict[str, float | None] = dict.fromkeys(_KEYS)
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] not in _ROWS:
            continue
        key, factor = _ROWS[cells[0]]
        if used[key] is not None:
            continue  # the first table (Slice Logic / CLB Logic) holds the totals; later tables repeat them
        u, a = _number(cells[1]), _number(cells[-2])
        used[key] = None if u is None else u * factor
        avail[key] = None if a is None else a * factor
    return {"used": used, "available": avail, "tool_version": _header(text, "Tool Version"),
            "device": _header(text, "Device")}


def parse_timing_summary(text: str) -> dict[str, Any]:
    """``report_timing_summary``'s Design Timing Summary (WNS, TNS, failing endpoints, WHS) and the first clock
    of its Clock Summary (name, period)."""
    out: dict[str, Any] = {"wns_ns": None, "tns_ns": None, "failing_endpoints": None, "whs_ns": None,
                           "clock": None, "clock_period_ns": None}
    m = re.search(r"\|\s*Design Timing Summary\s*\n.*?\n\s*WNS\(ns\)[^\n]*\n\s*-+[^\n]*\n\s*(\S+)\s+(\S+)\s+(\S+)"
                  r"\s+\S+\s+(\S+)", text, re.S)
    if m:
        out["wns_ns"], out["tns_ns"], fail, out["whs_ns"] = _number(m[1]), _number(m[2]), _number(m[3]), _number(m[4])
        out["failing_endpoints"] = None if fail is None else int(fail)
    c = re.search(r"\|\s*Clock Summary\s*\n.*?\nClock\s+Waveform\(ns\)[^\n]*\n-+[^\n]*\n(\S+)\s+\{[^}]*\}\s+(\S+)",
                  text, re.S)
    if c:
        out["clock"], out["clock_period_ns"] = c[1], _number(c[2])
    return out


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > _MAX_BYTES:
        raise UsageError(f"{path}: larger than {_MAX_BYTES // 2**20} MB: not a Vivado report")
    return data.decode("utf-8", "replace")


def holds_reports(path: str | Path) -> bool:
    """Is ``path`` a folder with Vivado's utilization or timing summary report (what ``hlsgen report`` then
    summarizes instead of a csynth.xml)?"""
    folder = Path(path)
    return folder.is_dir() and ((folder / UTILIZATION).is_file() or (folder / TIMING).is_file())


def load_reports(directory: str | Path) -> VivadoReport:
    """The utilization and timing summary reports in ``directory`` (``make bitstream``'s ``board/reports``);
    UsageError (exit 2) naming the folder when neither is there or a file is not such a report."""
    folder = Path(directory)
    util, timing = folder / UTILIZATION, folder / TIMING
    if not util.is_file() and not timing.is_file():
        raise UsageError(f"{folder}: no {UTILIZATION} or {TIMING} (run 'make bitstream' first)")
    values: dict[str, Any] = {}
    sources = []
    for path, marker, parse, what in (
            (util, "Utilization Design Information", parse_utilization, "utilization report (report_utilization)"),
            (timing, "Timing Summary Report", parse_timing_summary,
             "timing summary report (report_timing_summary)")):
        if path.is_file():
            text = _read(path)
            if marker not in text:
                raise UsageError(f"{path}: not a Vivado {what}")
            values.update(parse(text))
            sources.append(str(path))
    return VivadoReport(sources=tuple(sources), **values)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def format_report(rep: VivadoReport) -> str:
    """The summary ``make bitstream`` prints: one line per resource (used of available, %), then timing."""
    lines = [f"{rep.tool_version or 'Vivado (version unknown)'}: {rep.device or '(device unknown)'}"]
    pct = rep.utilization_pct()
    for key, name in (("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM_18K"), ("dsp", "DSP"), ("uram", "URAM")):
        if rep.used.get(key) is None and rep.available.get(key) is None:
            continue
        share = "" if pct[key] is None else f" ({pct[key]:g} %)"
        lines.append(f"  {name:<9} {_fmt(rep.used.get(key))} of {_fmt(rep.available.get(key))}{share}")
    if rep.wns_ns is not None:
        clock = f" at {rep.clock} ({_fmt(rep.clock_period_ns)} ns)" if rep.clock else ""
        verdict = "met" if rep.wns_ns >= 0 and (rep.whs_ns or 0) >= 0 else "NOT met"
        lines.append(f"  timing    WNS {_fmt(rep.wns_ns)} ns, TNS {_fmt(rep.tns_ns)} ns "
                     f"({rep.failing_endpoints} failing endpoints), WHS {_fmt(rep.whs_ns)} ns{clock}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m hlsgen.synth.vivado DIR [--json]``: what ``make bitstream`` runs after Vivado."""
    import json

    try:
        rep = load_reports(argv[0] if argv else "board/reports")
    except UsageError as err:
        print(f"hlsgen: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(rep.to_json_dict(), indent=2) if "--json" in argv else format_report(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
