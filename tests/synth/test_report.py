"""csynth.xml parsing against real Vivado/Vitis HLS reports, project discovery and one-line errors.

The expected figures are copied from /work/shared/reports/SOURCES.md (read there from each .xml)
and were checked by hand against each file's .rpt text twin; ``available`` is not in SOURCES.md and
comes from each .xml's AvailableResources, equal to the .rpt "Available" row.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from specs import SHARED

from hlsgen.errors import UsageError
from hlsgen.synth.report import RESOURCES, SynthReport, find_csynth, format_report, parse_csynth

SHARED_REPORTS = SHARED / "reports"
needs_shared = pytest.mark.skipif(
    not SHARED_REPORTS.is_dir(), reason=f"shared report folder {SHARED_REPORTS} is absent"
)

U250 = {"bram_18k": 5376, "dsp": 12288, "ff": 3456000, "lut": 1728000, "uram": 1280}
_FIELDS = (
    "tool_version part top clock_target_ns clock_uncertainty_ns pipeline_type clock_estimated_ns "
    "latency_best_cycles latency_worst_cycles interval_min interval_max bram_18k dsp ff lut uram"
).split()


def _case(*values, available):
    return dict(zip(_FIELDS, values, strict=True), available=available)


# Columns as in SOURCES.md: version, part, top, target clk, uncertainty, PipelineType, est. clock,
# best lat, worst lat, Interval-min, Interval-max, BRAM_18K, DSP, FF, LUT, URAM (None = absent).
EXPECTED: dict[str, dict] = {
    "01_tony2278_Xilinx-Vivado-HLS_2018.3.xml": _case(
        "2018.3", "xa7a12tcsg325-1q", "hls_sobel", 10, 1.25, "dataflow", 8.144,
        160, 2089114, 159, 2089113, 9, 0, 1680, 4546, None,
        available={"bram_18k": 40, "dsp": 40, "ff": 16000, "lut": 8000, "uram": None},
    ),
    "02_Hector-Plata_hls4ml-tutorial_2019.2.xml": _case(
        "2019.2", "xcu250-figd2104-2L-e", "myproject", 5, 0.62, "function", 4.357,
        13, 13, 1, 1, 4, 1450, 10961, 84942, 0,
        available=U250,
    ),
    "04_ChiRuiChen_Deepcalo_Linchi_2019.2.1.xml": _case(
        "2019.2.1", "xc7z020-clg400-1", "myproject", 5, 0.62, "dataflow", 4.974,
        2883520, 2885127, 30802, 2885101, 86, 22, 209378, 192359, 0,
        available={"bram_18k": 280, "dsp": 220, "ff": 106400, "lut": 53200, "uram": 0},
    ),
    "06_hashi0203_Vitis_HLS_Gaussian_2020.2.xml": _case(
        "2020.2", "xczu7ev-ffvc1156-2-e", "gaussian", 10, 2.7, "none", 6.427,
        262673, 262673, 262674, 262674, 3, 0, 973, 1870, 0,
        available={"bram_18k": 624, "dsp": 1728, "ff": 460800, "lut": 230400, "uram": 96},
    ),
    # The .rpt ("Synthesis Summary Report") and ModuleInformation/Module[topk_sort] say LUT 60981;
    # the top-level AreaEstimates/Resources (and SOURCES.md) say 60979. The parser reads the latter.
    "08_Taise228_topk_sort_2022.1.xml": _case(
        "2022.1", "xck26-sfvc784-2LV-c", "topk_sort", 10, 2.7, "dataflow", 5.283,
        1208, 1208, 1003, 1003, 0, 0, 52110, 60979, 0,
        available={"bram_18k": 288, "dsp": 1248, "ff": 234240, "lut": 117120, "uram": 64},
    ),
    "09_nrp-nautilus_6nrp-hls4ml_2022.2.xml": _case(
        "2022.2", "xcu250-figd2104-2L-e", "myproject", 5, 1.35, "yes", 3.636,
        15, 15, 1, 1, 8, 2557, 24233, 116694, 0,
        available=U250,
    ),
    "12_seanlipps_ECE226_CoDesign_2024.1.xml": _case(
        "2024.1", "xcu250-figd2104-2L-e", "myproject", 5, 1.35, "dataflow", 3.53,
        395, 395, 390, 390, 29, 467, 7123, 17966, 0,
        available=U250,
    ),
}
# Older .rpt files carry "|Total" and "|Available" rows; 08's Summary-style .rpt has neither.
RPT_HAS_TOTALS = {name for name in EXPECTED if not name.startswith("08_")}

JSON_KEYS = {
    "tool_version", "part", "top", "pipeline_type", "clock_target_ns", "clock_estimated_ns",
    "clock_uncertainty_ns", "latency_best_cycles", "latency_worst_cycles", "latency_best_ns",
    "latency_worst_ns", "interval_min", "interval_max", "bram_18k", "dsp", "ff", "lut", "uram",
    "available", "utilization_pct", "source",
}
NOT_A_REPORT = "<profile><Something/></profile>"


@needs_shared
def test_every_shared_report_has_an_expected_case():
    assert sorted(p.name for p in SHARED_REPORTS.glob("*.xml")) == sorted(EXPECTED)


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_report_figures(name):
    rep = parse_csynth(SHARED_REPORTS / name)
    expected = EXPECTED[name]
    got = {key: getattr(rep, key) for key in expected}
    mismatches = [(k, expected[k], got[k]) for k in expected if expected[k] != got[k]]
    assert not mismatches, f"{name}: {len(mismatches)} mismatches (key, expected, got): {mismatches}"
    # "Numbers as int where integral": cycles and resources are ints, 10.00 ns is 10.
    for key in ("latency_best_cycles", "interval_max", "ff", "clock_target_ns"):
        assert type(getattr(rep, key)) is int, key
    assert rep.source == str(SHARED_REPORTS / name)


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_latency_ns_matches_the_tools_real_time_latency(name):
    """latency_*_ns = cycles x target clock, as the tool's own *RealTimeLatency elements."""
    rep = parse_csynth(SHARED_REPORTS / name)
    text = (SHARED_REPORTS / name).read_text()
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    for case, ours in (("Best", rep.latency_best_ns), ("Worst", rep.latency_worst_ns)):
        assert ours == getattr(rep, f"latency_{case.lower()}_cycles") * rep.clock_target_ns
        found = re.search(rf"<{case}-caseRealTimeLatency>([\d.]+) (\w+)<", text)
        if found is None:  # 2018.3 writes no RealTimeLatency
            continue
        tool_ns = float(found[1]) * scale[found[2]]
        assert ours == pytest.approx(tool_ns, rel=1e-3), (case, found[0])


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rpt_twin_agrees(name):
    """Header, clock row and (where the .rpt has them) Total/Available rows of the text twin."""
    rep = parse_csynth(SHARED_REPORTS / name)
    rpt = (SHARED_REPORTS / name).with_suffix(".rpt").read_text().replace("\r", "")
    assert re.search(rf"\* Version:\s+{re.escape(rep.tool_version)} \(", rpt)
    assert re.search(rf"\* Target device:\s+{re.escape(rep.part)}\n", rpt)
    if name not in RPT_HAS_TOTALS:
        return
    clock = re.search(r"\|ap_clk\s*\|\s*([\d.]+)(?: ns)?\s*\|\s*([\d.]+)(?: ns)?\s*\|\s*([\d.]+)", rpt)
    assert [float(x) for x in clock.groups()] == [
        rep.clock_target_ns, rep.clock_estimated_ns, rep.clock_uncertainty_ns
    ]
    keys = [k for k in RESOURCES if getattr(rep, k) is not None]
    for label, want in (("Total", rep.used()), ("Available", rep.available)):
        row = re.search(rf"^\|{label}\s*\|(.*)\|$", rpt, re.M)
        assert [int(x) for x in row[1].split("|")] == [want[k] for k in keys], label


