"""Part table: lookup by device prefix, and agreement with the tools' own AvailableResources."""

from __future__ import annotations

import pytest
from specs import SHARED

from hlsgen.synth.parts import PARTS, RESOURCE_KEYS, PartResources, lookup_part
from hlsgen.synth.report import RESOURCES, parse_csynth

SHARED_REPORTS = SHARED / "reports"
needs_shared = pytest.mark.skipif(
    not SHARED_REPORTS.is_dir(), reason=f"shared report folder {SHARED_REPORTS} is absent"
)
XC7Z020_REPORT = SHARED_REPORTS / "04_ChiRuiChen_Deepcalo_Linchi_2019.2.1.xml"


@pytest.mark.parametrize(
    ("part", "device"),
    [
        ("xc7z020clg400-1", "xc7z020"),  # hls4ml / hlsgen config spelling
        ("xc7z020-clg400-1", "xc7z020"),  # as the csynth report writes it
        ("xc7z020clg484-1", "xc7z020"),
        ("XC7Z020-CLG484-1", "xc7z020"),
        ("  xc7z020  ", "xc7z020"),
        ("xc7z010clg400-1", "xc7z010"),
        ("xczu3eg-sbva484-1-e", "xczu3eg"),
        ("xczu9eg-ffvb1156-2-e", "xczu9eg"),
        ("xczu7ev-ffvc1156-2-e", "xczu7ev"),
        ("xczu7eg-ffvf1517-2-e", "xczu7ev"),  # same programmable logic as ZU7EV
        ("xck26-sfvc784-2LV-c", "xck26"),
        ("xcku115-flvb2104-2-e", "xcku115"),
        ("xcvu9p-flga2104-2L-e", "xcvu9p"),
        ("xcvu9p", "xcvu9p"),
        ("xcu250-figd2104-2L-e", "xcu250"),
        ("xcu200-fsgd2104-2-e", "xcu200"),
        ("xcu280-fsvh2892-2L-e", "xcu280"),
        ("xa7a12tcsg325-1q", "xc7a12t"),  # automotive variant of the same die
    ],
)
def test_lookup_by_device_prefix(part, device):
    found = lookup_part(part)
    assert found is not None and found.device == device


@pytest.mark.parametrize(
    "part",
    ["", "xc7", "xc7z0201-clg400", "xcvu13p-fhga2104-2L-e", "xczu9", "xcu25", "artix", "7z020clg400"],
)
def test_unknown_parts_give_none(part):
    assert lookup_part(part) is None


def test_xc7z020_figures():
    assert lookup_part("xc7z020clg400-1").resources() == {
        "bram_18k": 280, "dsp": 220, "ff": 106_400, "lut": 53_200, "uram": 0,
    }


def test_xcu250_figures():
    assert lookup_part("xcu250-figd2104-2L-e").resources() == {
        "bram_18k": 5_376, "dsp": 12_288, "ff": 3_456_000, "lut": 1_728_000, "uram": 1_280,
    }


@needs_shared
def test_xc7z020_matches_report_available_resources():
    rep = parse_csynth(XC7Z020_REPORT)
    assert rep.part == "xc7z020-clg400-1"
    assert lookup_part(rep.part).resources() == rep.available


@needs_shared
@pytest.mark.parametrize("xml", sorted(p.name for p in SHARED_REPORTS.glob("*.xml")))
def test_every_tabled_part_matches_its_report(xml):
    rep = parse_csynth(SHARED_REPORTS / xml)
    part = lookup_part(rep.part)
    assert part is not None, f"{rep.part} of {xml} is not in the part table"
    present = {k: v for k, v in rep.available.items() if v is not None}  # 2018.3 has no URAM at all
    assert {k: part.resources()[k] for k in present} == present


def test_table_is_consistent():
    assert RESOURCE_KEYS == tuple(RESOURCES)
    prefixes = [name for p in PARTS.values() for name in (p.device, *p.aliases)]
    assert len(prefixes) == len(set(prefixes))
    for device, part in PARTS.items():
        assert isinstance(part, PartResources) and device == part.device == device.lower()
        counts = part.resources()
        assert all(isinstance(v, int) and v >= 0 for v in counts.values()), device
        assert counts["bram_18k"] % 2 == 0, f"{device}: BRAM_18K is twice the 36 Kb block count"
        assert counts["ff"] == 2 * counts["lut"], f"{device}: every CLB LUT has two flip-flops"
        if device.startswith("xc7"):
            assert counts["uram"] == 0, f"{device}: 7 series has no UltraRAM"
        assert lookup_part(device) is part
