"""The precision rules: each computing layer's types (input, weight, bias, accumulator, result) from the
config's ``precision`` section, and the accumulators derived so that no sum can overflow or round."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from hlsgen.config.checks import closest, mapping, merge, parse_type, show_key, unknown_keys
from hlsgen.config.schema import PRECISION_KEYS
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType, Overflow
from hlsgen.fixed.types import MAX_WIDTH

#: Most fraction bits (W - I) of a weight or bias type. QKeras' quantizer returns
#: ``x + stop_gradient(xq - x)`` in float32, which is exact only while |x| < 2**(24 - (W - I)); beyond,
#: the weight lands off the type's grid or outside it (``ap_fixed<8,-20>``: any |w| >= 1/16 came out as
#: code 128). With at most 16 fraction bits every float weight below 256 in magnitude is exact.
MAX_WEIGHT_FRAC = 16

if TYPE_CHECKING:
    from hlsgen.config import LayerConfig


class Quantity(str, Enum):
    """What a layer's type is for, spelled as the config's ``precision`` keys. A ``str`` enum: it compares equal
    to (and hashes like) its key, and YAML and JSON write it as that key."""

    WEIGHT = "weight"
    BIAS = "bias"
    ACCUM = "accum"
    RESULT = "result"

    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__


#: The quantities whose types profile, search and import choose (an accumulator is derived, overflow-free).
CHOSEN = (Quantity.WEIGHT, Quantity.BIAS, Quantity.RESULT)


class TypeKey(NamedTuple):
    """One type of the config: a layer's :class:`Quantity`; the input's is :data:`INPUT_KEY`."""

    layer: str
    quantity: Quantity


#: The network input's type (``precision.input``), keyed like a layer's result: the values entering the network.
INPUT_KEY = TypeKey("input", Quantity.RESULT)


def precision_with(given: Mapping[str, Any] | None, layers: tuple[str, ...], input_type: FixedType,
                   types: Mapping[TypeKey, FixedType]) -> dict[str, Any]:
    """A complete ``precision`` section: ``given`` (as the config spells it) with every type of ``types`` set
    explicitly, as a FixedType, on its layer (``INPUT_KEY`` sets ``input``; otherwise ``input`` is
    ``input_type``); the config's ``default``, its accumulators, pooling entries and ``softmax`` stay as given.
    ``layers``: the config's layer names in order (the order of ``layers:`` in the result)."""
    given = dict(given or {})
    overrides = dict(given.get("layers") or {})
    block: dict[str, Any] = {"input": types.get(INPUT_KEY, input_type)}
    if "default" in given:
        block["default"] = given["default"]
    out: dict[str, Any] = {}
    for name in layers:
        entry = dict(overrides.get(name) or {})
        for quantity in CHOSEN:
            if (name, quantity) in types:
                entry[quantity.value] = types[(name, quantity)]
        if entry:
            out[name] = {q.value: entry[q.value] for q in Quantity if q.value in entry}
    block["layers"] = out
    if "softmax" in given:
        block["softmax"] = given["softmax"]
    return block


