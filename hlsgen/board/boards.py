"""The boards ``hls.board`` may name, with what the block design needs of each.

Sources: the part and board files are AMD's (UG1267 ZCU104 "Board Component Location", DS987 Kria K26,
TUL's PYNQ-Z2 board files ``tul.com.tw:pynq-z2:part0:1.0`` as hls4ml's VivadoAccelerator backend uses
them); the PS IP versions are Vivado 2022.2's (``processing_system7:5.5``, ``zynq_ultra_ps_e:3.4``); the
high-performance port widths are what the PYNQ images configure at boot (64-bit HP ports on Zynq-7000,
PYNQ DMA tutorial; 128-bit on Zynq UltraScale+, the PS default the PYNQ images keep), which the design
must match or the DMA moves only part of each word.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Board:
    """One board: its part, the PS that drives the design and the widths the DMA moves.

    Attributes
    ----------
    name : str
        ``hls.board``'s spelling.
    part : str
        The FPGA part (``hls.part`` must equal it).
    board_part : str
        Vivado's board file (``set_property board_part``), for the PS presets (DDR, MIO, clocks).
    clock_period : float
        The default clock in ns: the PL clock the PS drives (100 MHz on every board here).
    ps : str
        ``zynq7`` (processing_system7) or ``zynqmp`` (zynq_ultra_ps_e).
    stream_bits : int
        TDATA width of the AXI4-Stream between the DMA and the IP, both ways (the DMA's
        ``c_m_axis_mm2s_tdata_width`` and ``c_s_axis_s2mm_tdata_width`` and the IP's ``hls::axis``).
    hp_bits : int
        Data width of the PS's high-performance slave port the DMA writes and reads memory through.
    """

    name: str
    part: str
    board_part: str
    clock_period: float
    ps: str
    stream_bits: int
    hp_bits: int

    @property
    def stream_bytes(self) -> int:
        """Bytes per stream beat."""
        return self.stream_bits // 8


BOARDS: dict[str, Board] = {
    "pynq-z2": Board("pynq-z2", "xc7z020clg400-1", "tul.com.tw:pynq-z2:part0:1.0", 10.0, "zynq7", 32, 64),
    "zcu104": Board("zcu104", "xczu7ev-ffvc1156-2-e", "xilinx.com:zcu104:part0:1.1", 10.0, "zynqmp", 64, 128),
    "kv260": Board("kv260", "xck26-sfvc784-2LV-c", "xilinx.com:kv260_som:part0:1.4", 10.0, "zynqmp", 64, 128),
}
#: ``hls.board``'s values: no board (the HLS project only), or one of :data:`BOARDS`.
BOARD_NAMES: tuple[str, ...] = ("none", *BOARDS)


def board(name: str) -> Board:
    """The board called ``name`` (KeyError for ``none`` or an unknown name)."""
    return BOARDS[name]
