"""Golden model speed on the MNIST test set, next to QKeras predict and hls4ml predict (same images,
same run), and a cross-check: hls4ml's own compiled C++ must give the golden model's values.

Usage: python bench/bench_golden.py PROJECT [--images N] [--repeat R]
PROJECT is a directory written by `hlsgen build` (it holds train/ and the spec).
Results go to stdout as a Markdown table row block for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from hlsgen import golden  # noqa: E402
from hlsgen.data import input_codes, load_mnist, to_float  # noqa: E402
from hlsgen.golden import layers as nnet  # noqa: E402
from hlsgen.hls import convert  # noqa: E402
from hlsgen.spec import HardwareSpec  # noqa: E402
from hlsgen.train import load_trained  # noqa: E402


def timed(repeat: int, fn):
    """``(best seconds, median seconds, last result)`` of ``repeat`` calls (this VM's timings vary by
    tens of per cent from run to run: the median shows how much)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), result


def stage_seconds(spec: HardwareSpec, codes: np.ndarray, repeat: int) -> dict[str, float]:
    """Seconds per stage inside ``golden.run(threads=1)`` (its blocks, its trace), from the fastest of
    ``repeat`` runs: every stage function is wrapped in a timer for the measurement."""
    functions = dict(nnet.STAGE_FUNCTIONS)
    seconds: dict[str, float] = {}

    def timer(fn):
        def timed_stage(stage, x, out=None):
            start = time.perf_counter()
            result = fn(stage, x, out)
            seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - start
            return result
        return timed_stage

    best, best_seconds = float("inf"), {}
    try:
        nnet.STAGE_FUNCTIONS.update({kind: timer(fn) for kind, fn in functions.items()})
        for _ in range(repeat):
            seconds.clear()
            start = time.perf_counter()
            golden.run(spec, codes, threads=1)
            if time.perf_counter() - start < best:
                best, best_seconds = time.perf_counter() - start, dict(seconds)
    finally:
        nnet.STAGE_FUNCTIONS.update(functions)
    return best_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    spec = HardwareSpec.load(args.project)
    data = load_mnist(os.environ.get("HLSGEN_DATA"))
    x = data.x_test[: args.images]
    codes = input_codes(spec.input_t, x)

    t_golden = timed(args.repeat, lambda: golden.run(spec, codes))
    result = t_golden[2]
    t_golden_1 = timed(args.repeat, lambda: golden.run(spec, codes, threads=1))
    qat, _ = load_trained(args.project / "train")
    x_float = to_float(x)
    qat.predict(x_float[:1000], verbose=0)  # warm-up: graph tracing is not part of the comparison
    # Keras' default batch size (32, what `model.predict(x)` does) and the fastest of a few larger ones
    t_qkeras_default = timed(args.repeat, lambda: qat.predict(x_float, verbose=0))
    t_by_batch = {b: timed(args.repeat, lambda b=b: qat.predict(x_float, batch_size=b, verbose=0))
                  for b in (256, 1000, 10_000)}
    best_batch = min(t_by_batch, key=lambda b: t_by_batch[b][0])

    with tempfile.TemporaryDirectory() as tmp:
        hls_model = convert.convert(spec, Path(tmp) / "prj")
        start = time.perf_counter()
        hls_model.compile()
        t_compile = time.perf_counter() - start
        t_hls4ml = timed(1, lambda: hls_model.predict(to_float(x).astype(np.float64)))
        y_hls = t_hls4ml[2]
    gold_values = result.output * spec.output_t.lsb
    same = int(np.count_nonzero(np.all(np.asarray(y_hls).reshape(gold_values.shape) == gold_values, axis=1)))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"date {time.strftime('%Y-%m-%d')}")
    print(f"images: {len(x)} (best of {args.repeat} for golden and QKeras; hls4ml once)")
    print("| model | best s | median s | images/s (best) | best vs golden's best |")
    print("| --- | --- | --- | --- | --- |")
    rows = [(f"golden (numpy, exact, {os.cpu_count()} threads)", t_golden),
            ("golden (numpy, exact, 1 thread)", t_golden_1),
            ("QKeras predict, batch 32 (Keras' default)", t_qkeras_default),
            *[(f"QKeras predict, batch {b}" + (" (fastest)" if b == best_batch else ""), t)
              for b, t in t_by_batch.items()],
            ("hls4ml predict (its C++ via ctypes)", t_hls4ml)]
    for name, (best, median, _) in rows:
        print(f"| {name} | {best:.3f} | {median:.3f} | {len(x) / best:,.0f} | {best / t_golden[0]:.2f}x |")
    print(f"hls4ml compile: {t_compile:.1f} s")
    print(f"hls4ml predict == golden values on {same}/{len(x)} images")
    per_stage = stage_seconds(spec, codes, args.repeat)
    print("per stage, in the fastest 1-thread run (ms): "
          + ", ".join(f"{k} {1000 * v:.0f}" for k, v in per_stage.items())
          + f"; sum {1000 * sum(per_stage.values()):.0f}")


if __name__ == "__main__":
    main()
