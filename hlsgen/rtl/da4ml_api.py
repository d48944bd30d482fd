"""The one place that knows which da4ml is installed: 0.5.2 (the newest that runs with numpy 1, the primary
stack) or 0.6.x (numpy 2, the Keras 3 stack). Everything else in :mod:`hlsgen.rtl` reaches da4ml's program
types through here, never through ``da4ml.cmvm.types`` (0.5.2) or ``da4ml.types`` (0.6).

What differs between them, as far as hlsgen uses it (read from the installed sources):

* ``CombLogic``, ``Pipeline``, ``Op``, ``QInterval`` live in ``da4ml.cmvm.types`` (0.5.2) or ``da4ml.types``
  (0.6); ``_minimal_kif`` became ``minimal_kif`` (0.5.2's ``minimal_kif`` is its numba-compiled twin).
* da4ml's Verilog writer saves a ``Pipeline``'s program as ``model/comb.json`` (0.5.2) or
  ``model/pipeline.json`` (0.6); a ``CombLogic``'s is ``model/comb.json`` in both (:func:`program_file`).
  Read from the wrong file, a cached unit is traced and written again, and a cached network never found.
* ``comb_trace(..., keep_dead_inputs=True)``: 0.5.2 keeps every operation's index (a dead one becomes a
  constant); 0.6 removes dead operations and renumbers the rest. Inputs stay in both: 0.6 keeps an unused
  input because its operation's first operand is the input's own number, which is its own position (the
  inputs are the first operations of a trace, in order), so it marks itself live. A program whose input
  ``n`` were dropped would declare it as a zero-width element (``inp_qint`` ``[0, 0]``): da4ml's simulation
  and :mod:`.compose`'s links then skip it consistently, so even that would not change a result.
* ``n_threads`` of ``RTLModel.predict``: 0.5.2 treats 0 as "all cores", 0.6 as ``DA_DEFAULT_THREADS`` or all,
  and a negative value as OpenMP off; hlsgen passes 1 (one thread), the same in both.
* The CMVM solver (the area design's ``x @ W``) is numba-compiled Python in 0.5.2 (compiled on first use and
  cached beside the package: ``tools/setup-rtl.sh`` warms it) and C++ (``da4ml._binary.cmvm_bin``) in 0.6;
  ``search_all_decompose_dc`` (:data:`hlsgen.rtl.trace.SOLVER_OPTIONS`) is an option of both.

Imports are lazy (module ``__getattr__``): without da4ml, ``hlsgen rtl`` still reaches
:func:`hlsgen.rtl.tools.require_da4ml` and exits 3 with one line.
"""

from __future__ import annotations

import importlib
from pathlib import Path

#: the da4ml release series hlsgen's RTL works with (tools.require_da4ml refuses others, exit 3)
SUPPORTED = ("0.5", "0.6")

_TYPES = ("CombLogic", "Pipeline", "Op", "QInterval")


def version() -> str:
    """The installed da4ml's version (``ImportError`` when there is none)."""
    import da4ml

    return str(getattr(da4ml, "__version__", "?"))


def series() -> str:
    """``"0.5"`` or ``"0.6"`` (the first two numbers of :func:`version`)."""
    return ".".join(version().split(".")[:2])


def _types_module():
    try:
        return importlib.import_module("da4ml.types")  # 0.6
    except ImportError:
        return importlib.import_module("da4ml.cmvm.types")  # 0.5.2


def __getattr__(name: str):
    if name in _TYPES:
        return getattr(_types_module(), name)
    if name == "minimal_kif":
        mod = _types_module()
        # 0.5.2: minimal_kif is numba's compiled twin of _minimal_kif (same results; the plain one needs no
        # compilation and takes QInterval tuples of any number type)
        return getattr(mod, "_minimal_kif", None) or mod.minimal_kif
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def program_file(model_dir: Path, pipeline: bool) -> Path:
    """Where da4ml's Verilog writer saved the program of a project (``model_dir`` = its ``model/``): a
    ``Pipeline`` (``pipeline``) or a ``CombLogic``."""
    if pipeline and series() != "0.5":
        return model_dir / "pipeline.json"
    return model_dir / "comb.json"


def load_program(model_dir: Path, pipeline: bool):
    """The ``Pipeline`` (``pipeline``) or ``CombLogic`` saved in ``model_dir``."""
    kind = __getattr__("Pipeline" if pipeline else "CombLogic")
    return kind.load(str(program_file(model_dir, pipeline)))


def comb_trace(inputs, outputs):
    """da4ml's ``comb_trace`` of ``outputs`` from ``inputs`` with every input kept, used or not (module
    docstring): a stage's program declares its whole input, as :mod:`.compose` and :mod:`.mac` assume."""
    from da4ml.trace import comb_trace as trace

    return trace(inputs, outputs, keep_dead_inputs=True)
