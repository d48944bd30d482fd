"""`hlsgen rtl` on a built project: per-stage trace, Verilator build and simulation times, operation
counts and (with --synth) Yosys counts, then optionally the whole network and the edited-weight check;
for docs/rtl.md and docs/benchmarks.md.

Usage: python bench/bench_rtl.py PROJECT [-n N] [--whole] [--synth] [--edit] [--jobs J]
PROJECT is a directory written by `hlsgen build` (spec.json, weights.npz, tb_data/). Builds are cached
under PROJECT/rtl/ by spec digest: delete that folder for cold timings. Prints a Markdown table.
--edit copies the project (with its RTL cache) to a temporary folder, changes one code of the last
Dense layer's weights in weights.npz (the first whose change alters a golden output on the first 200
test images) and expects `hlsgen rtl` to fail (exit 1) per layer and, with --whole, whole network.
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

from hlsgen import golden
from hlsgen.rtl import rtl_command, tools
from hlsgen.rtl.build import stage_units, unit_dir
from hlsgen.rtl.compose import network_dir
from hlsgen.spec import HardwareSpec


def _row(path: Path) -> dict:
    info = {}
    for name in ("written.json", "built.json", "yosys.json"):
        if (path / name).is_file():
            info.update(json.loads((path / name).read_text()))
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("-n", type=int, default=None, help="test images (default all)")
    ap.add_argument("--whole", action="store_true", help="also build and simulate the whole network")
    ap.add_argument("--synth", action="store_true", help="Yosys counts per stage")
    ap.add_argument("--edit", action="store_true", help="then change one weight code: expect exit 1")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    spec = HardwareSpec.load(args.project)
    print(f"# {platform.node()}: {os.cpu_count()} cores, da4ml {tools.require_da4ml()}, {tools.verilator_version()}")
    start = time.perf_counter()
    status = rtl_command(args.project, args.n, layers=True, synth=args.synth, jobs=args.jobs)
    layers_s = time.perf_counter() - start
    root = args.project / "rtl"
    print("\n| stage | kind | operations | trace s | Verilator build s | LUT | FF | CARRY4 | DSP | Yosys s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for unit in stage_units(spec):
        stage, r = unit.stages[0], _row(unit_dir(unit, root))
        print(f"| {stage.name} | {stage.kind} | {r.get('ops', '')} | {r.get('trace_s', 0):.1f} | "
              f"{r.get('build_s', 0):.1f} | {r.get('LUT', '')} | {r.get('FF', '')} | {r.get('CARRY', '')} | "
              f"{r.get('DSP', '')} | {r.get('seconds', '')} |")
    print(f"\n--layers: exit {status}, {layers_s:.1f} s wall (cached steps count as 0 above)")
    statuses = [status]
    if args.whole:
        start = time.perf_counter()
        status = rtl_command(args.project, args.n, layers=False, synth=False, jobs=args.jobs)
        r = _row(network_dir(spec, root))
        print(f"whole network: exit {status}, {time.perf_counter() - start:.1f} s wall; {r.get('ops')} operations "
              f"in {len(stage_units(spec))} stages, Verilator build {r.get('build_s', 0):.1f} s")
        statuses.append(status)
    if args.edit:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / args.project.name
            shutil.copytree(args.project, copy, symlinks=True)
            print(f"edited copy: {edit_one_weight(copy)}")
            for layers in (True, False) if args.whole else (True,):
                start = time.perf_counter()
                got = rtl_command(copy, args.n, layers=layers, synth=False, jobs=args.jobs)
                print(f"edited, {'--layers' if layers else 'whole network'}: exit {got} (want 1), "
                      f"{time.perf_counter() - start:.1f} s wall")
                statuses.append(0 if got == 1 else 1)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of a child process (Verilator / g++ / Yosys): {peak:.0f} MB")
    return max(statuses)


if __name__ == "__main__":
    raise SystemExit(main())