@needs_shared
def test_json_dict_keys_and_values():
    rep = parse_csynth(SHARED_REPORTS / "01_tony2278_Xilinx-Vivado-HLS_2018.3.xml")
    data = json.loads(json.dumps(rep.to_json_dict()))
    assert set(data) == JSON_KEYS
    assert set(data["available"]) == set(RESOURCES) == set(data["utilization_pct"])
    assert data["uram"] is None and data["available"]["uram"] is None
    assert data["latency_best_ns"] == 1600 and data["latency_worst_ns"] == 20891140
    assert data["utilization_pct"] == {"bram_18k": 22.5, "dsp": 0.0, "ff": 10.5, "lut": 56.83, "uram": None}


@needs_shared
def test_format_report_table():
    rep = parse_csynth(SHARED_REPORTS / "04_ChiRuiChen_Deepcalo_Linchi_2019.2.1.xml")
    text = format_report(rep)
    assert "xc7z020-clg400-1" in text and "Vivado HLS 2019.2.1" in text
    assert "target 5 ns, estimated 4.974 ns, uncertainty 0.62 ns" in text
    assert "2,883,520 .. 2,885,127 cycles" in text and "14.418 ms .. 14.426 ms" in text
    assert "interval  30,802 .. 2,885,101 cycles" in text
    assert re.search(r"^resource\s+used\s+available\s+%$", text, re.M)
    assert re.search(r"^LUT\s+192,359\s+53,200\s+361\.58$", text, re.M)
    assert re.search(r"^URAM\s+0\s+0\s+n/a$", text, re.M)


