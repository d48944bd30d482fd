"""PNG plots of ``hlsgen profile``: value distributions against each type's range, and accuracy
against integer bits. matplotlib only (Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hlsgen.profile.ranges import Profile


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log2_range(t) -> tuple[float, float]:
    """log2 of the smallest and largest non-zero magnitude ``t`` holds: its LSB and its largest |value|."""
    return -float(t.frac), float(np.log2(max(abs(t.min_value), t.max_value)))


def plot_ranges(profiles: list[Profile], path: Path, max_points: int = 200_000) -> None:
    """One row per layer quantity: a box plot of log2|value| of the non-zero values (whiskers at 0.1 and
    99.9 %), the current type's representable magnitudes as a grey band (LSB .. largest value), the
    recommended type's as an outlined band, and the saturated/zeroed fractions with the current type.
    In the spirit of hls4ml's numerical profiling, with our exact ranges."""
    plt = _pyplot()
    rows = [p for p in profiles if p.values is not None and np.any(p.values)]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.6))
    rng = np.random.default_rng(0)
    data = []
    for p in rows:
        v = np.abs(p.values[p.values != 0])
        if v.size > max_points:
            v = rng.choice(v, max_points, replace=False)
        data.append(np.log2(v))
    ypos = np.arange(len(rows))[::-1]
    for y, p in zip(ypos, rows, strict=True):
        lo, hi = _log2_range(p.current)
        ax.add_patch(plt.Rectangle((lo, y - 0.4), hi - lo, 0.8, color="0.6", alpha=0.35, lw=0))
        if p.recommended is not None and p.recommended != p.current:
            rlo, rhi = _log2_range(p.recommended)
            ax.add_patch(plt.Rectangle((rlo, y - 0.42), rhi - rlo, 0.84, fill=False, ec="tab:green", lw=1.5))
        note = f"sat {100 * p.saturated:.2g}%  zero {100 * p.zeroed:.2g}%"
        ax.annotate(note, (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.boxplot(data, positions=ypos, vert=False, whis=(0.1, 99.9), widths=0.5, showfliers=False,
               medianprops={"color": "tab:blue"})
    ax.set_yticks(ypos, [f"{p.layer}.{p.quantity}  {p.current}" for p in rows], fontsize=8)
    ax.set_xlabel("log2 |value|   (grey: current type, LSB .. largest value; green outline: recommended)")
    ax.set_title("Value ranges (float model, non-zero values) against the ap_fixed types")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy(layer: str, sweeps: dict[tuple[str, str], dict[int, float | None]],
                  chosen: dict[tuple[str, str], int], uniform: dict[str, dict[int, float | None]],
                  float_accuracy: float, path: Path) -> None:
    """Accuracy (PTQ, golden model) against the integer bits of ``layer``'s types, the others profiled;
    the profiled choice marked; float accuracy and the one-type-everywhere sweeps for reference."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(12, 4.8))
    for (name, quantity), curve in sweeps.items():
        if name != layer:
            continue
        xs = [i for i, a in curve.items() if a is not None]
        line, = ax.plot(xs, [100 * curve[i] for i in xs], "o-", label=f"{layer}.{quantity} (others profiled)")
        i = chosen[(name, quantity)]
        if curve.get(i) is not None:
            ax.plot([i], [100 * curve[i]], "*", ms=16, color=line.get_color())
    for label, curve in uniform.items():
        xs = [i for i, a in curve.items() if a is not None]
        ax.plot(xs, [100 * curve[i] for i in xs], "--", color="0.5" if "hls4ml" in label else "0.3", label=label)
    ax.axhline(100 * float_accuracy, color="k", lw=0.8, ls=":", label=f"float {100 * float_accuracy:.2f}%")
    ax.set_xlabel("integer bits I of ap_fixed<8,I>  (star: profiled choice)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Accuracy vs integer bits: {layer}, the most sensitive layer")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
