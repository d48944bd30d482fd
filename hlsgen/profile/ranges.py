"""``hlsgen profile``: where each layer's values lie, the integer bits its ``ap_fixed<W,I>`` needs, and
what that choice buys in accuracy.

Three measurements, each from the source that can answer it:

- **ranges** (what the types must hold): the float Keras model on training images gives every weight,
  bias, accumulator (the pre-activation sum, bias included) and result (after the activation) as a real
  number. For each type the smallest ``I`` is found at which at most ``saturation`` of the values
  overflow, keeping the type's width, rounding and overflow modes (results after a ReLU are unsigned).
- **the hardware with the current config**: the golden model (the QAT spec when a matching training is
  cached, else the float weights rounded into the types) counts the values that saturate per stage.
- **accuracy** (what the binary points buy): post-training quantization, i.e. the float weights rounded
  into candidate types, run through the golden model on the test set: the config as written, the
  profiled config, one ``ap_fixed<8,I>`` everywhere (the naive choice), and each layer's types swept
  over ``I`` with the others profiled.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import yaml

from hlsgen import golden
from hlsgen.config import INPUT_KEY, Config, Quantity, TypeKey, config_from_dict
from hlsgen.config.precision import precision_with, spelled
from hlsgen.errors import ConfigError, HlsgenError
from hlsgen.fixed import MAX_WIDTH, FixedType, Overflow

SWEEP_SPAN = 3  # integer bits either side of the profiled choice in the per-layer sweep


@dataclass(frozen=True)
class Profile:
    """One quantity of one layer: its values' range against its type, and the type the data asks for.

    ``recommended`` is None for accumulators (hlsgen derives them overflow-free) and for values that
    are all zero. Fractions are of all profiled values; ``hw_saturated`` is the golden model's count
    for the stage that casts to this type and ``hw_range`` the (min, max) value the hardware as
    configured holds there: its weights, biases, accumulators and results (None where no stage does)."""

    layer: str
    quantity: Quantity
    current: FixedType
    lo: float
    hi: float
    smallest: float  # smallest |value| > 0 (0.0 when all are zero)
    needed_integer: int | None
    recommended: FixedType | None
    saturated: float  # of the float values, would overflow ``current``
    zeroed: float  # of the non-zero float values, would round to 0 in ``current``
    hw_saturated: float | None = None
    hw_range: tuple[float, float] | None = None
    values: np.ndarray = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "quantity": self.quantity, "current": str(self.current),
                "min": self.lo, "max": self.hi, "smallest_nonzero": self.smallest,
                "needed_integer_bits": self.needed_integer,
                "recommended": str(self.recommended) if self.recommended else None,
                "saturated": self.saturated, "zeroed": self.zeroed, "hw_saturated": self.hw_saturated,
                "hw_min": self.hw_range[0] if self.hw_range else None,
                "hw_max": self.hw_range[1] if self.hw_range else None}


# ------------------------------------------------------------------------------ integer bits

def overflow_count(values: np.ndarray, t: FixedType) -> int:
    """How many ``values`` lie outside ``t`` after rounding by ``t``'s mode (before its overflow mode acts)."""
    wide = FixedType(MAX_WIDTH, MAX_WIDTH - t.frac, t.signed, t.rounding, Overflow.SAT)
    codes = wide.quantize(values)
    return int(np.count_nonzero((codes > t.max_code) | (codes < t.min_code)))


def zero_count(values: np.ndarray, t: FixedType) -> int:
    """How many non-zero ``values`` become code 0 in ``t``."""
    nonzero = values[values != 0]
    return int(np.count_nonzero(t.quantize(nonzero) == 0))


