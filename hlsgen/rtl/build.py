"""Traced programs → Verilog (da4ml's writer) → a Verilator model (da4ml's makefile), cached by digest.

A *unit* is a run of stages built as one combinational module: the whole network, or one stage for
``--layers``. Its directory ``PROJECT/rtl/<name>-<digest>/`` holds da4ml's project (``src/*.v``, the
lookup-table ``memfiles``, the traced program in ``model/``: ``comb.json``, or for a ``Pipeline`` with da4ml 0.6
``pipeline.json``, :func:`.da4ml_api.program_file`) and, once Verilator has built it,
``sim/lib<name>_wrapper_<id>.so`` and ``built.json``. The digest covers everything the logic depends on
(the stages' JSON, their weight codes, the input type, da4ml's version and solver options, this module's
format), so an edited spec gets a new directory and never an old build. Inside it, ``written.json`` and
``built.json`` record the SHA-256 of every source file (and of the built library): a traced program or a
build is reused only when those still match, so an edited Verilog file is traced and built again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.rtl import mac, tools, verilate
from hlsgen.rtl.trace import SOLVER_OPTIONS, trace_stages
from hlsgen.spec import HardwareSpec, Stage
from hlsgen.verify.evidence import file_sha256, tree_sha256

FORMAT = 1  # bump when the traced logic for the same spec changes


#: The two designs of a unit. ``check``: what ``hlsgen rtl`` simulates, Conv2D and Dense stages as plain
#: constant multiplications (:mod:`.mac`, built in seconds); ``area``: every stage traced by da4ml, the
#: constant-matrix products solved for shared adders (minutes to tens of minutes): what ``--synth`` counts.
DESIGNS = ("check", "area")


@dataclass
class Unit:
    """Stages built as one module; ``input_t`` is the type of its inputs; ``design`` one of :data:`DESIGNS`."""

    name: str
    stages: tuple[Stage, ...]
    input_t: FixedType
    design: str = "check"

    @property
    def output_t(self) -> FixedType:
        return self.stages[-1].result_t

    @property
    def uses_mac(self) -> bool:
        """Whether the unit is a weighted stage's check design (:mod:`.mac`); any other unit is the same
        program in both designs (one directory, traced once for both)."""
        return self.design == "check" and len(self.stages) == 1 and mac.applies(self.stages[0])

    def digest(self, da4ml_version: str) -> str:
        h = hashlib.sha256()
        doc = {"format": FORMAT, "da4ml": da4ml_version, "solver": SOLVER_OPTIONS, "input_t": str(self.input_t),
               "stages": [s.to_json() for s in self.stages]}
        if self.uses_mac:
            doc["mac"] = mac.FORMAT
        h.update(json.dumps(doc, sort_keys=True).encode())
        for s in self.stages:
            for codes in (s.weight_codes, s.bias_codes):
                if codes is not None:
                    a = np.ascontiguousarray(codes, dtype=np.int64)
                    h.update(str(a.shape).encode())
                    h.update(a.tobytes())
        return h.hexdigest()[:16]


def stage_units(spec: HardwareSpec, design: str = "check") -> list[Unit]:
    """One unit per stage with logic (flatten is a reshape of the same row-major order: no unit)."""
    return [Unit(s.name, (s,), s.input_t, design) for s in spec.stages if s.kind != "flatten"]


@dataclass
class Timings:
    trace: float = 0.0
    build: float = 0.0
    simulate: float = 0.0
    cached: bool = False  # the Verilator build was found, not made


def module_name(name: str) -> str:
    clean = "".join(c if c.isalnum() else "_" for c in name)
    return f"m_{clean}"


def unit_digest(unit: Unit) -> str:
    return unit.digest(tools.require_da4ml())


def unit_dir(unit: Unit, root: Path) -> Path:
    return root / f"{unit.name}-{unit_digest(unit)}"


def load_or_trace(unit: Unit, root: Path, log=print, timings: Timings | None = None):
    """The unit's program (a traced ``CombLogic``; for a weighted stage's check design a ``Pipeline`` of the
    MAC's stub and the traced cast, :mod:`.mac`), from its directory when it was written before for the same
    digest, else made now and written there as da4ml's Verilog project: returns ``(program, dir)``."""
    from da4ml.codegen import VerilogModel

    from hlsgen.rtl import da4ml_api

    path = unit_dir(unit, root)
    if written_intact(path):
        try:
            return da4ml_api.load_program(path / "model", pipeline=unit.uses_mac), path
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            pass  # an incomplete or foreign entry: trace again
    elif (path / "written.json").exists():
        log(f"rtl: {unit.name}: {path} differs from what was written (a file edited, added or removed); "
            "tracing again")
    t = time.perf_counter()
    if unit.uses_mac:
        comb = da4ml_api.Pipeline(mac.programs(unit.stages[0], unit.input_t))
        what = f"{mac.operations(unit.stages[0])} multiply-adds and {len(comb.solutions[1].ops)} operations"
        ops = len(comb.solutions[1].ops)
    else:
        comb = trace_stages(unit.stages, unit.input_t)
        what = f"{len(comb.ops)} operations"
        ops = len(comb.ops)
    elapsed = time.perf_counter() - t
    if timings is not None:
        timings.trace += elapsed
    log(f"rtl: {unit.name}: traced in {elapsed:.1f} s ({what})")
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    prj = module_name(unit.name)
    VerilogModel(comb, prj, path).write()
    if unit.uses_mac:  # the stub's module replaced by the MAC
        (path / "src" / f"{prj}_stage0.v").write_text(mac.verilog(unit.stages[0], unit.input_t, f"{prj}_stage0"))
    (path / "written.json").write_text(json.dumps({"trace_s": elapsed, "ops": ops, "design": unit.design,
                                                   "files": source_digests(path)}))
    return comb, path


