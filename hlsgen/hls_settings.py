"""How a spec is built into hardware: the HLS settings that travel beside the spec (never inside it).

Changing them (part, clock, io type, strategy, reuse factors, board) changes the generated project and the
estimate but not one bit of what the network computes, so no step rebuilds the spec to change them. One class
for both sides: the config's validated ``hls`` section *is* an :class:`HlsSettings` (``Config.hls``), and the
HLS writer and the estimate read the same object. A leaf module (it imports nothing of hlsgen), so the config,
which may not import the spec, and the spec, which may not import the config, share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class HlsSettings:
    """hls4ml's build settings for one project.

    ``reuse_factor`` maps each Conv2D/Dense stage name to its reuse factor (hls4ml's ``ReuseFactor``; the
    config resolves one for every Conv2D/Dense layer);
    ``clock_period`` is in ns. ``board`` is ``none`` (the HLS project only) or a board of
    :mod:`hlsgen.board.boards`, whose AXI4-Stream top, block design and driver the project then also holds.
    """

    part: str
    clock_period: float
    io_type: str = "io_stream"
    strategy: str = "Resource"
    backend: str = "Vitis"
    reuse_factor: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    board: str = "none"

    def reuse(self, stage: str) -> int:
        """The reuse factor of a Conv2D/Dense stage (1 where none is set)."""
        return int(self.reuse_factor.get(stage, 1))

    @property
    def clock_ns(self) -> str:
        """The clock as hls4ml and AMD's cfg files spell it: ``10`` for 10.0, ``2.5`` for 2.5."""
        return f"{self.clock_period:g}"