def needed_integer_bits(values: np.ndarray, t: FixedType, saturation: float = 0.0) -> int | None:
    """The smallest ``I`` such that at most ``saturation`` (a fraction) of ``values`` overflow
    ``ap_(u)fixed<t.width, I>`` with ``t``'s signedness and rounding; None if every value is 0."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.any(values):
        return None
    if not 0.0 <= saturation < 1.0:
        raise ValueError(f"saturation must be a fraction in [0, 1), got {saturation}")
    allowed = int(math.floor(saturation * values.size))
    top = float(np.quantile(np.abs(values), 1.0 - saturation)) or float(np.abs(values).max())
    bits = math.ceil(math.log2(top)) + int(t.signed) - 1  # one below the guess; the loops settle it

    def fits(i: int) -> bool:
        return overflow_count(values, replace(t, integer=i, overflow=Overflow.SAT, sat_bits=0)) <= allowed

    while not fits(bits):
        bits += 1
    while bits > t.integer - 64 and fits(bits - 1):
        bits -= 1
    return bits


def profile_values(layer: str, quantity: Quantity, t: FixedType, values: np.ndarray, saturation: float,
                   unsigned: bool = False) -> Profile:
    """The :class:`Profile` of ``values`` against type ``t`` (``unsigned``: recommend ``ap_ufixed``).

    Raises
    ------
    HlsgenError
        A NaN or infinite value (a model whose float computation overflows): no fixed-point type holds it;
        the message names the layer, the quantity and how many such values there are.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    bad = ~np.isfinite(v)
    if bad.any():
        where = "the input" if (layer, quantity) == INPUT_KEY else f"layer '{layer}'"
        raise HlsgenError(f"{where}: {int(bad.sum()):,} of {v.size:,} {quantity} values are NaN or infinite (the "
                          f"float model overflows float32 there, first: {v[bad][0]}): no fixed-point type holds "
                          "them")
    nonzero = np.abs(v[v != 0])
    shape = replace(t, signed=not unsigned) if quantity == Quantity.RESULT else t
    needed = needed_integer_bits(v, shape, saturation)
    recommended = None if needed is None or quantity == Quantity.ACCUM else replace(shape, integer=needed)
    return Profile(layer, quantity, t, float(v.min(initial=0.0)), float(v.max(initial=0.0)),
                   float(nonzero.min()) if nonzero.size else 0.0, needed, recommended,
                   overflow_count(v, t) / max(v.size, 1), zero_count(v, t) / max(nonzero.size, 1), values=v)


# ------------------------------------------------------------------------------ float values

def float_values(cfg: Config, float_model, x: np.ndarray) -> dict[TypeKey, np.ndarray]:
    """``{TypeKey(layer, quantity): values}`` of the float model on float inputs ``x``: the input (``INPUT_KEY``),
    and per Conv2D/Dense its weight, bias, accum (pre-activation, after a folded BatchNormalization) and
    result (after the activation; the logits before a softmax); per standalone ReLU its result."""
    from hlsgen.keras_compat import keras, tf
    from hlsgen.train.codes import float_weights

    out: dict[TypeKey, np.ndarray] = {INPUT_KEY: x}
    weighted = [(i, lc) for i, lc in enumerate(cfg.layers) if lc.has_weights]
    relus = [lc for lc in cfg.layers if lc.type == "Activation" and lc.activation == "relu"]
    bn_after = {lc.name: cfg.layers[i + 1] for i, lc in weighted
                if i + 1 < len(cfg.layers) and cfg.layers[i + 1].type == "BatchNormalization"}
    tensors = [float_model.get_layer(lc.name).input for _, lc in weighted]
    tensors += [float_model.get_layer(bn_after[lc.name].name).output for _, lc in weighted if lc.name in bn_after]
    tensors += [float_model.get_layer(lc.name).output for lc in relus]
    results = keras.Model(float_model.inputs, tensors).predict(x, batch_size=1000, verbose=0)
    results = results if isinstance(results, list) else [results]
    inputs, rest = results[:len(weighted)], iter(results[len(weighted):])
    weights = float_weights(cfg, float_model)
    for (_, lc), inp in zip(weighted, inputs, strict=True):
        kl = float_model.get_layer(lc.name)
        w, b = weights[lc.name]
        if lc.name in bn_after:
            z = next(rest)
        elif lc.type == "Conv2D":
            z = tf.nn.bias_add(kl.convolution_op(tf.constant(inp), kl.kernel), kl.bias).numpy() if kl.use_bias \
                else kl.convolution_op(tf.constant(inp), kl.kernel).numpy()
        else:
            z = inp.astype(np.float64) @ kl.kernel.numpy().astype(np.float64) + b
        out[TypeKey(lc.name, Quantity.WEIGHT)], out[TypeKey(lc.name, Quantity.BIAS)] = w, b
        out[TypeKey(lc.name, Quantity.ACCUM)] = np.asarray(z, dtype=np.float64)
        out[TypeKey(lc.name, Quantity.RESULT)] = (np.maximum(z, 0.0) if lc.activation == "relu"
                                                  else np.asarray(z, np.float64))
    for lc in relus:
        out[TypeKey(lc.name, Quantity.RESULT)] = np.asarray(next(rest), dtype=np.float64)
    order = {name: i for i, name in enumerate(["input"] + [lc.name for lc in cfg.layers])}
    return dict(sorted(out.items(), key=lambda item: order[item[0][0]]))  # network order (stable within a layer)


def current_type(cfg: Config, layer: str, quantity: Quantity) -> FixedType:
    if (layer, quantity) == INPUT_KEY:
        return cfg.input_type
    return getattr(cfg.precision[layer], Quantity(quantity).value)


