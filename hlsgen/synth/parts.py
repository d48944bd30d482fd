"""Programmable-logic resources of common AMD/Xilinx FPGA parts, looked up by device prefix.

Source of the numbers: the vendors' product tables (AMD/Xilinx product selection guides and data
sheets: 7 Series DS180, Zynq-7000 DS190, Zynq UltraScale+ DS891, UltraScale DS890, Kria K26 DS987,
Alveo U200/U250 DS962 and U280 DS963). Counts are whole-device totals of the programmable logic, in
the units that Vivado/Vitis HLS reports under ``AvailableResources``: ``bram_18k`` is the number of
18 Kb block-RAM halves (twice the 36 Kb block count), ``dsp`` DSP48 slices, ``ff`` CLB flip-flops,
``lut`` CLB LUTs, ``uram`` 288 Kb UltraRAM blocks (0 where the family has none). For an Alveo card
these are the full device's figures, not what remains after the platform shell.

Every device that appears in a shared test report (``xc7z020``, ``xa7a12t``, ``xczu7ev``, ``xck26``,
``xcu250``) equals that report's ``AvailableResources`` exactly; ``tests/synth/test_parts.py`` checks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RESOURCE_KEYS: tuple[str, ...] = ("bram_18k", "dsp", "ff", "lut", "uram")


@dataclass(frozen=True)
class PartResources:
    """Resources of one device (all speed grades, packages and temperature grades share them).

    Attributes
    ----------
    device : str
        Lower-case device name that starts every full part string, e.g. ``"xc7z020"``.
    description : str
        Family and a board that carries it, for humans.
    bram_18k, dsp, ff, lut, uram : int
        Whole-device counts (see the module docstring for units).
    aliases : tuple[str, ...]
        Other device prefixes with the same die (automotive ``xa``, defence ``xq`` variants, ...).
    """

    device: str
    description: str
    bram_18k: int
    dsp: int
    ff: int
    lut: int
    uram: int
    aliases: tuple[str, ...] = ()

    def resources(self) -> dict[str, int]:
        """Counts keyed like :attr:`hlsgen.synth.report.SynthReport.available`."""
        return {key: getattr(self, key) for key in RESOURCE_KEYS}


def _p(
    device: str, description: str, bram_18k: int, dsp: int, ff: int, lut: int, uram: int,
    aliases: tuple[str, ...] = (),
) -> PartResources:
    return PartResources(device, description, bram_18k, dsp, ff, lut, uram, tuple(aliases))


#: Device -> resources. BRAM_18K = 2 x the 36 Kb block count of the product table.
PARTS: dict[str, PartResources] = {
    p.device: p
    for p in (
        # 7 Series (no UltraRAM)
        _p("xc7a12t", "Artix-7 12T", 40, 40, 16_000, 8_000, 0, ("xa7a12t",)),
        _p("xc7a35t", "Artix-7 35T (Arty A7-35)", 100, 90, 41_600, 20_800, 0, ("xa7a35t",)),
        _p("xc7a100t", "Artix-7 100T (Arty A7-100, Nexys A7)", 270, 240, 126_800, 63_400, 0, ("xa7a100t",)),
        _p("xc7z010", "Zynq-7010 (Zybo Z7-10)", 120, 80, 35_200, 17_600, 0, ("xa7z010",)),
        _p("xc7z020", "Zynq-7020 (PYNQ-Z1/Z2, ZedBoard)", 280, 220, 106_400, 53_200, 0, ("xa7z020",)),
        _p("xc7z030", "Zynq-7030", 530, 400, 157_200, 78_600, 0, ("xa7z030",)),
        _p("xc7z045", "Zynq-7045 (ZC706)", 1_090, 900, 437_200, 218_600, 0),
        # Zynq UltraScale+ (CG/EG/EV variants of one size share the programmable logic)
        _p("xczu3eg", "Zynq UltraScale+ ZU3EG (Ultra96)", 432, 360, 141_120, 70_560, 0, ("xczu3cg",)),
        _p("xczu7ev", "ZU+ ZU7EV (ZCU104)", 624, 1_728, 460_800, 230_400, 96, ("xczu7eg", "xczu7cg")),
        _p("xczu9eg", "Zynq UltraScale+ ZU9EG (ZCU102)", 1_824, 2_520, 548_160, 274_080, 0, ("xczu9cg",)),
        _p("xck26", "Kria K26 SOM (KV260, KR260)", 288, 1_248, 234_240, 117_120, 64),
        # UltraScale / UltraScale+
        _p("xcku115", "Kintex UltraScale KU115", 4_320, 5_520, 1_326_720, 663_360, 0),
        _p("xcvu9p", "Virtex UltraScale+ VU9P (VCU118)", 4_320, 6_840, 2_364_480, 1_182_240, 960),
        # Alveo data-centre cards (whole device; the shell takes a share)
        _p("xcu200", "Alveo U200 (VU9P die)", 4_320, 6_840, 2_364_480, 1_182_240, 960),
        _p("xcu250", "Alveo U250 (part xcu250-figd2104-2L-e)", 5_376, 12_288, 3_456_000, 1_728_000, 1_280),
        _p("xcu280", "Alveo U280 (VU37P die, HBM)", 4_032, 9_024, 2_607_360, 1_303_680, 960),
    )
}

_PREFIXES: list[tuple[str, PartResources]] = sorted(
    ((name, p) for p in PARTS.values() for name in (p.device, *p.aliases)),
    key=lambda item: len(item[0]),
    reverse=True,
)
# After the device name a part string continues with its package ("clg400", "-ffvb1156") or ends;
# a further digit would make it another device (xc7z0200 is not xc7z020).
_AFTER_DEVICE = re.compile(r"(?:$|[-_a-z])")


def lookup_part(part: str) -> PartResources | None:
    """Resources of the device a full part string names, or ``None`` if it is not in :data:`PARTS`.

    Parameters
    ----------
    part : str
        A part as Vivado/Vitis spell it, with or without dashes and in any case:
        ``"xc7z020clg400-1"``, ``"xc7z020-clg484-1"``, ``"xczu9eg-ffvb1156-2-e"``,
        ``"xcu250-figd2104-2L-e"``, or just the device ``"xcvu9p"``.

    Returns
    -------
    PartResources | None
        The entry whose device (or alias) is the longest prefix of ``part``.
    """
    text = part.strip().lower()
    for prefix, resources in _PREFIXES:
        if text.startswith(prefix) and _AFTER_DEVICE.match(text, len(prefix)):
            return resources
    return None
