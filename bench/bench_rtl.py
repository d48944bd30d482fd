"""`hlsgen rtl` on a built project: per-stage trace, Verilator build and simulation times, operation
counts and (with --synth) Yosys counts, then optionally the whole network and the edited-weight check;
for docs/rtl.md and docs/benchmarks.md.

Usage: python bench/bench_rtl.py PROJECT [-n N] [--whole] [--cold] [--synth] [--edit] [--jobs J] [--smoke]
[--results R]
PROJECT is a directory written by `hlsgen build` (spec.json, weights.npz, tb_data/). Builds are cached
under PROJECT/rtl/ by spec digest: delete that folder for cold timings (a step found in the cache counts
as 0 s). Prints a Markdown table and writes RESULTS/rtl.json (bench/benchlib.py). --smoke (make bench-smoke,
on the tiny smoke project): 20 images, the whole network (not per stage: one Verilator build instead of
one per stage) and --edit.
--cold (with --whole) copies the project without its RTL cache to a temporary folder and times `hlsgen rtl COPY`
there as a user runs it, a subprocess: cold (nothing cached), then warm (everything cached); wall time, CPU
time (user + system of the process and its children) and peak memory (the largest resident set of the
process or any of its children, as `/usr/bin/time -v` reports it); the load average around each run. The
other steps then run on that copy (--layers shares its traced stages).
--edit copies the project (with its RTL cache) to a temporary folder, changes one code of the last
Dense layer's weights in weights.npz (the first whose change alters a golden output on the first 200
test images) and expects `hlsgen rtl` to refuse the copy (exit 2): tb_data/manifest.json binds the test
data to the spec's digest, so an edited spec is refused before anything is traced (the RTL's own catch of a
wrong weight, exit 1, is tests/rtl's edited-weight test, on a project without that binding).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import Run, add_arguments

from hlsgen import golden
from hlsgen.errors import HlsgenError
from hlsgen.rtl import rtl_command, tools
from hlsgen.rtl.build import stage_units, unit_dir
from hlsgen.rtl.compose import network_dir
from hlsgen.spec import HardwareSpec


def _row(path: Path) -> dict:
    """The figures hlsgen rtl recorded for a unit (operations, trace, build and Yosys times and counts): the
    numbers and strings of its written.json, built.json and yosys.json (not their file digests)."""
    info = {}
    for name in ("written.json", "built.json", "yosys.json"):
        if (path / name).is_file():
            info.update({k: v for k, v in json.loads((path / name).read_text()).items()
                         if isinstance(v, int | float | str)})
    return info


def edit_one_weight(project: Path, images: int = 200) -> str:
    """Change one weight code of the last Dense layer in ``project``'s weights.npz, the first (in
    row-major order) whose one-LSB change alters a golden output code on the first ``images`` test
    images; returns what was changed."""
    spec = HardwareSpec.load(project)
    stage = [s for s in spec.stages if s.kind == "dense"][-1]
    x = np.loadtxt(project / "tb_data" / "inputs.txt", dtype=np.int64, ndmin=2)[:images]
    x = x.reshape(len(x), *spec.input_shape)
    base = golden.run(spec, x).output
    for k in range(stage.weight_codes.size):
        codes = stage.weight_codes.copy()
        flat = codes.reshape(-1)
        step = 1 if flat[k] < stage.weight_t.max_code else -1
        flat[k] += step
        edited = spec.with_weights(stage.name, codes, stage.bias_codes)
        if not np.array_equal(golden.run(edited, x).output, base):
            edited.save(project)
            return f"{stage.name} weight {np.unravel_index(k, codes.shape)} {flat[k] - step} -> {flat[k]}"
    raise SystemExit(f"no one-LSB change of {stage.name}'s weights changes an output on {images} images")


def timed_cli(args: list[str]) -> dict:
    """``hlsgen ARGS`` as a subprocess: exit code, wall and CPU seconds, peak resident memory (MB) of it and
    its children (``wait4``'s rusage: the largest of them, as ``/usr/bin/time -v``), load average before
    and after. Its output goes to this script's."""
    import subprocess
    import sys

    load = list(os.getloadavg())
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hlsgen.cli", *args])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return {"exit": proc.returncode, "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "load_before": [round(v, 2) for v in load],
            "load_after": [round(v, 2) for v in os.getloadavg()]}


def cold_and_warm(project: Path, n: int | None, jobs: int, work: Path) -> tuple[Path, dict]:
    """The project copied to ``work`` without ``rtl/``, ``hlsgen rtl`` run there cold and then warm
    (:func:`timed_cli`); returns the copy and ``{"cold": ..., "warm": ...}``."""
    copy = work / project.name
    shutil.copytree(project, copy, symlinks=True, ignore=shutil.ignore_patterns("rtl"))
    args = ["rtl", str(copy), "--jobs", str(jobs), *(["-n", str(n)] if n else [])]
    out = {}
    for run in ("cold", "warm"):
        out[run] = timed_cli(args)
        r = out[run]
        print(f"{run}: exit {r['exit']}, {r['seconds']} s wall, {r['cpu_seconds']} s CPU, peak {r['peak_rss_mb']} MB, "
              f"load {r['load_before'][0]} -> {r['load_after'][0]}", flush=True)
    return copy, out


