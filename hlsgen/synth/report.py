"""Read the C-synthesis summary (``csynth.xml``) that Vivado HLS and Vitis HLS write.

One reader covers Vivado HLS 2018.3 to Vitis HLS 2024.1 (tested on real reports of each era): it
reads only the top-level summary sections that every version writes —

- ``ReportVersion/Version``; ``UserAssignments/{Part, TopModelName, TargetClockPeriod,
  ClockUncertainty, unit}``;
- ``PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod`` and ``PipelineType``;
- ``PerformanceEstimates/SummaryOfOverallLatency/{Best-caseLatency, Worst-caseLatency,
  Interval-min, Interval-max}`` (in clock cycles);
- ``AreaEstimates/{Resources, AvailableResources}/{BRAM_18K, DSP48E | DSP, FF, LUT, URAM}``.

The DSP element is ``DSP48E`` in Vivado HLS reports (2018.3-2019.2.1 here) and ``DSP`` in Vitis HLS
ones (2020.2 on); ``URAM`` is absent from old reports. A figure the report lacks, or gives as
``undef``, is ``None``. Numbers are ``int`` where integral (``"10.00"`` -> ``10``), else ``float``.
Clock periods are converted to ns from the report's ``unit``. In a full Vitis ``csynth.xml`` the
per-module figures under ``ModuleInformation`` are ignored; the top-level summary is read even where
it differs slightly from the top module's entry (LUT 60979 vs 60981 in a real 2022.1 report).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hlsgen.errors import UsageError
from hlsgen.synth.parts import RESOURCE_KEYS

Number = int | float

#: Resource keys (parts.RESOURCE_KEYS, in table order), with the element names each has had across tool versions.
_ELEMENT_NAMES = {"bram_18k": ("BRAM_18K", "BRAM"), "dsp": ("DSP48E", "DSP", "DSP48"), "ff": ("FF",),
                  "lut": ("LUT",), "uram": ("URAM",)}
RESOURCES: dict[str, tuple[str, ...]] = {key: _ELEMENT_NAMES[key] for key in RESOURCE_KEYS}
_LABELS = {"bram_18k": "BRAM_18K", "dsp": "DSP", "ff": "FF", "lut": "LUT", "uram": "URAM"}
_TO_NS = {"ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6}
_NOT_A_NUMBER = {"", "undef", "-", "n/a", "na", "?", "none"}

# Where report directories sit relative to the directory given: the report directory itself, a syn
# directory, a solution, a Vivado/Vitis HLS project, an hls4ml output dir (<name>_prj/solution1),
# a Vitis Unified component (<comp>/hls) or a workspace holding components.
_REPORT_DIRS = (".", "report", "syn/report", "*/syn/report", "*/*/syn/report")


@dataclass(frozen=True)
class SynthReport:
    """The top-level figures of one C-synthesis report.

    Attributes
    ----------
    tool_version : str | None
        ``ReportVersion/Version``, e.g. ``"2019.2"``.
    part, top : str | None
        Target part (``"xc7z020-clg400-1"``) and top function.
    clock_target_ns, clock_estimated_ns, clock_uncertainty_ns : int | float | None
        Target clock period, the estimated achievable period, and the clock uncertainty, in ns.
    pipeline_type : str | None
        ``PipelineType`` as written (``dataflow``, ``function``, ``yes``, ``none``, ...).
    latency_best_cycles, latency_worst_cycles : int | None
        Best- and worst-case latency of the top function in clock cycles; ``None`` if ``undef``.
    interval_min, interval_max : int | None
        Initiation interval range in cycles.
    bram_18k, dsp, ff, lut, uram : int | None
        Resources used (``AreaEstimates/Resources``); ``uram`` is ``None`` for reports without it.
    available : dict[str, int | None]
        Resources of the part, same keys (``AreaEstimates/AvailableResources``).
    source : str
        Path of the XML file read.
    """

    tool_version: str | None
    part: str | None
    top: str | None
    clock_target_ns: Number | None
    clock_estimated_ns: Number | None
    clock_uncertainty_ns: Number | None
    pipeline_type: str | None
    latency_best_cycles: int | None
    latency_worst_cycles: int | None
    interval_min: int | None
    interval_max: int | None
    bram_18k: int | None
    dsp: int | None
    ff: int | None
    lut: int | None
    uram: int | None
    available: dict[str, int | None] = field(default_factory=dict, hash=False)
    source: str = ""

    @property
    def latency_best_ns(self) -> Number | None:
        """Best-case latency in ns: cycles x the *target* clock period (as the tool's own
        ``RealTimeLatency`` and the ``.rpt`` "Latency (absolute)" column compute it)."""
        return _cycles_to_ns(self.latency_best_cycles, self.clock_target_ns)

    @property
    def latency_worst_ns(self) -> Number | None:
        """Worst-case latency in ns: cycles x the *target* clock period."""
        return _cycles_to_ns(self.latency_worst_cycles, self.clock_target_ns)

    def used(self) -> dict[str, int | None]:
        """Resources used, keyed like :attr:`available`."""
        return {key: getattr(self, key) for key in RESOURCES}

    def utilization_pct(self) -> dict[str, float | None]:
        """Used / available x 100 per resource, rounded to 0.01; ``None`` if either count is missing
        or the part has none of that resource (e.g. URAM on a 7-series part)."""
        out: dict[str, float | None] = {}
        for key, used in self.used().items():
            avail = self.available.get(key)
            out[key] = round(100.0 * used / avail, 2) if used is not None and avail else None
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; every key is present, ``null`` where the report lacks the figure.

        Keys: ``tool_version, part, top, pipeline_type, clock_target_ns, clock_estimated_ns,
        clock_uncertainty_ns, latency_best_cycles, latency_worst_cycles, latency_best_ns,
        latency_worst_ns, interval_min, interval_max, bram_18k, dsp, ff, lut, uram, available,
        utilization_pct, source``. ``latency_*_ns`` use the target clock; ``available`` and
        ``utilization_pct`` are dicts over ``bram_18k, dsp, ff, lut, uram``.
        """
        scalars = ("tool_version", "part", "top", "pipeline_type", "clock_target_ns", "clock_estimated_ns",
                   "clock_uncertainty_ns", "latency_best_cycles", "latency_worst_cycles", "latency_best_ns",
                   "latency_worst_ns", "interval_min", "interval_max")
        return {**{key: getattr(self, key) for key in scalars}, **self.used(),
                "available": {key: self.available.get(key) for key in RESOURCES},
                "utilization_pct": self.utilization_pct(), "source": self.source}


