"""Validation of config values: each check returns the value or raises a one-line
:class:`~hlsgen.errors.ConfigError` that names the key (``where``)."""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType

#: Longest excerpt of a value that an error message shows (a YAML alias bomb must not become a
#: 351 MB "one-line" error).
MAX_SHOWN = 60
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, MAX_SHOWN, MAX_SHOWN
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_PLAIN_KEY = re.compile(rf"[A-Za-z0-9_.\-]{{1,{MAX_SHOWN}}}\Z")

#: Output paths reach Makefiles, shells and Tcl (the top-level ``make csim`` reads the last build's
#: path): only these characters are accepted. Keep in step with :data:`hlsgen.outdir.SAFE_PATH_CHARS`.
SAFE_PATH = re.compile(r"[A-Za-z0-9._/+\-]+\Z")


def show(value: Any) -> str:
    """``repr(value)`` cut to at most :data:`MAX_SHOWN` characters, computed with bounded depth and
    length (reprlib), so a huge or deeply shared value costs nothing to show; always one line."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int too long for str() (Python's 4300-digit limit)
        text = f"<an integer of {value.bit_length()} bits>" if isinstance(value, int) else f"<{type(value).__name__}>"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def show_key(key: Any) -> str:
    """A mapping key as it appears in a key path: bare when it is a plain word, else :func:`show`."""
    return key if isinstance(key, str) and _PLAIN_KEY.match(key) else show(key)


def closest(value: Any, options) -> str | None:
    """The option ``value`` was most likely meant to be (difflib's closest match), or None: the one
    source of every "did you mean" in the config's errors."""
    if not isinstance(value, str | int | float):
        return None
    found = difflib.get_close_matches(str(value)[:MAX_SHOWN], [str(o) for o in options], n=1)
    return found[0] if found else None


def unknown_keys(where: str, given: Mapping[str, Any], allowed) -> None:
    """Reject a key of ``given`` not in ``allowed``, suggesting the closest valid one."""
    for key in given:
        if key not in allowed:
            close = closest(key, allowed)
            hint = f"; did you mean '{close}'?" if close else f"; valid keys: {', '.join(allowed)}"
            raise ConfigError(f"{where}{'.' if where else ''}{show_key(key)}: unknown key{hint}")


def mapping(where: str, value: Any) -> Mapping[str, Any]:
    """A YAML mapping (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {show(value)}")
    return value


def integer(where: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """An int (not a bool) in ``[minimum, maximum]`` (each bound if given)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer, got {show(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: must be >= {minimum}, got {show(value)}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: must be <= {maximum}{_pow2(maximum)}, got {show(value)}")
    return value


def _pow2(n: int) -> str:
    """`` (2**k - 1)`` or `` (2**k)`` when ``n`` is one of those, for readable limits."""
    for k in range(8, 64):
        if n == 2**k:
            return f" (2**{k})"
        if n == 2**k - 1:
            return f" (2**{k} - 1)"
    return ""


def number(where: str, value: Any, positive: bool = True, maximum: float | None = None) -> float:
    """A finite int or float (not a bool), > 0 if ``positive``, <= ``maximum`` if given."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {show(value)}")
    try:
        as_float = float(value)
    except OverflowError:  # an int beyond float range
        as_float = math.inf
    if not math.isfinite(as_float):
        raise ConfigError(f"{where}: expected a finite number, got {show(value)}")
    if positive and not as_float > 0:
        raise ConfigError(f"{where}: must be > 0, got {show(value)}")
    if maximum is not None and as_float > maximum:
        raise ConfigError(f"{where}: must be <= {maximum:g}, got {show(value)}")
    return as_float


def finite_everywhere(where: str, value: Any, depth: int = 0) -> None:
    """Every float in a parsed config is finite: ``.inf`` and ``.nan`` are refused wherever they
    appear, naming the key (``clock_period: .inf`` once wrote ``clock=infns`` into the project)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where or 'config'}: expected a finite number, got {show(value)}")
    if depth > 50:
        return  # the YAML reader refuses such depth; a dict built in Python is the caller's business
    if isinstance(value, Mapping):
        for key, item in value.items():
            finite_everywhere(f"{where}{'.' if where else ''}{show_key(key)}", item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            finite_everywhere(f"{where}[{i}]", item, depth + 1)


def safe_path(where: str, value: str) -> str:
    """A path that may be written into a Makefile, a shell command or Tcl: only the characters of
    :data:`SAFE_PATH` (``A-Z a-z 0-9 . _ / + -``), no component starting with ``-``, not ``.``/``..``
    or the root alone. Returns ``value``."""
    if not value:
        raise ConfigError(f"{where}: expected a directory path, got an empty string")
    if not SAFE_PATH.match(value):
        bad = next(c for c in value if not SAFE_PATH.match(c))
        raise ConfigError(f"{where}: {show(value)} contains {show(bad)}: output paths may use only letters, "
                          "digits and . _ / + - (they are written into Makefiles and shell commands)")
    parts = [p for p in value.split("/") if p]
    if any(p.startswith("-") for p in parts):
        raise ConfigError(f"{where}: {show(value)}: a path component may not start with '-' "
                          "(it would read as a command-line option)")
    if not parts or all(p == "." for p in parts) or parts[-1] == "..":
        raise ConfigError(f"{where}: {show(value)} names the root, the current directory or a parent; "
                          "give a directory of its own, e.g. build/<name>")
    return value


def choice(where: str, value: Any, choices) -> str:
    """One of ``choices``, suggesting the closest on a miss."""
    if not isinstance(value, (str, int, float, bool, type(None))) or value not in choices:
        close = closest(value, choices) if isinstance(value, str) else None
        hint = f" (did you mean '{close}'?)" if close else ""
        raise ConfigError(f"{where}: {show(value)} is not one of {', '.join(map(str, choices))}{hint}")
    return value


def parse_type(where: str, value: Any) -> FixedType:
    """Parse a precision string, raising ConfigError that names the key; rejects I > W,
    whose LSB is 2 or more and so cannot represent network values. A ``FixedType`` (a config changed through
    :meth:`hlsgen.config.loader.Config.with_types`) is taken as it is, never formatted and parsed back."""
    if isinstance(value, FixedType):
        return _coarse(where, value, str(value))
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a type such as 'ap_fixed<8,3>', got {show(value)}")
    if len(value) > MAX_SHOWN or not value.isprintable():
        raise ConfigError(f"{where}: {show(value)} is not a type such as 'ap_fixed<8,3>'")
    try:
        t = FixedType.parse(value)
    except ValueError as err:
        raise ConfigError(f"{where}: {value!r}: {err}") from None
    return _coarse(where, t, value)


def _coarse(where: str, t: FixedType, value: str) -> FixedType:
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


#: Model files ``train.init`` may name: Keras 2 whole models (HDF5 or the .keras zip).
MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")


def model_file(where: str, value: Any, words: tuple[str, ...]) -> str:
    """One of ``words``, or the path of an existing Keras model file (:data:`MODEL_SUFFIXES`; relative
    paths are taken from the current directory). Returns ``value``."""
    if isinstance(value, str) and value in words:
        return value
    expected = f"{', '.join(words)} or the path of a Keras model file ({', '.join(MODEL_SUFFIXES)})"
    if not isinstance(value, str) or not value or len(value) > 4096 or not value.isprintable():
        raise ConfigError(f"{where}: expected {expected}, got {show(value)}")
    path = Path(value)
    if path.suffix.lower() not in MODEL_SUFFIXES:
        close = closest(value, words)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise ConfigError(f"{where}: {show(value)} is not one of {', '.join(words)}{hint}, nor a Keras model file "
                          f"({', '.join(MODEL_SUFFIXES)})")
    if not path.is_file():
        raise ConfigError(f"{where}: {show(value)}: no such file (relative paths are taken from the current "
                          "directory)")
    return value


def file_digest(where: str, path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a file's bytes: a changed model file invalidates a cached training."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise ConfigError(f"{where}: {show(str(path))}: cannot read ({err.strerror})") from None
    return digest.hexdigest()[:16]