def _exit_code(command) -> int:
    """``command()``'s return value, or the exit code hlsgen's CLI gives the error it raises."""
    try:
        return command()
    except HlsgenError as err:
        print(f"hlsgen: error: {err}")
        return err.exit_code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("-n", type=int, default=None, help="test images (default all)")
    ap.add_argument("--whole", action="store_true", help="also build and simulate the whole network")
    ap.add_argument("--cold", action="store_true",
                    help="with --whole: time `hlsgen rtl` cold and warm on a copy without the RTL cache")
    ap.add_argument("--synth", action="store_true", help="Yosys counts per stage")
    ap.add_argument("--edit", action="store_true", help="then change one weight code: expect exit 2")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    add_arguments(ap)
    args = ap.parse_args()
    if args.smoke:  # the whole network only: one Verilator build instead of one per stage
        args.n, args.whole, args.edit = min(args.n or 20, 20), True, True
    run = Run("rtl", args)
    spec = HardwareSpec.load(args.project)
    versions = f"da4ml {tools.require_da4ml()}, {tools.verilator_version()}"
    print(f"# {platform.node()}: {os.cpu_count()} cores, {versions}")
    figures: dict = {"project": str(args.project), "images": args.n, "jobs": args.jobs, "tools": versions}
    statuses, work = [], None
    if args.cold and args.whole:
        work = tempfile.TemporaryDirectory()
        args.project, timed = cold_and_warm(args.project, args.n, args.jobs, Path(work.name))
        figures.update(timed)
        statuses += [timed["cold"]["exit"], timed["warm"]["exit"]]
    root = args.project / "rtl"
    modes = [layers for layers in (True, False) if (layers and not args.smoke) or (not layers and args.whole)]
    for layers in modes:
        if not layers and "cold" in figures:  # measured above, as a user runs it
            r, cold = _row(network_dir(spec, root)), figures["cold"]
            figures["whole"] = {"exit": cold["exit"], "seconds": cold["seconds"], **r}
            figures["child_peak_rss_mb_cold"] = cold["peak_rss_mb"]
            continue
        start = time.perf_counter()
        status = rtl_command(args.project, args.n, layers=layers, synth=args.synth and layers, jobs=args.jobs)
        wall = time.perf_counter() - start
        if layers:
            print(f"--layers: exit {status}, {wall:.1f} s wall")
            figures["layers"] = {"exit": status, "seconds": round(wall, 1)}
        else:
            r = _row(network_dir(spec, root))
            print(f"whole network: exit {status}, {wall:.1f} s wall; {r.get('ops')} operations "
                  f"in {len(stage_units(spec))} stages, Verilator build {r.get('build_s', 0):.1f} s")
            figures["whole"] = {"exit": status, "seconds": round(wall, 1), **r}
        statuses.append(status)
    print("\n| stage | kind | operations | trace s | Verilator build s | LUT | FF | CARRY4 | DSP | Yosys s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    figures["stages"] = []
    for unit in stage_units(spec):
        stage, r = unit.stages[0], _row(unit_dir(unit, root))
        figures["stages"].append({"stage": stage.name, "kind": str(stage.kind), **r})
        print(f"| {stage.name} | {stage.kind} | {r.get('ops', '')} | {r.get('trace_s', 0):.1f} | "
              f"{r.get('build_s', 0):.1f} | {r.get('LUT', '')} | {r.get('FF', '')} | {r.get('CARRY', '')} | "
              f"{r.get('DSP', '')} | {r.get('seconds', '')} |")
    print("(steps found in the project's RTL cache count as 0 above)")
    if args.edit:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / args.project.name
            shutil.copytree(args.project, copy, symlinks=True)
            edit = edit_one_weight(copy)
            print(f"edited copy: {edit}")
            figures["edit"] = {"change": edit}
            for layers in modes:
                start = time.perf_counter()
                got = _exit_code(lambda layers=layers: rtl_command(copy, args.n, layers=layers, synth=False,
                                                                   jobs=args.jobs))
                wall = time.perf_counter() - start
                print(f"edited, {'--layers' if layers else 'whole network'}: exit {got} (want 2), {wall:.1f} s wall")
                figures["edit"]["layers" if layers else "whole"] = {"exit": got, "seconds": round(wall, 1)}
                statuses.append(0 if got == 2 else 1)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # includes the --cold runs
    print(f"peak memory of a child process (Verilator / g++ / Yosys): {peak:.0f} MB")
    figures["child_peak_rss_mb"] = round(peak)
    figures["status"] = max(statuses)
    run.write(figures)
    if work is not None:
        work.cleanup()
    return max(statuses)


if __name__ == "__main__":
    raise SystemExit(main())