def _tidy(value: Number) -> Number:
    """Round away binary noise (6 decimals) and return an int when the value is integral."""
    if isinstance(value, int):
        return value
    value = round(value, 6)
    return int(value) if value.is_integer() else value


def _cycles_to_ns(cycles: int | None, period_ns: Number | None) -> Number | None:
    if cycles is None or period_ns is None:
        return None
    return _tidy(cycles * period_ns)


def _number(text: str | None) -> Number | None:
    """``"10.00"`` -> 10, ``"4.357"`` -> 4.357, ``"undef"``/missing/garbage -> None."""
    if text is None or text.strip().lower() in _NOT_A_NUMBER:
        return None
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return _tidy(value) if math.isfinite(value) else None


def _int(text: str | None) -> int | None:
    value = _number(text)
    return value if isinstance(value, int) else None


def _text(root: ET.Element, path: str) -> str | None:
    elem = root.find(path)
    if elem is None or elem.text is None or not elem.text.strip():
        return None
    return elem.text.strip()


def _ns(value: Number | None, unit: str | None) -> Number | None:
    """A period in ``unit`` (``ns`` when the report names none) in ns; ``None`` for an unknown unit."""
    factor = _TO_NS.get((unit or "ns").strip().lower())
    if value is None or factor is None:
        return None
    return _tidy(value * factor)


def _first_int(section: ET.Element | None, paths: tuple[str, ...]) -> int | None:
    """The first of ``paths`` under ``section`` that holds an integer."""
    for path in paths if section is not None else ():
        value = _int(_text(section, path))
        if value is not None:
            return value
    return None