def profile_model(cfg: Config, values: dict[tuple[str, str], np.ndarray], saturation: float,
                  hw: golden.GoldenResult | None = None, spec=None) -> list[Profile]:
    """Every profiled quantity in network order; ``hw`` (golden run of ``spec``) adds the hardware's
    saturation and value ranges."""
    relu_after = {lc.name for lc in cfg.layers if lc.activation == "relu"}
    hw_by_type: dict[TypeKey, float] = {}
    hw_ranges: dict[TypeKey, tuple[float, float]] = {}

    def value_range(codes: np.ndarray, t: FixedType) -> tuple[float, float]:
        return (float(codes.min()) * t.lsb, float(codes.max()) * t.lsb) if codes.size else (0.0, 0.0)

    if hw is not None:
        for stage in spec.stages:
            if stage.kind in ("conv2d", "dense", "relu", "linear"):
                quantity = Quantity.ACCUM if stage.kind.weighted and stage.name in relu_after else Quantity.RESULT
                s = hw.stats[stage.name]
                hw_by_type[TypeKey(stage.source, quantity)] = s.overflow / max(s.total, 1)
                hw_ranges[TypeKey(stage.source, quantity)] = value_range(hw.trace[stage.name], stage.result_t)
            if stage.weight_codes is not None:
                hw_ranges[TypeKey(stage.source, Quantity.WEIGHT)] = value_range(stage.weight_codes, stage.weight_t)
                hw_ranges[TypeKey(stage.source, Quantity.BIAS)] = value_range(stage.bias_codes, stage.bias_t)
    profiles = []
    for (layer, quantity), v in values.items():
        # relu_after holds standalone ReLU layers too: their activation argument is "relu"
        unsigned = quantity == Quantity.RESULT and (layer in relu_after
                                                    or ((layer, quantity) == INPUT_KEY and float(np.min(v)) >= 0))
        p = profile_values(layer, quantity, current_type(cfg, layer, quantity), v, saturation, unsigned)
        key = (layer, quantity)
        profiles.append(replace(p, hw_saturated=hw_by_type.get(key), hw_range=hw_ranges.get(key)))
    return profiles


# ------------------------------------------------------------------------------ configs

def raw_config(cfg: Config) -> dict[str, Any]:
    """The config as the user wrote it (its parsed YAML, as :attr:`Config.raw` holds it), to write variants of."""
    return copy.deepcopy(dict(cfg.raw))


def precision_block(cfg: Config, raw: dict[str, Any], types: dict[TypeKey, FixedType]) -> dict[str, Any]:
    """The ``precision:`` block that :meth:`Config.with_types` gives ``raw`` (a config file's dict), its types
    spelled for a YAML file: every type in ``types`` set explicitly per layer (``INPUT_KEY`` sets ``input``);
    the user's accumulators, pools and softmax stay as given."""
    return spelled(precision_with(raw.get("precision"), tuple(lc.name for lc in cfg.layers), cfg.input_type, types))



def variant(cfg: Config, raw: dict[str, Any], precision: dict[str, Any]) -> Config:
    """``cfg`` with another ``precision:`` block (validated like any config)."""
    return config_from_dict({**raw, "precision": precision}, source=cfg.source)


def uniform_precision(raw: dict[str, Any], integer: int, exact_accum: bool) -> dict[str, Any]:
    """One ``ap_fixed<8,integer>`` for the input, every weight, bias and result: the naive choice.
    ``exact_accum=False`` also makes it every accumulator with C++'s default modes (AP_TRN, AP_WRAP), as
    an hls4ml model precision of ``ap_fixed<8,I>`` does; True rounds to nearest and saturates, with
    hlsgen's exact accumulators: only the binary point is then naive."""
    t = f"ap_fixed<8,{integer}>" if not exact_accum else f"ap_fixed<8,{integer},AP_RND_CONV,AP_SAT>"
    default = {"weight": t, "bias": t, "result": t}
    if not exact_accum:
        default["accum"] = t
    block: dict[str, Any] = {"input": t, "default": default}
    softmax = (raw.get("precision") or {}).get("softmax")
    if softmax is not None:
        block["softmax"] = softmax
    return block


def write_config(path, cfg: Config, raw: dict[str, Any], precision: dict[str, Any], header: str) -> Config:
    """Write a complete config with ``precision`` atomically to ``path``; the output directory gets a
    ``_profiled`` suffix (the original build stays), a relative data path is made absolute."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    new = {**raw, "precision": precision, "output_dir": f"{cfg.output_dir}_profiled"}
    if cfg.data.path is not None:
        new["data"] = {**(raw.get("data") or {}), "path": str(Path(cfg.data.path).resolve())}
    try:
        checked = config_from_dict(new, source=path)
    except ConfigError as err:
        raise HlsgenError(f"profile: the profiled config is invalid: {err}") from None
    text = header + yaml.safe_dump(new, sort_keys=False, width=110)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as err:
        raise HlsgenError(f"{path}: cannot write the profiled config ({err.strerror})") from None
    return checked


def recommended_types(profiles: list[Profile]) -> dict[TypeKey, FixedType]:
    return {TypeKey(p.layer, p.quantity): p.recommended for p in profiles if p.recommended is not None}