def spelled(value: Any) -> Any:
    """A config's dict (or part of one) as a config file spells it: every FixedType in it as its C++ string
    (for JSON and YAML files written for the user; :meth:`Config.with_types` keeps FixedTypes)."""
    if isinstance(value, FixedType):
        return str(value)
    if isinstance(value, Mapping):
        return {k: spelled(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [spelled(v) for v in value]
    return value


@dataclass(frozen=True)
class LayerPrecision:
    """Types of one layer. ``input`` is the previous stage's result; ``accum_derived`` says
    the accumulator was computed (overflow-free) rather than given."""

    input: FixedType
    result: FixedType
    weight: FixedType | None = None
    bias: FixedType | None = None
    accum: FixedType | None = None
    accum_derived: bool = False


def parse_precision(prec_raw: Mapping[str, Any], layers: tuple[LayerConfig, ...], input_type: FixedType,
                    defaults: Mapping[str, Any]) -> tuple[dict[str, LayerPrecision], dict[str, dict[str, Any]]]:
    """The ``precision`` section (``defaults``: its built-in ``default`` types) -> every computing layer's
    types, each layer's input being the previous one's result, and their spellings for the resolved config."""
    default_raw = merge(defaults, mapping("precision.default", prec_raw.get("default")))
    unknown_keys("precision.default", default_raw, ("weight", "bias", "result", "accum"))
    default = {k: parse_type(f"precision.default.{k}", v) for k, v in default_raw.items()}
    for key, t in default.items():
        _check_quantizable(f"precision.default.{key}", key, t)
    overrides = mapping("precision.layers", prec_raw.get("layers"))
    names = [lc.name for lc in layers]
    for lname, entry in overrides.items():
        if lname not in names:
            close = closest(lname, names)
            hint = f"; did you mean '{close}'?" if close else f"; layers: {', '.join(names)}"
            raise ConfigError(f"precision.layers.{show_key(lname)}: no layer of that name{hint}")
        layer = layers[names.index(lname)]
        allowed = PRECISION_KEYS[layer.type]
        entry = mapping(f"precision.layers.{lname}", entry)
        if not allowed and entry:
            raise ConfigError(f"precision.layers.{lname}: a {layer.type} layer does no arithmetic "
                              "and takes no precision")
        unknown_keys(f"precision.layers.{lname}", entry, allowed)

    precision: dict[str, LayerPrecision] = {}
    resolved: dict[str, dict[str, Any]] = {}
    current = input_type
    for layer in layers:
        allowed = PRECISION_KEYS[layer.type]
        if not allowed:
            continue
        where = f"precision.layers.{layer.name}"
        given = {k: parse_type(f"{where}.{k}", v) for k, v in mapping(where, overrides.get(layer.name)).items()}
        for key, t in given.items():
            _check_quantizable(f"{where}.{key}", key, t)
        if layer.type == "MaxPooling2D":
            result = given.get("result", current)  # a max of codes needs no new type
            lp = LayerPrecision(input=current, result=result)
        elif layer.type == "AveragePooling2D":
            pool = layer.args["pool_size"][0] * layer.args["pool_size"][1]
            accum = given.get("accum") or _derived(f"{where}.accum", f"input {current}, {pool} values",
                                                    avgpool_accum, current, pool)
            if "accum" in given and (accum.frac < current.frac or accum.overflow is not Overflow.WRAP):
                raise ConfigError(f"{where}.accum: {accum} must keep the input's {current.frac} fraction bits and "
                                  "wrap (AP_WRAP): io_stream and io_parallel round and saturate the sum differently")
            lp = LayerPrecision(input=current, result=given.get("result", current), accum=accum,
                                accum_derived="accum" not in given)
        elif layer.type == "Activation":
            if layer.activation == "softmax":
                continue  # typed by precision.softmax
            lp = LayerPrecision(input=current, result=given.get("result", default["result"]))
        else:  # Conv2D / Dense
            weight = given.get("weight", default["weight"])
            bias = given.get("bias", default["bias"])
            accum = given.get("accum") or default.get("accum")
            derived = accum is None
            if derived:
                accum = _derived(f"{where}.accum", f"input {current}, weight {weight}, bias {bias}, "
                                 f"{layer.fan_in} products", derive_accum, current, weight, bias, layer.fan_in)
            lp = LayerPrecision(input=current, result=given.get("result", default["result"]), weight=weight,
                                bias=bias, accum=accum, accum_derived=derived)
        precision[layer.name] = lp
        resolved[layer.name] = {k: str(getattr(lp, k)) for k in ("input", "weight", "bias", "accum", "result")
                                if getattr(lp, k) is not None}
        current = lp.result
    return precision, resolved


def _check_quantizable(where: str, key: str, t: FixedType) -> None:
    """Types that QKeras quantizes in training (weight, bias, result) must be ones it can express."""
    if key == "accum":
        return
    if key in ("weight", "bias") and t.frac > MAX_WEIGHT_FRAC:
        raise ConfigError(f"{where}: {t} has {t.frac} fraction bits (W - I); weights and biases may have at most "
                          f"{MAX_WEIGHT_FRAC}: QKeras computes them in float32, where a weight of magnitude "
                          f"{2.0 ** (24 - t.frac):g} or more would quantize off the type's grid; raise I")
    if t.signed and t.width < 2:
        raise ConfigError(f"{where}: {t}: QKeras quantizes a 1-bit signed type to +-1; use width >= 2")


def _derived(where: str, detail: str, derive, *args) -> FixedType:
    """``derive(*args)``, the derived accumulator, or a ConfigError naming ``where`` when it is wider
    than the MAX_WIDTH bits the golden model holds in int64 (``detail``: the types it comes from)."""
    try:
        return derive(*args)
    except ValueError:
        raise ConfigError(f"{where}: the derived accumulator (every sum exact) would be wider than the "
                          f"{MAX_WIDTH} bits supported ({detail}); narrow the input type (the previous "
                          "layer's result) or the weight or bias type, or give accum") from None


def derive_accum(input_t: FixedType, weight_t: FixedType, bias_t: FixedType, n: int) -> FixedType:
    """The narrowest accumulator that holds bias + any sum of ``n`` products exactly (no rounding,
    no overflow): hls4ml's accumulation then equals the exact integer sum, in any order."""
    corners = [a * b for a in (input_t.min_code, input_t.max_code) for b in (weight_t.min_code, weight_t.max_code)]
    p_frac = input_t.frac + weight_t.frac
    frac = max(p_frac, bias_t.frac)
    scale_p, scale_b = 2 ** (frac - p_frac), 2 ** (frac - bias_t.frac)
    lo = n * min(corners) * scale_p + bias_t.min_code * scale_b
    hi = n * max(corners) * scale_p + bias_t.max_code * scale_b
    return covering_type(lo, hi, frac)


def avgpool_accum(input_t: FixedType, n: int) -> FixedType:
    """The sum of ``n`` inputs exactly, with ceil(log2 n) extra fraction bits so that hls4ml's
    ``sum / n`` (truncating) keeps the average's precision."""
    extra = max(1, (n - 1).bit_length())
    frac = input_t.frac + extra
    scale = 2**extra
    return covering_type(n * input_t.min_code * scale, n * input_t.max_code * scale, frac)


def covering_type(lo_code: int, hi_code: int, frac: int) -> FixedType:
    """Smallest ap_(u)fixed with ``frac`` fractional bits whose codes include [lo_code, hi_code]."""
    signed = lo_code < 0
    width = 1
    while True:
        lo, hi = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if signed else (0, 2**width - 1)
        if lo <= lo_code and hi_code <= hi:
            break
        width += 1
    return FixedType.parse(f"ap_{'' if signed else 'u'}fixed<{width},{width - frac}>")
