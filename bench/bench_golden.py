"""Golden model speed on the MNIST test set next to QKeras predict (Keras' default batch of 32 and larger
batches) and hls4ml predict, all on the same images in one run; and a cross-check: hls4ml's own compiled
C++ must give the golden model's values on every image.

Usage: HLSGEN_DATA=... python bench/bench_golden.py PROJECT [--images N] [--repeat R] [--smoke] [--results DIR]

PROJECT is a directory written by `hlsgen build` (spec.json, weights.npz, train/). The golden model (on every
core and on one thread) and QKeras predict at each batch size are timed ``R`` times in turn (round-robin, so
a change of the machine's load hits all of them alike); each figure is the best and the median of its ``R``
calls. hls4ml is compiled and run once. Writes RESULTS/golden.json (bench/benchlib.py).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from benchlib import Run, add_arguments, data_path  # noqa: E402

from hlsgen import golden  # noqa: E402
from hlsgen.data import input_codes, load_mnist, to_float  # noqa: E402
from hlsgen.golden import layers as nnet  # noqa: E402
from hlsgen.spec import HardwareSpec, HlsSettings  # noqa: E402

BATCHES = (32, 256, 1000, 10_000)  # 32: Keras' default, what `model.predict(x)` uses


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


def round_robin(repeat: int, calls: dict[str, Callable[[], object]]) -> tuple[dict[str, dict], dict[str, object]]:
    """Each of ``calls`` run ``repeat`` times in turn; ``({name: {best_s, median_s, runs_s}}, {name: last
    result})``."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return ({name: {"best_s": round(min(t), 4), "median_s": round(float(np.median(t)), 4),
                    "runs_s": [round(v, 4) for v in t]} for name, t in times.items()}, results)


def hls4ml_check(spec: HardwareSpec, settings: HlsSettings, x: np.ndarray, gold_output: np.ndarray) -> dict:
    """Convert the spec with hls4ml (the project's HLS settings) and compile its C++ (via ctypes), predict
    ``x`` once, and count the images whose values equal the golden model's."""
    from hlsgen.hls import convert

    with tempfile.TemporaryDirectory() as tmp:
        hls_model = convert.convert(spec, settings, Path(tmp) / "prj")
        start = time.perf_counter()
        hls_model.compile()
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        y = np.asarray(hls_model.predict(to_float(x).astype(np.float64)))
        predict_s = time.perf_counter() - start
    values = gold_output * spec.output_t.lsb
    same = int(np.count_nonzero(np.all(y.reshape(values.shape) == values, axis=1)))
    return {"compile_s": round(compile_s, 2), "predict_s": round(predict_s, 3), "same_as_golden": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--config", type=Path, default=Path("configs/mnist.yaml"),
                        help="the config the project was built from (its QKeras model is built from it and the "
                        "trained weights read in; default configs/mnist.yaml)")
    parser.add_argument("--images", type=int, default=None, help="first N test images (default: all)")
    parser.add_argument("--repeat", type=int, default=10)
    add_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.images, args.repeat = min(args.images or 200, 200), 2
    run = Run("golden", args)

    spec = HardwareSpec.load(args.project)
    data = load_mnist(data_path())
    x, y = data.x_test[: args.images], data.y_test[: args.images]
    codes = input_codes(spec.input_t, x)
    from hlsgen.config import load_config
    from hlsgen.spec.lower import hls_settings
    from hlsgen.train import load_trained

    cfg = load_config(args.config)
    qat, _ = load_trained(args.project / "train", cfg)
    x_float = to_float(x)
    batches = sorted({min(b, len(x)) for b in BATCHES})
    for b in batches:  # warm-up: tracing each batch size's graph is not part of the comparison
        qat.predict(x_float[: 2 * b], batch_size=b, verbose=0)
    threads = os.cpu_count() or 1
    calls = {"golden": lambda: golden.run(spec, codes), "golden_1thread": lambda: golden.run(spec, codes, threads=1),
             **{f"qkeras_{b}": (lambda b=b: qat.predict(x_float, batch_size=b, verbose=0)) for b in batches}}
    timed, results = round_robin(args.repeat, calls)
    gold = results["golden"]
    qkeras_labels = golden.labels(np.asarray(results["qkeras_32" if 32 in batches else f"qkeras_{batches[0]}"]))
    best_batch = min(batches, key=lambda b: timed[f"qkeras_{b}"]["best_s"])
    g, q32, qbest = timed["golden"], timed[f"qkeras_{batches[0]}"], timed[f"qkeras_{best_batch}"]
    figures = {
        "project": str(args.project), "images": len(x), "repeat": args.repeat, "threads": threads,
        "golden": g, "golden_1thread": timed["golden_1thread"],
        "qkeras": {str(b): timed[f"qkeras_{b}"] for b in batches}, "qkeras_default_batch": batches[0],
        "qkeras_best_batch": best_batch,
        "ratio": {"default_batch_best": round(q32["best_s"] / g["best_s"], 2),
                  "default_batch_median": round(q32["median_s"] / g["median_s"], 2),
                  "best_batch_best": round(qbest["best_s"] / g["best_s"], 2),
                  "best_batch_median": round(qbest["median_s"] / g["median_s"], 2)},
        "argmax_agreement_qkeras": int(np.count_nonzero(golden.labels(gold.output) == qkeras_labels)),
        "golden_accuracy": round(float(np.mean(golden.labels(gold.output) == y)), 4),
    }
    figures["goal"] = {"default_batch_10x": figures["ratio"]["default_batch_best"] >= 10,
                       "faster_than_best_batch": figures["ratio"]["best_batch_best"] > 1}
    figures["stages_ms"] = {k: round(1000 * v, 1) for k, v in stage_seconds(spec, codes, args.repeat).items()}
    figures["hls4ml"] = hls4ml_check(spec, hls_settings(cfg), x, gold.output)
    run.write(figures)

    print(f"images: {len(x)}, best and median of {args.repeat} calls each, round-robin; hls4ml once")
    print("| model | best s | median s | images/s (best) | QKeras batch 32 / this |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [(f"golden ({threads} threads)", g), ("golden (1 thread)", timed["golden_1thread"]),
            *[(f"QKeras predict, batch {b}", timed[f"qkeras_{b}"]) for b in batches]]
    for name, t in rows:
        print(f"| {name} | {t['best_s']:.3f} | {t['median_s']:.3f} | {len(x) / t['best_s']:,.0f} | "
              f"{q32['best_s'] / t['best_s']:.2f}x |")
    r = figures["ratio"]
    print(f"golden vs QKeras: batch {batches[0]} {r['default_batch_best']}x (medians {r['default_batch_median']}x), "
          f"best batch ({best_batch}) {r['best_batch_best']}x (medians {r['best_batch_median']}x)")
    h = figures["hls4ml"]
    print(f"hls4ml: compile {h['compile_s']} s, predict {h['predict_s']} s, == golden values on "
          f"{h['same_as_golden']}/{len(x)} images")
    print("per stage, fastest 1-thread run (ms): " + ", ".join(f"{k} {v}" for k, v in figures["stages_ms"].items()))


if __name__ == "__main__":
    main()
