"""`hlsgen rtl` on a built project: per-stage trace, Verilator build and simulation times, operation
counts and (with --synth) Yosys counts, then optionally the whole network; for docs/rtl.md and
docs/benchmarks.md.

Usage: python bench/bench_rtl.py PROJECT [-n N] [--whole] [--synth] [--jobs J]
PROJECT is a directory written by `hlsgen build` (spec.json, weights.npz, tb_data/). Builds are cached
under PROJECT/rtl/ by spec digest: delete that folder for cold timings. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

from hlsgen.rtl import rtl_command, tools
from hlsgen.rtl.build import Unit, unit_dir
from hlsgen.spec import HardwareSpec


def _row(path: Path) -> dict:
    info = {}
    for name in ("written.json", "built.json", "yosys.json"):
        if (path / name).is_file():
            info.update(json.loads((path / name).read_text()))
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("-n", type=int, default=None, help="test images (default all)")
    ap.add_argument("--whole", action="store_true", help="also build and simulate the whole network")
    ap.add_argument("--synth", action="store_true", help="Yosys counts per stage")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    spec = HardwareSpec.load(args.project)
    print(f"# {platform.node()}: {os.cpu_count()} cores, da4ml {tools.require_da4ml()}, {tools.verilator_version()}")
    start = time.perf_counter()
    status = rtl_command(args.project, args.n, layers=True, synth=args.synth, jobs=args.jobs)
    layers_s = time.perf_counter() - start
    root = args.project / "rtl"
    print("\n| stage | kind | operations | trace s | Verilator build s | LUT | FF | CARRY4 | DSP |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for stage in spec.stages:
        if stage.kind == "flatten":
            continue
        r = _row(unit_dir(Unit(stage.name, (stage,), stage.input_t), root))
        print(f"| {stage.name} | {stage.kind} | {r.get('ops', '')} | {r.get('trace_s', 0):.1f} | "
              f"{r.get('build_s', 0):.1f} | {r.get('LUT', '')} | {r.get('FF', '')} | {r.get('CARRY', '')} | "
              f"{r.get('DSP', '')} |")
    print(f"\n--layers: exit {status}, {layers_s:.1f} s wall (cached steps count as 0 above)")
    if args.whole:
        start = time.perf_counter()
        status = rtl_command(args.project, args.n, layers=False, synth=False, jobs=args.jobs)
        r = _row(unit_dir(Unit("network", spec.stages, spec.input_t), root))
        print(f"whole network: exit {status}, {time.perf_counter() - start:.1f} s wall; {r.get('ops')} operations, "
              f"trace {r.get('trace_s', 0):.1f} s, Verilator build {r.get('build_s', 0):.1f} s")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of a child process (Verilator / g++ / Yosys): {peak:.0f} MB")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
