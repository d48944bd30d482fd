"""The ``ap_fixed`` type: parsing and spelling (:mod:`.types`), the rounding and overflow arithmetic
(:mod:`.rounding`) and bit helpers (:mod:`.bits`). Imports nothing else of hlsgen."""

from hlsgen.fixed.bits import ceillog2, floorlog2
from hlsgen.fixed.rounding import Overflow, Rounding, round_right
from hlsgen.fixed.types import MAX_WIDTH, FixedType

__all__ = ["MAX_WIDTH", "FixedType", "Overflow", "Rounding", "ceillog2", "floorlog2", "round_right"]
