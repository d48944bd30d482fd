"""Benchmark ``hlsgen search`` on the reference config with 1 and 2 local Dask workers.

    HLSGEN_DATA=/path/to/mnist.npz python bench/bench_search.py [--workers 1 2] [--max-drop 0.5] [--smoke] [--results R]

For each worker count: wall time (and its phases: float model, PTQ search, QAT confirmation), the number of
PTQ evaluations, the Pareto front, and the chosen config's saving against the 8-bit reference. Checks
that every run gave the same search.json (apart from timings). Writes RESULTS/search.json (bench/benchlib.py).
--smoke (make bench-smoke): bench/smoke.yaml on the smoke data subset, one worker, one QAT epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchlib import ROOT, Run, add_arguments, data_path, smoke_config


def _without_timings(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("seconds", "phase_seconds")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/mnist.yaml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-drop", type=float, default=0.5)
    parser.add_argument("--qat-epochs", type=int, default=3)
    parser.add_argument("--out", default="build/bench_search")
    add_arguments(parser)
    args = parser.parse_args()
    os.chdir(ROOT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.smoke:
        # the smoke config of OUT's parent folder (make bench-smoke: bench_build.py's, whose training it reuses)
        args.config, args.workers, args.qat_epochs = str(smoke_config(Path(args.out).parent)), [1], 1
    else:
        data_path()
    run = Run("search", args)
    from hlsgen.search.command import search_command

    runs = {}
    for n in args.workers:
        start = time.perf_counter()
        out = search_command(args.config, max_drop=args.max_drop, workers=n, qat_epochs=args.qat_epochs,
                             output=Path(args.out) / f"workers-{n}", force=True)
        wall = time.perf_counter() - start
        result = json.loads((out / "search.json").read_text())
        runs[n] = {"wall_seconds": round(wall, 1), "phase_seconds": result["phase_seconds"],
                   "evaluations": result["evaluations"], "result": result}
        print(f"bench: {n} worker(s): {wall:.1f} s wall, phases {result['phase_seconds']}, "
              f"{result['evaluations']} evaluations", flush=True)
    first = next(iter(runs.values()))["result"]
    same = all(_without_timings(r["result"]) == _without_timings(first) for r in runs.values())
    ref, best = first["reference"], first["best"]
    front = [{k: first["candidates"][i][k] for k in ("id", "weight_bits", "accuracy", "qat_accuracy", "dsp",
                                                     "bram", "types")} for i in first["front"]]
    summary = {
        "config": args.config, "max_drop": args.max_drop, "qat_epochs": args.qat_epochs,
        "test_images": first["test_images"], "cpu_count": os.cpu_count(),
        "runs": {n: {k: v for k, v in r.items() if k != "result"} for n, r in runs.items()},
        "identical_results": same, "evaluations": first["evaluations"],
        "reference": ref, "best": {k: v for k, v in best.items() if k != "config"}, "front": front,
    }
    run.write(summary)
    print(f"bench: identical results across worker counts: {same}")
    print(f"bench: reference {ref['weight_bits']} weight bits, accuracy {ref['accuracy']:.4f} "
          f"(PTQ {ref['ptq_accuracy']:.4f}); best {best['weight_bits']} ({best['saving']:.1%} fewer), "
          f"accuracy {best['accuracy']:.4f} (PTQ {best['ptq_accuracy']:.4f})")
    return 0 if same else 1


if __name__ == "__main__":  # the local cluster spawns worker processes: keep the guard
    sys.exit(main())
