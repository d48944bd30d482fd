"""``hlsgen build``: config -> trained model (or the cached one) -> spec -> Vitis HLS project.

The project directory holds hls4ml's output, our testbench, Makefile and tb_data, the spec
(``spec.json`` + ``weights.npz``) and the training it came from (``train/``), so it can be
re-verified without TensorFlow. It is written into a temporary sibling and renamed into place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from hlsgen.config import Config
from hlsgen.data import load_mnist
from hlsgen.hls.project import write_project
from hlsgen.outdir import atomic_output_dir, check_replaceable
from hlsgen.spec import HardwareSpec

def build_command(cfg: Config, output: Path | None = None, force: bool = False, epochs: int | None = None,
                  n_test: int | None = None, verbose: int = 1) -> Path:
    """Train (or reuse ``<output>/train``), export the spec and write the HLS project; returns its path."""
    from hlsgen.errors import ConfigError
    from hlsgen.synth.estimate import estimate
    from hlsgen.synth.estimate_format import format_estimate

    target = Path(output or cfg.output_dir)
    check_replaceable(target, force)
    est = estimate(cfg)
    print(format_estimate(est))
    if est.problems:  # hls4ml would generate C++ that computes wrong results: stop before training
        raise ConfigError(est.problems[0])
    data = load_mnist(cfg.data.path)
    from hlsgen.train import QKERAS_LABELS, format_metrics, train_models, write_training  # TensorFlow: slow
    from hlsgen.train.cache import cached_training
    epochs = epochs or cfg.train.epochs
    with atomic_output_dir(target, force=force, kind="project") as tmp:
        if cached_training(target / "train", cfg, epochs):
            print(f"build: reusing the trained model in {target / 'train'} (same config and epochs)")
            shutil.copytree(target / "train", tmp / "train")
        else:
            result = train_models(cfg, data, epochs=epochs, verbose=verbose)
            write_training(tmp / "train", cfg, result)
            print(format_metrics(result.metrics))
        spec = HardwareSpec.load(tmp / "train")
        spec = _with_hls_settings(spec, cfg)
        x_test, y_test = data.x_test[:n_test], data.y_test[:n_test]
        qk_labels = np.loadtxt(tmp / "train" / QKERAS_LABELS, dtype=np.int64, ndmin=1)[: len(x_test)]
        timings = write_project(spec, tmp, target, x_test, y_test, qk_labels)
    print(f"build: hls4ml {timings['hls4ml']:.1f} s, golden model on {len(x_test)} images {timings['golden']:.2f} s")
    print(f"wrote {target}: run 'make -C {target} csim' (or 'make csim')")
    profile = Path(f"{target}-profile") / "summary.md"
    if profile.exists():
        print(f"profile of this config's output_dir (hlsgen profile): {profile}")
    return target


def _with_hls_settings(spec: HardwareSpec, cfg: Config) -> HardwareSpec:
    """The trained spec with this config's HLS settings (they do not affect training)."""
    from hlsgen.spec.lower import build_spec

    codes = {s.name: (s.weight_codes, s.bias_codes) for s in spec.stages if s.weight_codes is not None}
    return build_spec(cfg, codes)