def _resources(section: ET.Element | None) -> dict[str, int | None]:
    return {key: _first_int(section, names) for key, names in RESOURCES.items()}


def _interval(latency: ET.Element | None, which: str) -> int | None:
    """``Interval-min``/``-max``; when absent, the dataflow throughput or the pipeline II."""
    paths = (f"Interval-{which}", f"DataflowPipelineThroughput/range/{which}", "DataflowPipelineThroughput",
             "PipelineInitiationInterval")
    return _first_int(latency, paths)


def _load_root(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise UsageError(f"{path}: not an XML file ({err})") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read report: {err.strerror or err}") from None
    sections = ("UserAssignments", "PerformanceEstimates", "AreaEstimates")
    if root.tag != "profile" or not any(root.find(s) is not None for s in sections):
        raise UsageError(
            f"{path}: not a Vivado/Vitis HLS csynth report (root element <{root.tag}>; expected "
            f"<profile> with {', '.join(sections)})"
        )
    return root


def _top_report(report_dir: Path) -> Path | None:
    """The top function's report in one ``syn/report`` directory, or ``None``.

    The directory also holds one ``<module>_csynth.xml`` per sub-function, so a ``*_csynth.xml``
    is only taken when it is the top's: named after an hls4ml ``<name>_prj`` project, or alone.
    """
    names = ["csynth.xml"]
    parents = report_dir.resolve().parents  # report -> syn -> solution -> <name>_prj
    if len(parents) > 2 and parents[2].name.endswith("_prj"):
        names.insert(0, f"{parents[2].name.removesuffix('_prj')}_csynth.xml")
    for name in names:
        if (report_dir / name).is_file():
            return report_dir / name
    named = list(report_dir.glob("*_csynth.xml"))
    return named[0] if len(named) == 1 else None


def find_csynth(directory: str | Path) -> Path:
    """The newest top-level csynth report under a project directory.

    Parameters
    ----------
    directory : str | Path
        A ``syn/report`` directory, a solution, a Vivado/Vitis HLS project (``*/solution*/syn/report``),
        an hls4ml output directory (``<name>_prj/solution1/syn/report/<name>_csynth.xml``), a Vitis
        Unified component (``<comp>/hls/syn/report/csynth.xml``) or a folder holding those.

    Returns
    -------
    Path
        The best file of each report directory found; of several, the most recently modified.

    Raises
    ------
    UsageError
        If no report is found; the message names the directory.
    """
    base = Path(directory)
    best: dict[Path, Path] = {}
    for pattern in _REPORT_DIRS:
        dirs = [base] if pattern == "." else [d for d in base.glob(pattern) if d.is_dir()]
        for report_dir in dirs:
            found = _top_report(report_dir)
            if found is not None:
                best.setdefault(report_dir.resolve(), found)
    if not best:
        raise UsageError(
            f"{base}: no csynth report found (looked for csynth.xml or <top>_csynth.xml in syn/report, "
            "*/syn/report, <name>_prj/solution*/syn/report and <component>/hls/syn/report)"
        )
    return max(best.values(), key=lambda p: (p.stat().st_mtime, str(p)))


def parse_csynth(path: str | Path) -> SynthReport:
    """Parse a csynth report, or find the newest one in a project directory and parse it.

    Parameters
    ----------
    path : str | Path
        A ``csynth.xml`` / ``<top>_csynth.xml`` file, or a directory (see :func:`find_csynth`).

    Returns
    -------
    SynthReport
        Figures the report lacks (or gives as ``undef``) are ``None``; nothing is estimated.

    Raises
    ------
    UsageError
        The path is missing or unreadable, holds no report, is not XML, or is XML but not a
        csynth report. The one-line message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if path.is_dir():
        path = find_csynth(path)
    root = _load_root(path)

    user = "UserAssignments"
    timing = root.find("PerformanceEstimates/SummaryOfTimingAnalysis")
    latency = root.find("PerformanceEstimates/SummaryOfOverallLatency")
    user_unit = _text(root, f"{user}/unit")
    target = _number(_text(root, f"{user}/TargetClockPeriod"))
    uncertainty = _number(_text(root, f"{user}/ClockUncertainty"))
    if timing is not None:  # module-level layout keeps the clock in the timing summary
        if target is None:
            target = _number(_text(timing, "TargetClockPeriod"))
        if uncertainty is None:
            uncertainty = _number(_text(timing, "ClockUncertainty"))
    estimated = None if timing is None else _number(_text(timing, "EstimatedClockPeriod"))
    timing_unit = None if timing is None else _text(timing, "unit")
    used = _resources(root.find("AreaEstimates/Resources"))

    return SynthReport(
        tool_version=_text(root, "ReportVersion/Version"),
        part=_text(root, f"{user}/Part"),
        top=_text(root, f"{user}/TopModelName"),
        clock_target_ns=_ns(target, user_unit),
        clock_estimated_ns=_ns(estimated, timing_unit or user_unit),
        clock_uncertainty_ns=_ns(uncertainty, user_unit),
        pipeline_type=_text(root, "PerformanceEstimates/PipelineType"),
        latency_best_cycles=None if latency is None else _int(_text(latency, "Best-caseLatency")),
        latency_worst_cycles=None if latency is None else _int(_text(latency, "Worst-caseLatency")),
        interval_min=_interval(latency, "min"),
        interval_max=_interval(latency, "max"),
        available=_resources(root.find("AreaEstimates/AvailableResources")),
        source=str(path),
        **used,
    )


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".rstrip()


def _fmt_range(low: object, high: object, unit: str) -> str:
    if low == high:
        return _fmt(low, unit)
    return f"{_fmt(low)} .. {_fmt(high, unit)}"


def _tool_name(version: str | None) -> str:
    """Vivado HLS up to 2019.2, Vitis HLS from 2020.1 (the year leads the version string)."""
    year = _int((version or "").split(".")[0])
    if year is None:
        return "Vivado/Vitis HLS" + (f" {version}" if version else "")
    return f"{'Vivado' if year < 2020 else 'Vitis'} HLS {version}"


def _human_ns(ns: Number | None) -> str:
    """``14417600`` -> ``"14.418 ms"``; empty below 1 us, where the ns figure reads fine."""
    if ns is None or ns < 1e3:
        return ""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3f} {unit}"
    return ""


def format_report(rep: SynthReport) -> str:
    """A plain-text summary: part, clocks, latency (cycles and ns), interval, resource table.

    Latency in ns is cycles x the target clock period. Missing figures print as ``n/a``; the
    ``%`` column is used / available x 100.
    """
    spans = [_human_ns(rep.latency_best_ns), _human_ns(rep.latency_worst_ns)]
    human = "" if not spans[1] else f" ({spans[0] if spans[0] == spans[1] else ' .. '.join(spans)})"
    lines = [
        f"report    {rep.source}",
        f"tool      {_tool_name(rep.tool_version)}",
        f"part      {_fmt(rep.part)}",
        f"top       {_fmt(rep.top)}",
        f"clock     target {_fmt(rep.clock_target_ns, 'ns')}, estimated {_fmt(rep.clock_estimated_ns, 'ns')},"
        f" uncertainty {_fmt(rep.clock_uncertainty_ns, 'ns')}",
        f"latency   {_fmt_range(rep.latency_best_cycles, rep.latency_worst_cycles, 'cycles')}"
        f" = {_fmt_range(rep.latency_best_ns, rep.latency_worst_ns, 'ns')}{human} at the target clock",
        f"interval  {_fmt_range(rep.interval_min, rep.interval_max, 'cycles')}",
        f"pipeline  {_fmt(rep.pipeline_type)}",
        "",
    ]
    pct = rep.utilization_pct()
    rows = [("resource", "used", "available", "%")]
    for key in RESOURCES:
        share = pct[key]
        rows.append(
            (_LABELS[key], _fmt(getattr(rep, key)), _fmt(rep.available.get(key)),
             "n/a" if share is None else f"{share:.2f}")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
