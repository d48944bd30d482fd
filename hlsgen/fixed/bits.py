"""Bit helpers shared by the config rules and the golden model."""

from __future__ import annotations


def ceillog2(x: int) -> int:
    """hls4ml's ``ceillog2`` (nnet_common.h): 1 for x <= 2, else 1 + ceillog2((x + 1) / 2)."""
    return 1 if x <= 2 else 1 + ceillog2((x + 1) // 2)


def floorlog2(x: int) -> int:
    return 0 if x < 2 else 1 + floorlog2(x // 2)
