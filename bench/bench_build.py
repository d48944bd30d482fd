"""`hlsgen build` and the C simulation of its project, timed: a cold build (training included), a second
build reusing the cached training, the g++ compile of the testbench and the C simulation of the test images.

Usage: HLSGEN_DATA=... python bench/bench_build.py [--config C] [--output DIR] [--images N] [--smoke] [--results R]

DIR (default build/bench/mnist_cnn) is deleted first when it is an hlsgen project (so the first build trains),
and left built: `make bench` runs the other benchmarks on it. Wall time and peak memory (RSS) of each command
are those of its own process tree (``os.wait4``). Accuracies come from the project's train/metrics.json.
Writes RESULTS/build.json (bench/benchlib.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ROOT, Run, add_arguments, data_path, smoke_config


def timed(args: list[str], cwd: Path | None = None) -> dict:
    """Run ``args``; its wall seconds, peak RSS (MB, its largest process), exit code and output lines."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "exit": proc.returncode, "lines": out.splitlines()}


def check(step: str, result: dict) -> dict:
    if result["exit"] != 0:
        sys.stdout.write("\n".join(result["lines"][-30:]) + "\n")
        raise SystemExit(f"bench: error: {step} failed (exit {result['exit']})")
    return result


def remove_project(path: Path) -> None:
    """Delete ``path`` if it is an hlsgen project (spec.json), so that the next build is cold; refuse any
    other existing folder."""
    if not path.exists():
        return
    if not (path / "spec.json").is_file():
        raise SystemExit(f"bench: error: {path} exists and is not an hlsgen project (no spec.json): not deleting it")
    shutil.rmtree(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "mnist.yaml")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench" / "mnist_cnn")
    parser.add_argument("--images", type=int, default=None, help="test images in tb_data and csim (default: all)")
    add_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.config = smoke_config(args.output.parent)
    else:
        data_path()  # one clear message when $HLSGEN_DATA is missing
    run = Run("build", args)
    hlsgen = str(Path(sys.executable).with_name("hlsgen"))
    build = [hlsgen, "build", str(args.config), "--output", str(args.output), "--force",
             *(["--images", str(args.images)] if args.images else [])]

    remove_project(args.output)
    cold = check("cold build", timed(build))
    warm = check("build with the cached training", timed(build))
    metrics = json.loads((args.output / "train" / "metrics.json").read_text())
    n = [f"N={args.images}"] if args.images else []
    # the first csim compiles the testbench with g++; the second reuses the binary (the project's Makefile
    # keys it by the sources' SHA-256), so the difference is the compile
    csim_cold = check("csim", timed(["make", "-C", str(args.output), "csim", *n]))
    csim = check("csim (binary reused)", timed(["make", "-C", str(args.output), "csim", *n]))
    result = [ln for ln in csim["lines"] if ln.startswith("csim:") and "bit-exact" in ln]

    accuracy = {k: round(metrics[k]["accuracy"], 4) for k in ("float", "ptq", "qat", "golden") if k in metrics}
    figures = {
        "config": os.path.relpath(args.config, ROOT) if not args.smoke else "bench/smoke.yaml (smoke data)",
        "project": str(args.output), "test_images": metrics.get("test_images"), "accuracy": accuracy,
        "qkeras_vs_golden_argmax": metrics.get("agreement", {}).get("argmax"), "train_seconds": metrics.get("seconds"),
        "build_cold": {k: cold[k] for k in ("seconds", "peak_rss_mb")},
        "build_cached": {k: warm[k] for k in ("seconds", "peak_rss_mb")},
        "csim_with_compile": {k: csim_cold[k] for k in ("seconds", "peak_rss_mb")},
        "csim": {"seconds": csim["seconds"], "peak_rss_mb": csim["peak_rss_mb"],
                 "result": result[-1] if result else None},
    }
    run.write(figures)
    print(f"cold build {cold['seconds']} s ({cold['peak_rss_mb']} MB), cached {warm['seconds']} s, "
          f"csim with g++ {csim_cold['seconds']} s, again {csim['seconds']} s: {figures['csim']['result']}; "
          f"accuracy {accuracy}")


if __name__ == "__main__":
    main()
