"""``hlsgen build``: config -> trained model (or the cached one) -> spec -> Vitis HLS project.

The project directory holds hls4ml's output, our testbench, Makefile and tb_data, the spec
(``spec.json`` + ``weights.npz``) and the training it came from (``train/``), so it can be
re-verified without TensorFlow. It is written into a temporary sibling and renamed into place.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import emit, golden
from hlsgen.config import Config
from hlsgen.data import input_codes, load_mnist
from hlsgen.outdir import atomic_output_dir, check_replaceable
from hlsgen.spec import HardwareSpec

LAST_BUILD_FILE = ".hlsgen-last-build"


def cached_training(train_dir: Path, cfg: Config, epochs: int) -> bool:
    """True when ``train_dir`` holds a full training of this config (same training digest, epochs)."""
    from hlsgen.train import QKERAS_LABELS

    try:
        metrics = json.loads((train_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    return (metrics.get("training_digest") == cfg.training_digest() and metrics.get("epochs") == epochs
            and all((train_dir / f).exists() for f in ("spec.json", "qat_model.h5", QKERAS_LABELS)))


def write_project(spec: HardwareSpec, project: Path, final: Path, test_images: np.ndarray,
                  labels: np.ndarray, qkeras_labels: np.ndarray | None) -> dict[str, Any]:
    """hls4ml's project plus our testbench, Makefile, tb_data and spec into ``project``."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    hls_model = emit.convert(spec, project)
    emit.check_types(spec, hls_model)
    hls_model.write()
    timings["hls4ml"] = time.perf_counter() - start
    keras_file = project / "keras_model.keras"
    if keras_file.exists():
        keras_file.unlink()  # a zip with timestamps; spec.json + weights.npz describe the model exactly
    (project / f"{spec.name}_test.cpp").write_text(emit.testbench_source(spec, hls_model))
    (project / "Makefile").write_text(emit.render("Makefile", top=spec.name, hlsgen=_hlsgen_executable()))
    (project / "hls_config.cfg").write_text(emit.render(
        "hls_config.cfg", top=spec.name, part=spec.hls["part"], clock=spec.hls["clock_period"]))
    spec.save(project)

    start = time.perf_counter()
    codes = input_codes(spec.input_t, test_images)
    expected = golden.run(spec, codes).output
    timings["golden"] = time.perf_counter() - start
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    for stale in tb.iterdir():
        stale.unlink()  # hls4ml's float test vectors: our testbench exchanges codes only
    emit.write_codes(tb / "inputs.txt", codes)
    emit.write_codes(tb / "expected.txt", expected)
    np.savetxt(tb / "labels.txt", labels, fmt="%d")
    if qkeras_labels is not None:
        np.savetxt(tb / "qkeras_labels.txt", qkeras_labels, fmt="%d")
    emit.normalize_hls4ml_output(project, final, spec_stamp(project))
    return timings


def spec_stamp(project: Path) -> str:
    import hashlib

    return hashlib.sha256((project / "spec.json").read_bytes() + (project / "weights.npz").read_bytes()).hexdigest()[:8]


def _hlsgen_executable() -> str:
    exe = Path(sys.executable).parent / "hlsgen"
    return str(exe) if exe.exists() else "hlsgen"


def build_command(cfg: Config, output: Path | None = None, force: bool = False, epochs: int | None = None,
                  n_test: int | None = None, verbose: int = 1) -> Path:
    """Train (or reuse ``<output>/train``), export the spec and write the HLS project; returns its path."""
    from hlsgen.errors import ConfigError
    from hlsgen.estimate import estimate
    from hlsgen.estimate_format import format_estimate

    target = Path(output or cfg.output_dir)
    check_replaceable(target, force)
    est = estimate(cfg)
    print(format_estimate(est))
    if est.problems:  # hls4ml would generate C++ that computes wrong results: stop before training
        raise ConfigError(est.problems[0])
    data = load_mnist(cfg.data.path)
    from hlsgen.train import QKERAS_LABELS, format_metrics, train_models, write_training  # TensorFlow: slow
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
    Path(LAST_BUILD_FILE).write_text(str(target) + "\n")
    print(f"build: hls4ml {timings['hls4ml']:.1f} s, golden model on {len(x_test)} images {timings['golden']:.2f} s")
    print(f"wrote {target}: run 'make -C {target} csim' (or 'make csim')")
    profile = Path(f"{target}-profile") / "summary.md"
    if profile.exists():
        print(f"profile of this config's output_dir (hlsgen profile): {profile}")
    return target


def _with_hls_settings(spec: HardwareSpec, cfg: Config) -> HardwareSpec:
    """The trained spec with this config's HLS settings (they do not affect training)."""
    from hlsgen.spec import build_spec

    codes = {s.name: (s.weight_codes, s.bias_codes) for s in spec.stages if s.weight_codes is not None}
    return build_spec(cfg, codes)