# --- project directories ------------------------------------------------------------------------

def _place(src: Path, dest: Path, mtime: float | None = None) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    if mtime is not None:
        os.utime(dest, (mtime, mtime))
    return dest


@needs_shared
def test_hls4ml_project_directory(tmp_path):
    src = SHARED_REPORTS / "09_nrp-nautilus_6nrp-hls4ml_2022.2.xml"
    report_dir = tmp_path / "myproject_prj" / "solution1" / "syn" / "report"
    target = _place(src, report_dir / "myproject_csynth.xml")
    # A sub-module report beside it must not be taken for the top.
    _place(SHARED_REPORTS / "06_hashi0203_Vitis_HLS_Gaussian_2020.2.xml", report_dir / "relu_csynth.xml")
    solution = report_dir.parent.parent
    for given in (tmp_path, tmp_path / "myproject_prj", solution, solution / "syn", report_dir):
        rep = parse_csynth(given)
        assert rep.source == str(given / target.relative_to(given)), given
        assert (rep.top, rep.dsp, rep.latency_worst_cycles) == ("myproject", 2557, 15)


@needs_shared
def test_project_directory_newest_solution_and_csynth_xml_preferred(tmp_path):
    old = _place(SHARED_REPORTS / "02_Hector-Plata_hls4ml-tutorial_2019.2.xml",
                 tmp_path / "prj" / "solution1" / "syn" / "report" / "csynth.xml", mtime=1_000_000)
    new_dir = tmp_path / "prj" / "solution2" / "syn" / "report"
    new = _place(SHARED_REPORTS / "12_seanlipps_ECE226_CoDesign_2024.1.xml", new_dir / "csynth.xml", 2e6)
    _place(SHARED_REPORTS / "06_hashi0203_Vitis_HLS_Gaussian_2020.2.xml", new_dir / "a_csynth.xml")
    _place(SHARED_REPORTS / "06_hashi0203_Vitis_HLS_Gaussian_2020.2.xml", new_dir / "b_csynth.xml")
    assert find_csynth(tmp_path / "prj") == new
    assert parse_csynth(tmp_path / "prj").tool_version == "2024.1"
    os.utime(old, (3_000_000, 3_000_000))
    assert parse_csynth(tmp_path / "prj").tool_version == "2019.2"


