"""``hlsgen build``: config -> trained model (or the cached one) -> spec -> Vitis HLS project.

The build is a list of steps, each ``step(state) -> state`` (FINN's shape): estimate -> data ->
train or reuse -> lower -> emit -> test vectors -> prove -> normalise -> seal. A step returns a new state
and never changes the one it was given. The project directory holds hls4ml's output, our testbench, Makefile
and tb_data, the spec (``spec.json`` + ``weights.npz``) and the training it came from (``train/``),
so it can be re-verified without TensorFlow. It is written into a temporary sibling and renamed
into place at the end.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen.config import Config
from hlsgen.data import Mnist, load_for
from hlsgen.errors import ConfigError
from hlsgen.outdir import atomic_output_dir, check_replaceable
from hlsgen.spec import HardwareSpec, HlsSettings
from hlsgen.spec.model import Codes


@dataclass(frozen=True)
class BuildState:
    """What the steps pass on. ``work`` is the temporary project directory, ``target`` the final one."""

    cfg: Config
    target: Path
    work: Path | None
    epochs: int
    n_test: int | None = None
    verbose: int = 1
    data: Mnist | None = None
    test_codes: np.ndarray | None = None  # the input codes of the test images the project holds, computed once
    codes: Codes | None = None  # the trained integer weights, from training or the cache
    trained: Any = None  # this build's training (TrainResult), None when the cache was reused
    spec: HardwareSpec | None = None
    settings: HlsSettings | None = None
    hls_model: Any = None  # hls4ml's model of the project (its I/O names and traced layers)
    qkeras_labels: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


Step = Callable[[BuildState], BuildState]


def step_estimate(state: BuildState) -> BuildState:
    """Print the pre-synthesis estimate; stop before training when hls4ml would compute wrong results."""
    from hlsgen.spec.lower import lower_with_settings
    from hlsgen.synth.estimate import estimate
    from hlsgen.synth.estimate_format import format_estimate

    est = estimate(*lower_with_settings(state.cfg))
    print(format_estimate(est))
    if est.problems:
        raise ConfigError(est.problems[0])
    return state


def step_data(state: BuildState) -> BuildState:
    """The data set, and the input codes of the test images the project will hold (once, for the test vectors
    and the proof)."""
    from hlsgen.data import input_codes

    data = load_for(state.cfg.data.path, state.cfg.input_shape)
    return replace(state, data=data, test_codes=input_codes(state.cfg.input_type, data.x_test[: state.n_test]))


def step_train(state: BuildState) -> BuildState:
    """Train (QKeras QAT), or reuse ``<target>/train`` when it holds this config's training on this data."""
    from hlsgen.train import cache

    cached = cache.load(state.target / "train", state.cfg, state.epochs, state.data)
    if cached is not None:
        print(f"build: reusing the trained model in {cached.directory} (same config, epochs and data)")
        shutil.copytree(cached.directory, state.work / "train")
        return replace(state, codes=cached.codes(), qkeras_labels=cached.qkeras_labels())
    from hlsgen.train import format_metrics, train_models, write_training  # TensorFlow: slow

    result = train_models(state.cfg, state.data, epochs=state.epochs, verbose=state.verbose)
    write_training(state.work / "train", state.cfg, result)
    print(format_metrics(result.metrics))
    return replace(state, codes=result.spec.codes(), qkeras_labels=result.qkeras_labels, trained=result)


def step_lower(state: BuildState) -> BuildState:
    """The spec of this config with the trained codes (the cached training may predate a change of, e.g.,
    ``hls.softmax``, which is not part of the training), and the HLS settings that travel beside it."""
    from hlsgen.spec.lower import build_spec, hls_settings

    return replace(state, spec=build_spec(state.cfg, state.codes), settings=hls_settings(state.cfg))


def step_emit(state: BuildState) -> BuildState:
    """hls4ml's project, our Makefile, Unified cfg and the spec."""
    from hlsgen.hls.project import emit_project

    start = time.perf_counter()
    hls_model = emit_project(state.spec, state.settings, state.work, len(state.test_codes))
    return replace(state, hls_model=hls_model, timings={**state.timings, "hls4ml": time.perf_counter() - start})


