"""An honest pre-synthesis estimate of a config: exact counts, stated bounds, known hls4ml pitfalls.

Nothing here runs a tool. Three kinds of number come out, and the output says which is which:

- **exact counts**: MACs per image, weight/bias memory in bits at the configured widths, the float32
  memory the same parameters would take, and the multipliers hls4ml's kernels instantiate;
- **bounds** (printed with ``≥``/``≤``): BRAM18 blocks, latency and interval in cycles, DSPs;
- **predictions of hls4ml 1.3.0's behaviour**: the reuse factor it would silently substitute
  (:func:`valid_reuse_factors` reproduces ``FPGABackend._validate_reuse_factor``), and its known
  limits, as warnings or (for wrong results) problems.

Synthesised figures come only from ``hlsgen report`` (csynth.xml) after running Vitis HLS. The text and
JSON forms of an estimate are in :mod:`hlsgen.synth.estimate_format`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hlsgen.spec import HlsSettings, Network, Stage, StageKind
from hlsgen.synth.parts import PartResources, lookup_part

BRAM18_BITS = 18 * 1024
UNROLL_LIMIT = 4096  # Vivado HLS refuses to unroll larger loops (hls4ml issues #904, #1013)
NARROW_BITS = 10  # products of operands this narrow or narrower are often built from LUTs
DSP_A, DSP_B = 25, 18  # DSP48E1 multiplier port widths (signed)


@dataclass(frozen=True)
class LayerEstimate:
    """Figures of one Conv2D/Dense layer (see :func:`estimate` for the formulas).

    ``n_in``/``n_out`` are hls4ml's matrix-multiply sizes (conv: ``kh*kw*cin`` and ``filters``);
    ``weights = n_in * n_out``. ``reuse_factor`` is the configured one, ``hls4ml_reuse_factor`` the
    one hls4ml 1.3.0 will use; every other figure is at ``hls4ml_reuse_factor``.
    """

    name: str
    type: str
    n_in: int
    n_out: int
    weights: int
    biases: int
    macs: int
    reuse_factor: int
    hls4ml_reuse_factor: int
    valid_reuse_factors: tuple[int, ...]
    multipliers: int
    dsp_per_multiplier: int
    narrow: bool
    weight_bits: int
    bias_bits: int
    bram18_lower: int
    latency_lower: int

    @property
    def memory_bits(self) -> int:
        return self.weight_bits + self.bias_bits

    @property
    def float32_bits(self) -> int:
        return 32 * (self.weights + self.biases)

    @property
    def dsp_upper(self) -> int:
        return self.multipliers * self.dsp_per_multiplier


@dataclass(frozen=True)
class Estimate:
    """The whole estimate. ``warnings`` may cost quality or fit; ``problems`` give wrong results or
    failed builds. ``suggestion`` maps layer -> reuse factor that fits the part's DSPs (or is empty)."""

    name: str
    part: str
    device: PartResources | None
    io_type: str
    strategy: str
    clock_period: float
    layers: tuple[LayerEstimate, ...]
    table_bits: int
    warnings: tuple[str, ...]
    problems: tuple[str, ...]
    suggestion: Mapping[str, int] = field(default_factory=dict)

    def total(self, attr: str) -> int:
        return sum(getattr(le, attr) for le in self.layers)

    @property
    def latency_sum(self) -> int:
        return self.total("latency_lower")

    @property
    def interval_lower(self) -> int:
        return max((le.latency_lower for le in self.layers), default=0)

    @property
    def latency_lower(self) -> int:
        # io_parallel layers run one after another; io_stream layers overlap in a dataflow region.
        return self.latency_sum if self.io_type == "io_parallel" else self.interval_lower


# --------------------------------------------------------------------------- hls4ml's rules

