"""``hlsgen import`` measured: models "trained elsewhere" (here, as a user's script would) imported, built and
simulated without hlsgen training them.

1. A QKeras CNN (quantized_bits(6,0,alpha=1) weights, quantized_relu activations, an input quantizer), trained
   on pixel/256: imports with exact types, builds with ``train.epochs: 0``; csim bit-exact on every test image,
   golden vs QKeras argmax and accuracy.
2. The reference float CNN (Keras, pixel/255 as the Keras MNIST example): imports at 8 bits; PTQ (epochs 0)
   and QAT fine-tuning from its weights (``--epochs 3``) against its own accuracy; csim bit-exact.

Usage: HLSGEN_DATA=... python bench/bench_import.py [--output DIR] [--epochs E] [--images N] [--smoke] [--results R]
Writes RESULTS/import.json (bench/benchlib.py) and prints a Markdown block for docs/import.md. --smoke (make
bench-smoke): the smoke data subset (1,000 training, 200 test images), one training epoch for each source
model, the QKeras CNN imported as is and the float CNN fine-tuned for one epoch, no csim (bench_build's smoke
run compiles and simulates a project).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "importer"))

from benchlib import Run, add_arguments, data_path, smoke_data  # noqa: E402
from import_models import train  # noqa: E402

from hlsgen.build import build_command  # noqa: E402
from hlsgen.config import load_config  # noqa: E402
from hlsgen.data import load_mnist  # noqa: E402
from hlsgen.importer import import_command  # noqa: E402


def csim(project: Path, n: int | None) -> str:
    args = ["make", "-C", str(project), "csim"] + ([f"N={n}"] if n else [])
    res = subprocess.run(args, capture_output=True, text=True)
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.startswith(("csim:", "compare:"))
             and ("bit-exact" in ln or "error" in ln)]
    return " / ".join(lines) + f" (exit {res.returncode})"


def run_case(out: Path, kind: str, scale: int, epochs_src: int, fc: int, build_epochs: list[int],
             n_csim: int | None, simulate: bool = True) -> dict:
    data = load_mnist()
    start = time.perf_counter()
    model = train(kind, data.x_train, data.y_train, scale, epochs=epochs_src, fc_units=fc)
    model.save(out / f"{kind}_source.h5")
    t_train = time.perf_counter() - start
    config = import_command(out / f"{kind}_source.h5", out / f"{kind}.yaml", input_scale=scale, force=True)
    result = {"kind": kind, "input_scale": scale, "source_epochs": epochs_src, "fc_units": fc,
              "source_train_s": round(t_train, 1), "builds": {}}
    for epochs in build_epochs:
        cfg = load_config(config)
        start = time.perf_counter()
        project = build_command(cfg, out / f"{kind}_e{epochs}", force=True, epochs=epochs or None, verbose=0)
        m = json.loads((project / "train" / "metrics.json").read_text())
        result["builds"][str(epochs)] = {
            "source": m["source"]["accuracy"], "golden": m["golden"]["accuracy"], "ptq": m["ptq"]["accuracy"],
            "qat": m.get("qat", {}).get("accuracy"), "source_vs_golden_argmax": m["source"]["agreement"]["argmax"],
            "qkeras_vs_golden_argmax": m["agreement"]["argmax"], "test_images": m["test_images"],
            "build_s": round(time.perf_counter() - start, 1), "csim": csim(project, n_csim) if simulate else None}
        print(json.dumps({kind: result["builds"][str(epochs)]}), flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", default="build/bench_import")
    ap.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs of the float import")
    ap.add_argument("--images", type=int, help="csim images (default: all)")
    add_arguments(ap)
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:  # the models, imports and builds all read $HLSGEN_DATA
        os.environ["HLSGEN_DATA"] = str(smoke_data(out.parent).resolve())
        cases = [("qkeras", 256, 1, 64, [0]), ("float", 255, 1, 128, [1])]
    else:
        data_path()
        cases = [("qkeras", 256, 5, 64, [0]), ("float", 255, 12, 128, [0, args.epochs])]
    run = Run("import", args)
    results = [run_case(out, kind, scale, epochs, fc, builds, args.images, simulate=not args.smoke)
               for kind, scale, epochs, fc, builds in cases]
    run.write({"cases": results, "csim_images": args.images})
    for r in results:
        for e, b in r["builds"].items():
            print(f"| {r['kind']} (pixel/{r['input_scale']}) | {e} | {b['source']:.4f} | {b['golden']:.4f} | "
                  f"{b['source_vs_golden_argmax']:.4f} | {b['csim']} |")


if __name__ == "__main__":
    main()