def step_test_vectors(state: BuildState) -> BuildState:
    """tb_data: input codes, the golden model's expected outputs, labels, QKeras' labels; the manifest and
    the testbench that checks exactly this evidence."""
    from hlsgen import golden
    from hlsgen.hls.project import write_test_vectors

    codes = state.test_codes
    y_test = state.data.y_test[: len(codes)]
    qk = state.qkeras_labels[: len(codes)] if state.qkeras_labels is not None else None
    start = time.perf_counter()
    expected = _trained_outputs(state)
    reused = expected is not None
    if expected is None:
        expected = golden.run(state.spec, codes).output
    golden_s = time.perf_counter() - start
    write_test_vectors(state.spec, state.work, state.hls_model, codes, y_test, qk, expected=expected)
    return replace(state, timings={**state.timings, "golden": golden_s, "golden_reused": reused, "images": len(codes),
                                   "tb_data": time.perf_counter() - start - golden_s})


def _trained_outputs(state: BuildState) -> np.ndarray | None:
    """The golden outputs this build's training computed on the test set, when they are of the spec being built
    (the same digest) and of the same images; None (the test vectors run the golden model) otherwise."""
    t = state.trained
    if t is None or t.golden_output is None or t.spec.digest() != state.spec.digest():
        return None
    if len(t.golden_output) < len(state.test_codes):
        return None
    return t.golden_output[: len(state.test_codes)]


def step_normalise(state: BuildState) -> BuildState:
    """hls4ml's files made byte-identical across builds (temporary paths, random stamps)."""
    from hlsgen.hls.project import normalize_project

    normalize_project(state.spec, state.work, state.target)
    return state


def step_seal(state: BuildState) -> BuildState:
    """The manifest, written last: tb_data's digests, the build id (the spec's digest) and the seal of every
    generated source, which ``hlsgen compare`` and ``csim`` check before they believe a simulation."""
    from hlsgen.hls.project import seal_project

    seal_project(state.spec, state.work, int(state.timings["images"]))
    return state


def step_prove(state: BuildState) -> BuildState:
    """The overflow proof of the spec over every input in range (``proof.json``), with the fraction of the
    test images that saturate where a cast is not proved; one summary line."""
    from hlsgen.analysis.command import write_proof
    from hlsgen.analysis.prove import summary

    start = time.perf_counter()
    reports = write_proof(state.spec, state.work, state.test_codes)
    print(f"build: {summary(reports)}")
    return replace(state, timings={**state.timings, "prove": time.perf_counter() - start})


PREPARE: tuple[Step, ...] = (step_estimate, step_data)  # before anything is written
STEPS: tuple[Step, ...] = (step_train, step_lower, step_emit, step_test_vectors, step_prove, step_normalise,
                          step_seal)


def build_command(cfg: Config, output: Path | None = None, force: bool = False, epochs: int | None = None,
                  n_test: int | None = None, verbose: int = 1) -> Path:
    """Run :data:`PREPARE`, then :data:`STEPS` into a temporary directory renamed to the project at the
    end; returns its path."""
    target = Path(output or cfg.output_dir)
    check_replaceable(target, force)
    state = BuildState(cfg, target, None, cfg.train.epochs if epochs is None else epochs, n_test, verbose)
    for step in PREPARE:
        state = step(state)
    with atomic_output_dir(target, force=force, kind="project") as work:
        state = replace(state, work=work)
        for step in STEPS:
            state = step(state)
    t = state.timings
    golden_run = "its outputs from the training, " if t["golden_reused"] else ""
    print(f"build: hls4ml {t['hls4ml']:.1f} s, golden model on {t['images']:.0f} images ({golden_run}run once) "
          f"{t['golden']:.2f} s, tb_data written {t['tb_data']:.1f} s, overflow proof {t['prove']:.1f} s")
    print(f"wrote {target}: run 'make -C {target} csim' (or 'make csim')")
    profile = Path(f"{target}-profile") / "summary.md"
    if profile.exists():
        print(f"profile of this config's output_dir (hlsgen profile): {profile}")
    return target