def _rf_is_valid(n_in: int, n_out: int, rf: int) -> bool:
    """``FPGABackend._validate_reuse_factor`` of hls4ml 1.3.0, verbatim in integer arithmetic."""
    multiplier_limit = -(-(n_in * n_out) // min(n_in, rf))
    ok = multiplier_limit % n_out == 0 or rf >= n_in
    ok = ok and (rf % n_in == 0 or rf < n_in)
    return ok and (n_in * n_out) % rf == 0


def valid_reuse_factors(n_in: int, n_out: int) -> tuple[int, ...]:
    """hls4ml 1.3.0's valid reuse factors for an ``n_in`` x ``n_out`` multiply, ascending.

    Equals ``get_valid_reuse_factors`` of the Vivado/Vitis backends (which do not override it); only
    divisors of ``n_in * n_out`` can pass its last test, so only those are tried.
    """
    n = n_in * n_out
    divisors = {d for i in range(1, math.isqrt(n) + 1) if n % i == 0 for d in (i, n // i)}
    return tuple(rf for rf in sorted(divisors) if _rf_is_valid(n_in, n_out, rf))


def closest_reuse_factor(valid: tuple[int, ...], chosen: int) -> int:
    """hls4ml's ``get_closest_reuse_factor``: the nearest valid one, the smaller on a tie."""
    pos = bisect_left(valid, chosen)
    if pos == 0:
        return valid[0]
    if pos == len(valid):
        return valid[-1]
    before, after = valid[pos - 1], valid[pos]
    return after if after - chosen < chosen - before else before


# --------------------------------------------------------------------------- the estimate

#: The Keras layer type each Conv2D/Dense/pooling stage kind is reported as.
KERAS_TYPE = {StageKind.CONV2D: "Conv2D", StageKind.DENSE: "Dense", StageKind.MAXPOOL: "MaxPooling2D",
              StageKind.AVGPOOL: "AveragePooling2D"}


def _latency_bound(layer: Stage, rf: int, io_type: str) -> int:
    if layer.kind is StageKind.DENSE:
        return rf
    pixels = layer.output_shape[0] * layer.output_shape[1]
    if io_type == "io_stream":
        return max(layer.input_shape[0] * layer.input_shape[1], pixels * rf)
    return pixels * rf


def _layer(settings: HlsSettings, layer: Stage) -> LayerEstimate:
    n_in, n_out = layer.fan_in, layer.n_out
    weights = n_in * n_out
    out_pixels = math.prod(layer.output_shape[:-1]) if layer.kind is StageKind.CONV2D else 1
    rf = settings.reuse(layer.name)
    valid = valid_reuse_factors(n_in, n_out)
    # hls4ml validates (and silently replaces) the reuse factor only under the Resource strategy.
    used = rf if settings.strategy == "Latency" or rf in valid else closest_reuse_factor(valid, rf)
    t_in, t_w = layer.input_t, layer.weight_t
    wi, ww = t_in.width + (not t_in.signed), t_w.width + (not t_w.signed)
    per_dsp = math.ceil(max(wi, ww) / DSP_A) * math.ceil(min(wi, ww) / DSP_B)
    weight_bits = weights * t_w.width
    bias_bits = n_out * layer.bias_t.width  # hlsgen always emits the bias array (zeros without use_bias)
    resource = settings.strategy == "Resource"
    return LayerEstimate(
        name=layer.name, type=KERAS_TYPE[layer.kind], n_in=n_in, n_out=n_out, weights=weights, biases=n_out,
        macs=weights * out_pixels, reuse_factor=rf, hls4ml_reuse_factor=used, valid_reuse_factors=valid,
        multipliers=-(-weights // used), dsp_per_multiplier=per_dsp,
        narrow=max(t_in.width, t_w.width) <= NARROW_BITS,
        weight_bits=weight_bits, bias_bits=bias_bits,
        bram18_lower=-(-weight_bits // BRAM18_BITS) if resource else 0,
        latency_lower=_latency_bound(layer, used, settings.io_type),
    )


def _rf_list(valid: tuple[int, ...], limit: int = 10) -> str:
    shown = ", ".join(map(str, valid[:limit]))
    return shown + (", ..." if len(valid) > limit else "")


def _layer_findings(settings: HlsSettings, le: LayerEstimate, layer: Stage) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    problems: list[str] = []
    key = f"hls.reuse_factor.{le.name}"
    if le.hls4ml_reuse_factor != le.reuse_factor:
        warnings.append(
            f"{le.name}: reuse factor {le.reuse_factor} is not valid for hls4ml (n_in={le.n_in}, n_out={le.n_out}); "
            f"it would use {le.hls4ml_reuse_factor} instead; valid: {_rf_list(le.valid_reuse_factors)}; "
            f"set {key} to one of them")
    unrolled = le.weights if settings.strategy == "Latency" else le.multipliers
    if unrolled > UNROLL_LIMIT:
        need = min(r for r in le.valid_reuse_factors if -(-le.weights // r) <= UNROLL_LIMIT)
        fix = ("set hls.strategy: Resource with a reuse factor of at least "
               f"{need}"
               if settings.strategy == "Latency" else
               f"raise {key} to at least {need}")
        warnings.append(
            f"{le.name}: {unrolled} multiplications in one unrolled loop ({settings.strategy} strategy) exceed "
            f"the {UNROLL_LIMIT} that Vivado/Vitis HLS will unroll (XFORM 203-504); {fix}")
    if (layer.kind is StageKind.CONV2D and settings.io_type == "io_parallel" and settings.strategy == "Resource"
            and le.hls4ml_reuse_factor > le.n_in):
        ok = max(r for r in le.valid_reuse_factors if r <= le.n_in)
        problems.append(
            f"{le.name}: io_parallel Resource Conv2D with reuse factor {le.hls4ml_reuse_factor} > kh*kw*cin = "
            f"{le.n_in}: hls4ml 1.3.0's conv_2d_resource_cl is correct only for RF <= kh*kw*cin (hls4ml "
            f"issue #817: assertion or wrong results); set {key} to at most {ok} or use io_stream")
    return warnings, problems


def _pool_problem(layer: Stage) -> str | None:
    (ph, pw), (sh, sw) = layer.params.pool_size, layer.params.strides
    if (ph, pw) == (sh, sw) and not any(map(sum, layer.pads)):
        return None
    return (f"{layer.name}: io_stream {KERAS_TYPE[layer.kind]} needs pool_size == strides and no padding (hls4ml's "
            f"nnet_pooling_stream.h asserts it); got pool_size {[ph, pw]}, strides {[sh, sw]}, padding "
            f"{layer.params.padding!r}; set strides equal to pool_size and padding: valid, or use io_parallel")


def _suggest(network: Network, settings: HlsSettings, layers: tuple[LayerEstimate, ...],
             budget: int) -> dict[str, int]:
    """Reuse factors (never below the configured ones) whose multipliers fit ``budget`` DSPs: first
    the shortest interval bound that fits, then each layer's factor lowered while the total still fits."""
    by_name = {s.name: s for s in network.weighted}
    options: dict[str, list[int]] = {}
    for le in layers:
        legal = le.valid_reuse_factors
        if settings.io_type == "io_parallel" and settings.strategy == "Resource" and le.type == "Conv2D":
            legal = tuple(r for r in legal if r <= le.n_in)  # hls4ml issue #817
        options[le.name] = [r for r in legal if r >= le.hls4ml_reuse_factor] or [legal[-1]]
    cost = {le.name: le.dsp_per_multiplier for le in layers}
    weights = {le.name: le.weights for le in layers}

    def bound(name: str, r: int) -> int:
        return _latency_bound(by_name[name], r, settings.io_type)

    def dsps(choice: dict[str, int]) -> int:
        return sum(-(-weights[n] // r) * cost[n] for n, r in choice.items())

    for limit in sorted({bound(n, r) for n, opts in options.items() for r in opts}):
        if any(bound(n, opts[0]) > limit for n, opts in options.items()):
            continue
        choice = {n: max(r for r in opts if bound(n, r) <= limit) for n, opts in options.items()}
        if dsps(choice) > budget:
            continue
        for name in sorted(choice, key=lambda n: -bound(n, choice[n])):
            for r in reversed([r for r in options[name] if r < choice[name]]):
                if dsps({**choice, name: r}) > budget:
                    break
                choice[name] = r
        return choice
    return {}


def estimate(network: Network, settings: HlsSettings) -> Estimate:
    """Estimate the resources and latency of ``network`` as hls4ml 1.3.0 (Vitis) builds it with ``settings``
    (a config's: ``estimate(*lower_with_settings(cfg))``, :mod:`hlsgen.spec.lower`).

    Per Conv2D/Dense layer, with ``n_in x n_out`` hls4ml's multiply size (Dense: inputs x units;
    Conv2D: ``kh*kw*cin`` x ``filters``) and ``RF`` the reuse factor hls4ml will use:

    - MACs per image (exact): Dense ``n_in*n_out``; Conv2D ``out_h*out_w*n_in*n_out``.
    - multipliers (exact count of what hls4ml's dense/conv kernels instantiate, its
      ``multiplier_limit`` before zero-weight pruning): ``ceil(n_in*n_out / RF)``. DSPs ≤
      multipliers x DSPs per product (1 up to 25x18 bits); products of operands of ≤ 10 bits are
      often built from LUTs instead, so the DSP figure is an upper bound.
    - memory (exact): ``n_in*n_out*W_weight + n_out*W_bias`` bits, versus 32 bits per parameter.
    - BRAM18 ≥ ``ceil(weight bits / 18432)`` with the Resource strategy (weights in block RAM; hls4ml
      reshapes them into RF-deep words, so the real count is often higher; HLS may put small arrays in
      LUTRAM); 0 with Latency (weights in registers/LUTs).
    - latency ≥ cycles: Dense ``RF`` (its multiply loop runs RF iterations at II=1 with Resource,
      or is pipelined at II=RF with Latency); Conv2D io_parallel ``out_h*out_w*RF`` (one output pixel
      per RF cycles); Conv2D io_stream ``max(in_h*in_w, out_h*out_w*RF)`` (the line buffer reads one
      pixel per cycle). Pooling, activations and softmax are not counted: they only add.
      Network: interval ≥ max over layers; latency ≥ sum for io_parallel (layers run in turn) and
      ≥ max for io_stream (a dataflow pipeline overlaps layers); the sum is reported too.
    """
    weighted = network.weighted
    layers = tuple(_layer(settings, s) for s in weighted)
    warnings: list[str] = []
    problems: list[str] = []
    for s, le in zip(weighted, layers, strict=True):
        w, p = _layer_findings(settings, le, s)
        warnings += w
        problems += p
    if settings.io_type == "io_stream":
        problems += [m for s in network.stages if s.kind.pooling and (m := _pool_problem(s))]
    table_bits = 0
    last = network.stages[-1]
    if last.kind is StageKind.SOFTMAX and last.params.implementation in ("stable", "latency"):
        table_bits = last.params.inv_table_size * (last.params.exp_table_t.width + last.params.inv_table_t.width)

    device = lookup_part(settings.part)
    on_board = f" (hls.board {settings.board})" if settings.board != "none" else ""
    suggestion: dict[str, int] = {}
    if device is None:
        warnings.append(f"part {settings.part!r} is not in hlsgen's parts table: no fit check "
                        "(see hlsgen/synth/parts.py)")
    else:
        dsp = sum(le.dsp_upper for le in layers)
        if dsp > device.dsp:
            suggestion = _suggest(network, settings, layers, device.dsp)
            fix = (f"to fit, set hls.reuse_factor to {suggestion} (valid for hls4ml, each at least the "
                   "configured one)" if suggestion else "no valid reuse factors fit; use a larger part")
            warnings.append(f"{dsp} multipliers exceed the {device.dsp} DSPs of {device.device}{on_board} (operands "
                            f"of ≤ {NARROW_BITS} bits may use LUTs instead, but do not count on it); {fix}")
        bram = sum(le.bram18_lower for le in layers)
        if bram > device.bram_18k:
            warnings.append(f"weights need ≥ {bram} BRAM18, more than the {device.bram_18k} of "
                            f"{device.device}{on_board}; narrow the weight types or choose a larger part")
    return Estimate(
        name=network.name, part=settings.part, device=device, io_type=settings.io_type, strategy=settings.strategy,
        clock_period=settings.clock_period, layers=layers, table_bits=table_bits, warnings=tuple(warnings),
        problems=tuple(problems), suggestion=MappingProxyType(suggestion),
    )


# --------------------------------------------------------------------------- output