@needs_shared
def test_vitis_unified_component_directory(tmp_path):
    src = SHARED_REPORTS / "08_Taise228_topk_sort_2022.1.xml"
    target = _place(src, tmp_path / "ws" / "topk" / "hls" / "syn" / "report" / "csynth.xml")
    assert find_csynth(tmp_path / "ws" / "topk") == target
    assert find_csynth(tmp_path / "ws") == target
    assert parse_csynth(tmp_path / "ws" / "topk").top == "topk_sort"


def test_directory_without_report(tmp_path):
    (tmp_path / "prj" / "solution1" / "syn" / "report").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"^.*prj: no csynth report found") as info:
        parse_csynth(tmp_path / "prj")
    assert "\n" not in str(info.value) and info.value.exit_code == 2


# --- errors and robustness ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file or directory"),
        (b"", "not an XML file"),
        (b"\x00\x01binary", "not an XML file"),
        (b"name: not xml\n", "not an XML file"),
        (b"<html><body/></html>", "not a Vivado/Vitis HLS csynth report"),
        (NOT_A_REPORT.encode(), "not a Vivado/Vitis HLS csynth report"),
    ],
    ids=["missing", "empty", "binary", "yaml", "html", "profile-without-sections"],
)
def test_bad_files_raise_one_line_usage_error(tmp_path, content, message):
    path = tmp_path / "csynth.xml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        parse_csynth(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert info.value.exit_code == 2


def test_missing_elements_and_undef_become_none(tmp_path):
    path = tmp_path / "csynth.xml"
    path.write_text(
        "<profile><UserAssignments><unit>ns</unit><Part>xc7z020clg400-1</Part>"
        "<TargetClockPeriod>3.33</TargetClockPeriod></UserAssignments>"
        "<PerformanceEstimates><SummaryOfOverallLatency><Best-caseLatency>7</Best-caseLatency>"
        "<Worst-caseLatency>undef</Worst-caseLatency><Interval-min>undef</Interval-min>"
        "</SummaryOfOverallLatency></PerformanceEstimates>"
        "<AreaEstimates><Resources><DSP48E>3</DSP48E><LUT></LUT></Resources></AreaEstimates></profile>"
    )
    rep = parse_csynth(path)
    assert isinstance(rep, SynthReport)
    assert (rep.part, rep.clock_target_ns, rep.latency_best_cycles) == ("xc7z020clg400-1", 3.33, 7)
    assert rep.latency_best_ns == 23.31  # 7 x 3.33, without binary noise
    assert rep.latency_worst_cycles is rep.latency_worst_ns is rep.interval_min is None
    assert (rep.dsp, rep.lut, rep.tool_version, rep.clock_estimated_ns) == (3, None, None, None)
    assert rep.available == dict.fromkeys(RESOURCES)
    data = rep.to_json_dict()
    assert set(data) == JSON_KEYS and data["utilization_pct"] == dict.fromkeys(RESOURCES)
    assert "n/a" in format_report(rep)


def test_interval_falls_back_to_dataflow_throughput_and_units_convert(tmp_path):
    path = tmp_path / "top_csynth.xml"
    path.write_text(
        "<profile><UserAssignments><unit>us</unit><TargetClockPeriod>0.004</TargetClockPeriod>"
        "</UserAssignments><PerformanceEstimates><SummaryOfTimingAnalysis><unit>ps</unit>"
        "<EstimatedClockPeriod>3500</EstimatedClockPeriod></SummaryOfTimingAnalysis>"
        "<SummaryOfOverallLatency><DataflowPipelineThroughput><range><min>5</min><max>9</max></range>"
        "</DataflowPipelineThroughput></SummaryOfOverallLatency></PerformanceEstimates></profile>"
    )
    rep = parse_csynth(str(path))
    assert (rep.clock_target_ns, rep.clock_estimated_ns) == (4, 3.5)
    assert (rep.interval_min, rep.interval_max) == (5, 9)
