"""The estimate of :mod:`hlsgen.synth.estimate` as text (a per-layer table, totals, the part comparison,
warnings and problems) and as a JSON-ready dict."""

from __future__ import annotations

from typing import Any

from hlsgen.synth.estimate import NARROW_BITS, Estimate


def _kib(bits: int) -> str:
    return f"{bits / 8 / 1024:.1f} KiB"


def format_estimate(est: Estimate) -> str:
    """A per-layer table, totals, the part comparison, then warnings and problems."""
    head = ("layer", "type", "MACs", "params", "RF", "mults", "DSP", "memory", "float32", "BRAM18", "cycles")
    rows = [head]
    for le in est.layers:
        rf = str(le.reuse_factor) if le.hls4ml_reuse_factor == le.reuse_factor else \
            f"{le.reuse_factor}->{le.hls4ml_reuse_factor}"
        rows.append((le.name, le.type, f"{le.macs:,}", f"{le.weights + le.biases:,}", rf, f"{le.multipliers:,}",
                     f"≤{le.dsp_upper:,}", f"{le.memory_bits:,} b", f"{le.float32_bits:,} b",
                     f"≥{le.bram18_lower}", f"≥{le.latency_lower:,}"))
    t = est.total
    rows.append(("total", "", f"{t('macs'):,}", f"{t('weights') + t('biases'):,}", "", f"{t('multipliers'):,}",
                 f"≤{t('dsp_upper'):,}", f"{t('memory_bits'):,} b", f"{t('float32_bits'):,} b",
                 f"≥{t('bram18_lower')}", f"≥{est.latency_sum:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [f"estimate for {est.name}: {est.io_type}, {est.strategy} strategy, part {est.part}, "
             f"clock {est.clock_period:g} ns (no synthesis; exact counts and stated bounds)", ""]
    for i, r in enumerate(rows):
        cells = zip(r, widths, strict=True)
        lines.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(cells)))
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    mem, f32 = t("memory_bits"), t("float32_bits")
    ns = est.clock_period
    lines += [
        "",
        f"memory    {mem:,} bits = {_kib(mem)} of weights+biases vs {_kib(f32)} as float32 "
        f"({f32 / mem:.1f}x smaller){f'; softmax tables {est.table_bits:,} bits more' if est.table_bits else ''}",
        f"latency   ≥ {est.latency_lower:,} cycles (≥ {est.latency_lower * ns / 1000:g} us); interval "
        f"≥ {est.interval_lower:,} cycles; sum of layer bounds {est.latency_sum:,}"
        + (" (io_stream layers overlap, so latency ≥ max)" if est.io_type == "io_stream" else ""),
    ]
    if any(le.narrow for le in est.layers):
        names = ", ".join(le.name for le in est.layers if le.narrow)
        lines.append(f"DSP       multipliers of ≤ {NARROW_BITS}-bit operands ({names}) may be built from LUTs: "
                     "DSP counts are upper bounds")
    if est.device is None:
        lines.append(f"part      {est.part!r} unknown to hlsgen: no fit check")
    else:
        d = est.device
        lines.append(f"part      {d.device} ({d.description}): DSP ≤ {t('dsp_upper')} of {d.dsp}, "
                     f"BRAM18 ≥ {t('bram18_lower')} of {d.bram_18k}; LUT and FF are not estimated")
    lines.append("legend    exact: MACs, params, mults (hls4ml's multiplier_limit), memory; ≤/≥: bounds "
                 "(BRAM18: if the weights sit in block RAM; small arrays may go to LUTRAM).")
    lines.append("          Synthesised figures come only from `hlsgen report` after Vitis HLS.")
    lines += [f"warning: {w}" for w in est.warnings]
    lines += [f"problem: {p}" for p in est.problems]
    return "\n".join(lines)


def estimate_json(est: Estimate) -> dict[str, Any]:
    """A JSON-ready dict: ``name, part, io_type, strategy, clock_period_ns, layers, totals, device,
    warnings, problems, suggestion``. Keys ending in ``_lower``/``_upper`` are bounds."""
    layers = [{
        "name": le.name, "type": le.type, "n_in": le.n_in, "n_out": le.n_out, "weights": le.weights,
        "biases": le.biases, "macs": le.macs, "reuse_factor": le.reuse_factor,
        "hls4ml_reuse_factor": le.hls4ml_reuse_factor, "valid_reuse_factors": list(le.valid_reuse_factors),
        "multipliers": le.multipliers, "dsp_upper": le.dsp_upper, "narrow_multipliers": le.narrow,
        "weight_bits": le.weight_bits, "bias_bits": le.bias_bits, "memory_bits": le.memory_bits,
        "memory_bytes": -(-le.memory_bits // 8), "float32_bytes": le.float32_bits // 8,
        "bram18_lower": le.bram18_lower, "latency_cycles_lower": le.latency_lower,
    } for le in est.layers]
    t = est.total
    totals = {
        "macs": t("macs"), "multipliers": t("multipliers"), "dsp_upper": t("dsp_upper"),
        "memory_bits": t("memory_bits"), "memory_bytes": -(-t("memory_bits") // 8),
        "float32_bytes": t("float32_bits") // 8,
        "memory_ratio": t("float32_bits") / t("memory_bits") if t("memory_bits") else None,
        "softmax_table_bits": est.table_bits, "bram18_lower": t("bram18_lower"),
        "latency_cycles_lower": est.latency_lower, "interval_cycles_lower": est.interval_lower,
        "latency_cycles_sum": est.latency_sum,
    }
    return {
        "name": est.name, "part": est.part, "io_type": est.io_type, "strategy": est.strategy,
        "clock_period_ns": est.clock_period, "layers": layers, "totals": totals,
        "device": None if est.device is None else {"device": est.device.device, **est.device.resources()},
        "warnings": list(est.warnings), "problems": list(est.problems), "suggestion": dict(est.suggestion),
    }
