"""Adding a stage kind (docs/architecture.md, "Adding a layer kind") means one entry in each per-kind table:
every table covers every StageKind, and no table names a kind that does not exist."""

from __future__ import annotations

import pytest

from hlsgen.spec import StageKind
from hlsgen.spec.kinds import PARAMS


def _tables() -> dict[str, dict]:
    from hlsgen.golden.layers import STAGE_FUNCTIONS
    from hlsgen.rtl.trace import STAGES

    return {"hlsgen.spec.kinds.PARAMS": PARAMS, "hlsgen.golden.layers.STAGE_FUNCTIONS": STAGE_FUNCTIONS,
            "hlsgen.rtl.trace.STAGES": STAGES}


@pytest.mark.parametrize("table", sorted(_tables()))
def test_every_per_kind_table_covers_every_stage_kind(table):
    entries = _tables()[table]
    missing = sorted(k.value for k in StageKind if k not in entries)
    assert not missing, f"{table} has no entry for {missing}"
    assert all(isinstance(k, StageKind) for k in entries), f"{table} is keyed by something else than StageKind"

