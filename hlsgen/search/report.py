"""What ``hlsgen search`` writes: ``search.json``, ``best.yaml`` (a complete config), ``pareto.png`` and
the printed table of the Pareto front. Accuracies are fractions of the test images used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hlsgen.config import CHOSEN, Config, config_from_dict
from hlsgen.config.precision import spelled
from hlsgen.errors import ConfigError, HlsgenError
from hlsgen.outdir import atomic_output_dir
from hlsgen.search.greedy import pareto_front


def _acc(correct: int | None, n: int) -> float | None:
    return None if correct is None else correct / n


def layer_types(types: dict) -> dict[str, dict[str, str]]:
    """``{(layer, quantity): FixedType}`` -> ``{layer: {quantity: "ap_fixed<...>"}}``."""
    out: dict[str, dict[str, str]] = {}
    for (layer, quantity), t in types.items():
        out.setdefault(layer, {})[quantity] = str(t)
    return out


def candidate_json(c, n: int, front: set[int]) -> dict[str, Any]:
    move = None if c.move is None else f"{c.move.name} {c.move.old}->{c.move.new}"
    return {"id": c.id, "round": c.round, "move": move,
            "types": layer_types(c.types), "accuracy": _acc(c.correct, n), "correct": c.correct,
            "weight_bits": c.weight_bits, **{k: c.hw.get(k) for k in ("multipliers", "dsp", "bram")},
            "accepted": c.accepted, "on_front": c.id in front, "qat_accuracy": _acc(c.qat_correct, n),
            "error": c.error or c.qat_error}


def best_config(cfg: Config, raw: dict[str, Any]) -> dict[str, Any]:
    """The complete config of a candidate as ``best.yaml`` holds it: ``output_dir`` gets ``_search`` (the
    original build stays), a relative data path is made absolute."""
    new = {**spelled(raw), "output_dir": f"{cfg.output_dir}_search"}
    if cfg.data.path is not None:
        new["data"] = {**(raw.get("data") or {}), "path": str(Path(cfg.data.path).resolve())}
    return new


def _short(t) -> str:
    return f"{'' if t.signed else 'u'}{t.width},{t.integer}"


def format_front(candidates, front: list[int], n: int, ref_bits: int, chosen: int) -> str:
    """The Pareto front as a table: per layer ``weight|bias|result`` as ``W,I`` (``u``: unsigned)."""
    layers = list(dict.fromkeys(layer for layer, _ in candidates[0].types))
    head = (f"{'id':>4} {'weight bits':>11} {'saving':>7} {'PTQ acc':>8} {'QAT acc':>8} {'mult':>5} {'DSP':>5} "
            f"{'BRAM':>5}  " + "  ".join(f"{name + ' w|b|r':<18}" for name in layers))
    lines = [head]
    for i in ([0] if 0 not in front else []) + front:
        c = candidates[i]
        qat = "-" if c.qat_correct is None else f"{c.qat_correct / n:.4f}"
        per_layer = "  ".join(f"{'|'.join(_short(c.types[(name, q)]) for q in CHOSEN):<18}"
                              for name in layers)
        mark = "*" if i == chosen else ("r" if i == 0 else " ")
        lines.append(f"{i:>3}{mark} {c.weight_bits:>11} {1 - c.weight_bits / ref_bits:>7.1%} {c.correct / n:>8.4f} "
                     f"{qat:>8} {c.hw.get('multipliers', '-'):>5} {c.hw.get('dsp', '-'):>5} {c.hw.get('bram', '-'):>5}"
                     f"  {per_layer}")
    lines.append("(the front by weight memory; * the chosen config, r the reference (shown even off the front); "
                 "types W,I per layer as weight|bias|result, u = unsigned)")
    return "\n".join(lines)


def plot_pareto(candidates, front: list[int], chosen: int, n: int, path: Path) -> None:
    """Accuracy against weight memory (left) and against the estimate's DSP upper bound (right): every
    evaluated candidate, the Pareto front (of weight memory) joined, the 8-bit reference and the chosen
    config marked, fine-tuned (QAT) accuracies where measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [c for c in candidates if c.correct is not None]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, xkey, label in ((axes[0], "bits", "weight and bias memory (kbit)"),
                            (axes[1], "dsp", "estimated DSPs (upper bound: multipliers x DSPs per product)")):
        def x(c, xkey=xkey):
            return c.weight_bits / 1000 if xkey == "bits" else c.hw.get("dsp", 0)

        ax.scatter([x(c) for c in done], [100 * c.correct / n for c in done], s=12, color="0.65",
                   label="PTQ candidates")
        own = front if xkey == "bits" else pareto_front([(x(c), c.correct) for c in candidates])
        fx = [x(candidates[i]) for i in own]
        fy = [100 * candidates[i].correct / n for i in own]
        ax.plot(fx, fy, "o-", color="tab:blue", ms=5, label="Pareto front (PTQ)")
        qat = [c for c in done if c.qat_correct is not None]
        if qat:
            ax.scatter([x(c) for c in qat], [100 * c.qat_correct / n for c in qat], marker="s", s=40,
                       facecolors="none", edgecolors="tab:green", label="fine-tuned (QAT)")
        ref, best = candidates[0], candidates[chosen]
        ax.scatter([x(ref)], [100 * ref.correct / n], marker="*", s=180, color="tab:red", zorder=5,
                   label="reference (config)")
        ax.scatter([x(best)], [100 * best.correct / n], marker="D", s=60, color="tab:orange", zorder=5,
                   label="chosen (PTQ)")
        if xkey == "dsp" and len({x(c) for c in done}) == 1:
            ax.text(0.5, 0.04, "every candidate has the same DSP bound: the estimate counts one DSP per\n"
                    "multiplier up to 25x18-bit products (narrower products may be built from LUTs)",
                    transform=ax.transAxes, ha="center", fontsize=8, color="0.3",
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"golden-model accuracy on {n} test images (%)")
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle("hlsgen search: accuracy vs cost")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(target: Path, force: bool, cfg: Config, space, candidates, front: list[int], chosen: int,
                  confirmed: list[int], *, n_test: int, max_drop: float, bits: tuple[int, int], qat_epochs: int,
                  evaluations: int, float_accuracy: float, seconds: float, phases: dict[str, float],
                  log=print) -> dict[str, Any]:
    """Print the front, write ``search.json``, ``best.yaml`` and ``pareto.png`` into ``target`` atomically."""
    n, ref, best = n_test, candidates[0], candidates[chosen]
    basis = "qat" if confirmed else "ptq"

    def acc(c) -> float | None:
        return _acc(c.qat_correct if basis == "qat" else c.correct, n)

    config = best_config(cfg, best.raw)
    try:
        config_from_dict(config, source=cfg.source)
    except ConfigError as err:
        raise HlsgenError(f"search: the best config is invalid: {err}") from None
    front_set = set(front)
    result = {
        "config": str(cfg.source), "test_images": n, "max_drop": max_drop, "bits": list(bits),
        "qat_epochs": qat_epochs, "chosen_by": basis, "float_accuracy": float_accuracy,
        "reference": {"accuracy": acc(ref), "ptq_accuracy": _acc(ref.correct, n),
                      "qat_accuracy": _acc(ref.qat_correct, n), "weight_bits": ref.weight_bits},
        "best": {"id": best.id, "accuracy": acc(best), "ptq_accuracy": _acc(best.correct, n),
                 "qat_accuracy": _acc(best.qat_correct, n), "weight_bits": best.weight_bits,
                 "saving": 1 - best.weight_bits / ref.weight_bits, "types": layer_types(best.types),
                 "config": config},
        "front": front, "confirmed": confirmed,
        "candidates": [candidate_json(c, n, front_set) for c in candidates],
        "evaluations": evaluations, "seconds": round(seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
    }
    table = format_front(candidates, front, n, ref.weight_bits, chosen)
    log(table)
    how = (f"fine-tuned {qat_epochs} epochs: {best.qat_correct / n:.4f} vs the reference's "
           f"{ref.qat_correct / n:.4f}" if basis == "qat" else f"PTQ only: {best.correct / n:.4f} vs "
           f"{ref.correct / n:.4f}")
    saving = result["best"]["saving"]
    log(f"search: {evaluations} evaluations in {seconds:.1f} s; best: candidate {best.id}, "
        f"{best.weight_bits} weight bits ({saving:.1%} fewer than the config's {ref.weight_bits}), {how}"
        + (" (no candidate kept the accuracy: the config itself)" if chosen == 0 else ""))
    header = (f"# written by 'hlsgen search' from {cfg.source}: candidate {best.id}, {best.weight_bits} weight bits "
              f"({saving:.1%} fewer), {how}\n# on {n} test images; see search.json and pareto.png\n")
    with atomic_output_dir(target, force=force, kind="search") as tmp:
        (tmp / "search.json").write_text(json.dumps(result, indent=2) + "\n")
        (tmp / "best.yaml").write_text(header + yaml.safe_dump(config, sort_keys=False, width=110))
        plot_pareto(candidates, front, chosen, n, tmp / "pareto.png")
        (tmp / "front.txt").write_text(table + "\n")
    log(f"wrote {target}/best.yaml, search.json, pareto.png (build it: hlsgen build {target}/best.yaml)")
    return result
