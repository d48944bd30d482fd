"""``hlsgen profile CONFIG``: measure, recommend integer bits, show what they buy, write the results.

Writes ``<output_dir>-profile/`` (or ``--output``): ``summary.md`` (tables, YAML block, linked plots),
``profile.json``, ``precision.yaml``, ``ranges.png`` and ``accuracy_vs_integer_bits.png``; with
``--apply OUT.yaml`` also a complete config using the profiled precision.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hlsgen import golden
from hlsgen.config import INPUT_KEY, Config, Quantity
from hlsgen.data import input_codes, load_for, to_float
from hlsgen.errors import UsageError
from hlsgen.outdir import atomic_output_dir, check_replaceable
from hlsgen.profile.ranges import (
    SWEEP_SPAN,
    Profile,
    float_values,
    precision_block,
    profile_model,
    raw_config,
    recommended_types,
    write_config,
)
from hlsgen.spec.lower import build_spec
from hlsgen.train import cache

UNIFORM_LABELS = {False: "ap_fixed<8,I> everywhere, hls4ml-style (TRN, WRAP, 8-bit accumulators)",
                  True: "ap_fixed<8,I,RND_CONV,SAT> for all data, exact accumulators"}


def _check_apply(apply: Path | None, force: bool) -> None:
    if apply is None:
        return
    if apply.exists() and not force:
        raise UsageError(f"{apply}: exists; refusing to overwrite it (use --force, or another file)")
    if apply.is_dir():
        raise UsageError(f"{apply}: is a directory; give a file name for the profiled config")


def _models(cfg: Config, data, epochs: int | None):
    """(float model, spec of the hardware as configured, where it came from, cached metrics or None)."""
    from hlsgen.train import train_float
    from hlsgen.train.codes import ptq_codes

    train_dir = Path(cfg.output_dir) / "train"
    cached = cache.load(train_dir, cfg, epochs or cfg.train.epochs, data)
    if cached is not None:
        return cached.models()[1], cached.spec(), f"the QAT model in {train_dir}", cached.metrics
    start = time.perf_counter()
    print(f"profile: no matching training in {train_dir}; training the float model "
          f"({epochs or cfg.train.epochs} epochs)", flush=True)
    float_model = train_float(cfg, data, epochs)
    print(f"profile: float model trained in {time.perf_counter() - start:.1f} s", flush=True)
    spec = build_spec(cfg, ptq_codes(cfg, float_model))
    return float_model, spec, "the float weights rounded into the config's types (no QAT training cached)", None


def profile_command(cfg: Config, images: int = 2000, test_images: int | None = None, saturation: float = 0.0,
                    output: Path | None = None, apply: Path | None = None, force: bool = False,
                    epochs: int | None = None) -> dict[str, Any]:
    """Run the profile, print the table, the ``precision:`` block and the accuracies; write the results.
    The arguments are checked by the CLI (``images >= 1``, ``0 <= saturation < 1``)."""
    from hlsgen.profile.sweep import layer_sweeps, most_sensitive, uniform_sweep
    from hlsgen.train.ptq import PtqEvaluator

    target = Path(output or f"{cfg.output_dir}-profile")
    check_replaceable(target, force)
    _check_apply(apply, force)
    raw = raw_config(cfg)
    data = load_for(cfg.data.path, cfg.input_shape)
    float_model, hw_spec, hw_source, metrics = _models(cfg, data, epochs)

    start = time.perf_counter()
    x = data.x_train[:images]
    values = float_values(cfg, float_model, to_float(x))
    hw = golden.run(hw_spec, input_codes(cfg.input_type, x))
    profiles = profile_model(cfg, values, saturation, hw, hw_spec)
    chosen = recommended_types(profiles)
    block = precision_block(cfg, raw, chosen)
    profiled = cfg.with_types(chosen)

    x_test, y_test = data.x_test[:test_images], data.y_test[:test_images].astype(np.int64)
    scores = float_model.predict(to_float(x_test), batch_size=1000, verbose=0)
    ptq = PtqEvaluator(float_model, x_test, y_test)
    accuracy = {"float": float(np.mean(golden.labels(scores) == y_test)),
                "config_ptq": ptq.accuracy(cfg), "profiled_ptq": ptq.accuracy(profiled)}
    if metrics is not None:
        accuracy["qat_golden"] = metrics["golden"]["accuracy"]
    uniform = {UNIFORM_LABELS[exact]: uniform_sweep(cfg, raw, ptq, exact) for exact in (False, True)}
    sweeps = layer_sweeps(cfg, raw, {k: t for k, t in chosen.items() if k != INPUT_KEY}, ptq, SWEEP_SPAN)
    key_layer = most_sensitive(sweeps)
    seconds = time.perf_counter() - start

    result = {"config": str(cfg.source), "profile_images": len(x), "test_images": len(x_test),
              "saturation": saturation, "hardware_source": hw_source, "profiles": [p.to_json() for p in profiles],
              "precision": block, "accuracy": accuracy,
              "uniform": {k: {str(i): a for i, a in v.items()} for k, v in uniform.items()},
              "sweeps": {f"{k[0]}.{k[1]}": {str(i): a for i, a in v.items()} for k, v in sweeps.items()},
              "most_sensitive_layer": key_layer, "seconds": round(seconds, 1)}
    text = format_report(result, profiles)
    print(text)
    with atomic_output_dir(target, force=force, kind="profile") as tmp:
        from hlsgen.profile.plots import plot_accuracy, plot_ranges

        (tmp / "profile.json").write_text(json.dumps(result, indent=2) + "\n")
        (tmp / "precision.yaml").write_text(yaml.safe_dump({"precision": block}, sort_keys=False, width=110))
        plot_ranges(profiles, tmp / "ranges.png")
        plot_accuracy(key_layer, sweeps, {k: t.integer for k, t in chosen.items()}, uniform, accuracy["float"],
                      tmp / "accuracy_vs_integer_bits.png")
        (tmp / "summary.md").write_text(summary_markdown(result, text))
    print(f"wrote {target}/summary.md (plots: ranges.png, accuracy_vs_integer_bits.png)")
    if apply is not None:
        header = (f"# written by 'hlsgen profile' from {cfg.source} on {len(x)} training images "
                  f"(saturation {saturation}); see {target}/summary.md\n")
        applied = write_config(apply, cfg, raw, block, header)
        print(f"wrote {apply}: build it with 'hlsgen build {apply}' (output_dir {applied.output_dir})")
    return result


# ------------------------------------------------------------------------------ formatting

def _pct(x: float | None) -> str:
    return "-" if x is None else (f"{100 * x:.2g}%" if x else "0")


def format_table(profiles: list[Profile]) -> str:
    header = (f"{'layer':<10}{'value':<8}{'min':>10}{'max':>10}  {'hardware range':<21}{'current type':<36}"
              f"{'sat':>9}{'zero':>9}{'hw sat':>9}{'I':>4}  recommended")
    lines = [header]
    for p in profiles:
        rec = "derived (exact)" if p.quantity == Quantity.ACCUM else (str(p.recommended) if p.recommended else "-")
        hw_range = f"{p.hw_range[0]:.4g} .. {p.hw_range[1]:.4g}" if p.hw_range else "-"
        lines.append(f"{p.layer:<10}{p.quantity:<8}{p.lo:>10.4g}{p.hi:>10.4g}  {hw_range:<21}{str(p.current):<36}"
                     f"{_pct(p.saturated):>9}{_pct(p.zeroed):>9}{_pct(p.hw_saturated):>9}"
                     f"{'-' if p.needed_integer is None else p.needed_integer:>4}  {rec}")
    return "\n".join(lines)


def _curve(curve: dict[int, float | None]) -> str:
    return "  ".join(f"I={i}: {'-' if a is None else f'{a:.4f}'}" for i, a in curve.items())


def format_report(result: dict[str, Any], profiles: list[Profile]) -> str:
    acc = result["accuracy"]
    names = {"float": "float model", "config_ptq": "PTQ, types as configured",
             "profiled_ptq": "PTQ, profiled types", "qat_golden": "QAT (cached training; its own test set)"}
    lines = [f"profile of {result['config']} on {result['profile_images']} training images "
             f"(float model; 'hw sat' = golden model of {result['hardware_source']})",
             "min/max: float model; hardware range: the golden model's values as configured;",
             "sat: float values that overflow the current type; zero: non-zero float values that round to 0; "
             "I: integer bits needed", "", format_table(profiles), "",
             yaml.safe_dump({"precision": result["precision"]}, sort_keys=False, width=110).rstrip(), "",
             f"accuracy on {result['test_images']} test images (PTQ = float weights rounded into the types, "
             "run through the golden model):"]
    lines += [f"  {names[k]:<44}{v:.4f}" for k, v in acc.items()]
    for label, curve in result["uniform"].items():
        lines.append(f"  {label}:")
        lines.append("    " + _curve({int(i): a for i, a in curve.items()}))
    lines.append(f"most sensitive layer: {result['most_sensitive_layer']}")
    for key, curve in result["sweeps"].items():
        if key.startswith(result["most_sensitive_layer"] + "."):
            lines.append(f"  {key}: " + _curve({int(i): a for i, a in curve.items()}))
    return "\n".join(lines)


def summary_markdown(result: dict[str, Any], text: str) -> str:
    return (f"# hlsgen profile: {result['config']}\n\n"
            "![value ranges against the types](ranges.png)\n\n"
            f"![accuracy vs integer bits](accuracy_vs_integer_bits.png)\n\n"
            f"```\n{text}\n```\n\nAll numbers: profile.json. The precision block alone: precision.yaml.\n")
