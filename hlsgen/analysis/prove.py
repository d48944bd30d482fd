"""Overflow proofs of a spec: every cast ends ``proved`` (by the interval analysis, :mod:`.interval`, or by
the exact method, :mod:`.exact`), ``may_overflow`` with a witness input the golden model confirms
(:mod:`.witness`), or ``unknown`` with its interval bound when the exact method's time runs out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import numpy as np

from hlsgen.analysis.exact import Unsupported, exact_check
from hlsgen.analysis.interval import CastCheck, analyse, headroom_bits
from hlsgen.analysis.witness import confirmed, find_witness
from hlsgen.spec import HardwareSpec

__all__ = ["BUILD_TIME_LIMIT", "DEFAULT_TIME_LIMIT", "CastCheck", "CastReport", "ProofMethod", "ProofStatus",
           "analyse", "find_witness", "prove", "summary"]

DEFAULT_TIME_LIMIT = 60.0  # seconds per cast, witness search and exact method (hlsgen prove --time-limit)
BUILD_TIME_LIMIT = 5.0  # the same in hlsgen build, which must stay fast (hlsgen prove is the thorough run)


class ProofStatus(str, Enum):
    """A cast's verdict (a str: JSON keeps the spelling)."""

    PROVED = "proved"              # no input in range overflows it
    MAY_OVERFLOW = "may_overflow"  # the witness input overflows it (the golden model confirms)
    UNKNOWN = "unknown"            # neither shown within the time limit


class ProofMethod(str, Enum):
    """How a proved cast was proved."""

    INTERVAL = "interval"  # interval bounds, stage by stage
    EXACT = "exact"        # z3: no input of the box takes any value beyond the type (per value, exactly)


@dataclass(frozen=True)
class CastReport:
    """One cast's verdict, as ``hlsgen prove --json`` prints it."""

    layer: str
    cast: str
    type: str
    status: ProofStatus
    bound: tuple[float, float]  # the pre-cast value's bounds over every input in range (sound)
    headroom_bits: int | None
    witness: list[int] | None
    witness_confirmed: bool
    test_overflow_fraction: float | None
    method: ProofMethod | None = None  # for a proved cast
    seconds: float = 0.0  # time spent on this cast beyond the interval analysis

    def to_json(self) -> dict:
        return {"layer": self.layer, "cast": self.cast, "type": self.type, "status": self.status.value,
                "method": None if self.method is None else self.method.value, "bound": list(self.bound),
                "headroom_bits": self.headroom_bits, "witness": self.witness,
                "witness_confirmed": self.witness_confirmed, "test_overflow_fraction": self.test_overflow_fraction,
                "seconds": round(self.seconds, 3)}


def _values(c: CastCheck, lo: int, hi: int) -> tuple[float, float]:
    return lo * 2.0**-c.src.frac, hi * 2.0**-c.src.frac


def prove(spec: HardwareSpec, test_inputs: np.ndarray | None = None, search: bool = True,
          time_limit: float = DEFAULT_TIME_LIMIT) -> list[CastReport]:
    """Every cast of the spec, in network order: proved by intervals; else may overflow when a test input
    or the witness search (``search``, up to 3/4 of ``time_limit``, at most 10 s) gives an input the golden
    model confirms; else the exact method in the rest of ``time_limit`` seconds per cast (0: not tried):
    proved, or a witness (confirmed), or unknown. A cast
    proved either way counts as proved for the exact checks of later casts.

    ``test_overflow_fraction`` is the fraction of ``test_inputs`` that overflow the cast."""
    t = spec.input_t
    shape = (1, *spec.input_shape)
    outputs: dict = {}
    box = analyse(spec, np.full(shape, t.min_code), np.full(shape, t.max_code), outputs=outputs)
    # the same array as both bounds: the analysis of points (one pass per weighted stage)
    tests = analyse(spec, test_inputs, test_inputs) if test_inputs is not None and len(test_inputs) else None
    checks = {(c.layer, c.cast): c for c in box}
    proved = {k for k, c in checks.items() if c.overflow[0] == 0}
    starts = [np.full(spec.input_shape, t.min_code), np.full(spec.input_shape, t.max_code)]
    reports = []
    for i, c in enumerate(box):
        start = time.monotonic()
        key = (c.layer, c.cast)
        fraction = float(np.mean(tests[i].overflow > 0)) if tests is not None else None
        bound = _values(c, int(c.lo[0]), int(c.hi[0]))
        if key in proved:
            reports.append(CastReport(c.layer, c.cast, str(c.t), ProofStatus.PROVED, bound, headroom_bits(c), None,
                                      False, fraction, ProofMethod.INTERVAL))
            continue
        found = None
        if tests is not None and tests[i].overflow.any():  # a test image already overflows it
            found = test_inputs[int(np.argmax(tests[i].overflow > 0))]
        elif search:
            cand = np.stack(starts + ([test_inputs[int(np.argmax(tests[i].excess))]] if tests is not None else []))
            found = find_witness(spec, c.layer, c.cast, cand, seconds=min(10.0, max(0.75 * time_limit, 1.0)))
        if found is not None and confirmed(spec, found, c.layer, c.cast):
            reports.append(CastReport(c.layer, c.cast, str(c.t), ProofStatus.MAY_OVERFLOW, bound, None,
                                      found.reshape(-1).tolist(), True, fraction,
                                      seconds=time.monotonic() - start))
            continue
        status, method, witness, head = ProofStatus.UNKNOWN, None, None, None
        left = time_limit - (time.monotonic() - start)
        if time_limit > 0:
            try:
                outcome = exact_check(spec, checks, proved, key, max(left, 1.0))
            except Unsupported:
                outcome = None
            if outcome is not None and outcome.proved:
                status, method, bound = ProofStatus.PROVED, ProofMethod.EXACT, _values(c, *outcome.bound)
                proved.add(key)
                head = 0  # the type holds every value; whether a narrower one would is not asked
            elif outcome is not None and outcome.witness is not None and confirmed(spec, outcome.witness, *key):
                status, witness = ProofStatus.MAY_OVERFLOW, outcome.witness.reshape(-1).tolist()
        reports.append(CastReport(c.layer, c.cast, str(c.t), status, bound, head, witness, witness is not None,
                                  fraction, method, time.monotonic() - start))
    return reports


def summary(reports: list[CastReport]) -> str:
    """One line: how many casts are proved (how many of them exactly), where the hardware may saturate
    (test-set fractions), and which casts are unknown."""
    proved = [r for r in reports if r.status is ProofStatus.PROVED]
    exact = sum(r.method is ProofMethod.EXACT for r in proved)

    def where(r: CastReport) -> str:
        return f"{r.layer} {r.cast}" + (f" ({100 * r.test_overflow_fraction:.1f} % of test images)"
                                        if r.test_overflow_fraction is not None else "")

    risky = [where(r) for r in reports if r.status is ProofStatus.MAY_OVERFLOW]
    unknown = [f"{r.layer} {r.cast}" for r in reports if r.status is ProofStatus.UNKNOWN]
    return (f"proved overflow-free: {len(proved)} of {len(reports)} casts" + (f" ({exact} exactly)" if exact else "")
            + (f"; may saturate: {', '.join(risky)}" if risky else "")
            + (f"; unknown (time limit): {', '.join(unknown)}" if unknown else ""))
