"""Validation of config values: each check returns the value or raises a one-line
:class:`~hlsgen.errors.ConfigError` that names the key (``where``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType


def unknown_keys(where: str, given: Mapping[str, Any], allowed) -> None:
    """Reject a key of ``given`` not in ``allowed``, suggesting the closest valid one."""
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(allowed)}"
            raise ConfigError(f"{where}{'.' if where else ''}{key}: unknown key{hint}")


def mapping(where: str, value: Any) -> Mapping[str, Any]:
    """A YAML mapping (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def integer(where: str, value: Any, minimum: int | None = None) -> int:
    """An int (not a bool), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: must be >= {minimum}, got {value}")
    return value


def number(where: str, value: Any, positive: bool = True) -> float:
    """An int or float (not a bool), > 0 if ``positive``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{where}: must be > 0, got {value}")
    return float(value)


def choice(where: str, value: Any, choices) -> str:
    """One of ``choices``, suggesting the closest on a miss."""
    if value not in choices:
        close = difflib.get_close_matches(str(value), list(choices), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}{hint}")
    return value


def parse_type(where: str, value: Any) -> FixedType:
    """Parse a precision string, raising ConfigError that names the key; rejects I > W,
    whose LSB is 2 or more and so cannot represent network values."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a type such as 'ap_fixed<8,3>', got {value!r}")
    try:
        t = FixedType.parse(value)
    except ValueError as err:
        raise ConfigError(f"{where}: {value!r}: {err}") from None
    if t.integer > t.width:
        raise ConfigError(
            f"{where}: {value!r} has more integer bits than width: its LSB is {t.lsb:g}, too coarse "
            "for network values (legal C++, but every weight and activation would round to a multiple "
            f"of {t.lsb:g}); use I <= W"
        )
    return t


def merge(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated by ``given`` (one level)."""
    out = dict(defaults)
    out.update(given)
    return out