#: What a unit's directory holds besides the sources a build reads: hlsgen's records, Verilator's outputs.
_NOT_SOURCES = ("written.json", "built.json", "sim/obj_dir", verilate.LOG, verilate.WRAPPER)


def source_digests(path: Path) -> dict[str, str]:
    """SHA-256 of every file the traced program and its Verilator build are made from (da4ml's Verilog,
    memory files, the program in ``model/``, the build scripts): all of ``path`` but hlsgen's records, Verilator's
    object folder and the built libraries. The cache is keyed by these, never by a marker's presence."""
    return tree_sha256(path, lambda rel: any(rel == n or rel.startswith(n + "/") for n in _NOT_SOURCES)
                       or _is_lib(rel), refuse_links=False)


def _is_lib(rel: str) -> bool:
    return rel.startswith("sim/lib") and rel.endswith(".so")


def written_intact(path: Path) -> bool:
    """Whether ``path`` holds a written unit whose files are all as they were written (``written.json``)."""
    recorded = _recorded(path / "written.json", "files")
    return recorded is not None and recorded == source_digests(path)


def _recorded(marker: Path, key: str):
    """``key`` of the JSON record ``marker``, or None when it is missing or unreadable."""
    try:
        return json.loads(marker.read_text())[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_unit(unit: Unit, root: Path, log=print, timings: Timings | None = None):
    """The unit's da4ml Verilog project (traced now, or the one written before for the same digest):
    returns ``(VerilogModel, directory)``."""
    from da4ml.codegen import VerilogModel

    comb, path = load_or_trace(unit, root, log, timings)
    return VerilogModel(comb, module_name(unit.name), path), path


class BuiltModel:
    """A written da4ml project built with Verilator and loaded; :meth:`run` maps input codes (of
    ``input_t``) to output codes (of ``output_t``)."""

    def __init__(self, name: str, model, path: Path, input_t: FixedType, output_t: FixedType, jobs: int,
                 log=print, timings: Timings | None = None, debug: bool = False):
        self.name, self.model, self.path, self.input_t, self.output_t = name, model, path, input_t, output_t
        self.timings = timings or Timings()
        marker = path / "built.json"
        record = _recorded(marker, "built_from")
        if record is not None:
            try:
                stamp = json.loads(marker.read_text())["stamp"]
                lib = path / "sim" / f"lib{model._prj_name}_wrapper_{stamp}.so"
                if record == _built_from(path, lib):
                    model._load_lib(stamp)
                    self.timings.cached = True
                    return
                log(f"rtl: {name}: its sources or library changed since the Verilator build; building again")
            except (OSError, ValueError, KeyError, TypeError, RuntimeError):
                pass  # built by another da4ml, or half-built: build again
        t = time.perf_counter()
        expected = verilate.compile_model(model, name, jobs, log if debug else None, _mac_modules(model))
        self.timings.build = time.perf_counter() - t
        note = f"; {len(expected)} expected warnings (--debug shows them)" if expected and not debug else ""
        log(f"rtl: {name}: Verilator build {self.timings.build:.1f} s{note}")
        lib = path / "sim" / f"lib{model._prj_name}_wrapper_{model._uuid}.so"
        marker.write_text(json.dumps({"stamp": model._uuid, "build_s": self.timings.build,
                                      "built_from": _built_from(path, lib)}))

    @property
    def comb(self):
        """The traced program (a ``CombLogic``, or a ``Pipeline`` of them for the composed network)."""
        return self.model._solution

    @property
    def operations(self) -> int:
        comb = self.comb
        return sum(len(c.ops) for c in comb.solutions) if hasattr(comb, "solutions") else len(comb.ops)

    def run(self, codes: np.ndarray) -> np.ndarray:
        """Output codes (int64, ``(N, outputs)``) of the simulated module for input codes ``(N, inputs)``."""
        n_in, n_out = self.comb.shape
        codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
        if codes.shape[1] != n_in:
            raise HlsgenError(f"rtl: {self.name}: {codes.shape[1]} input codes per image, the module has {n_in}")
        t = time.perf_counter()
        values = codes.astype(np.float64) * self.input_t.lsb
        out = self.model.predict(values, n_threads=1)
        self.timings.simulate += time.perf_counter() - t
        scaled = np.asarray(out, dtype=np.float64) * 2.0**self.output_t.frac
        result = np.round(scaled).astype(np.int64)
        if not np.array_equal(result, scaled):
            raise HlsgenError(f"rtl: {self.name}: the module's outputs are not on {self.output_t}'s grid")
        return result.reshape(len(codes), n_out)


def _mac_modules(model) -> tuple[str, ...]:
    """The names of the MAC modules in ``model``'s project (their sources say so: :mod:`.mac`)."""
    src = Path(model._path) / "src"
    return tuple(sorted(f.stem for f in src.glob("*.v") if mac.MARKER in f.read_text()[:400]))


def _built_from(path: Path, lib: Path) -> dict:
    """What a Verilator build is made from: the unit's sources, the built library, the build's flags."""
    return {"sources": source_digests(path), "lib": file_sha256(lib), "flags": verilate.flags()}


def build_unit(unit: Unit, root: Path, jobs: int, log=print, debug: bool = False) -> BuiltModel:
    """One unit (a stage for ``--layers``) traced or loaded, built or loaded."""
    tools.verilator_version()
    timings = Timings()
    model, path = write_unit(unit, root, log, timings)
    return BuiltModel(unit.name, model, path, unit.input_t, unit.output_t, jobs, log, timings, debug)
