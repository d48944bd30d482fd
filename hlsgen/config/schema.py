"""The supported Keras layer types: their arguments (Keras' own names), defaults and output shapes.

Shapes are channels-last without the batch axis, as Keras prints them: ``(height, width, channels)``
or ``(features,)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hlsgen.config.checks import closest, mapping, show, show_key, unknown_keys
from hlsgen.config.identifiers import check_layer_name
from hlsgen.errors import ConfigError
from hlsgen.geometry import fan_in, output_size, weight_shape

ACTIVATIONS = ("linear", "relu", "softmax")
#: Bounds that keep a config from asking TensorFlow for more memory than a workstation has
#: (``units: 1000000000`` once ran out of memory): per layer at most MAX_LAYER_PARAMS weights and
#: MAX_LAYER_VALUES output values per image; units and filters at most MAX_UNITS; windows and
#: strides at most MAX_WINDOW; input dimensions at most MAX_DIM.
MAX_LAYER_PARAMS = 2**24
MAX_LAYER_VALUES = 2**24
MAX_UNITS = 2**16
MAX_WINDOW = 2**10
MAX_DIM = 2**16


@dataclass(frozen=True)
class LayerConfig:
    """One Keras layer: its type, name, normalized Keras arguments and shapes (channels-last)."""

    type: str
    name: str
    args: Mapping[str, Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    @property
    def activation(self) -> str:
        return self.args.get("activation", "linear")

    @property
    def has_weights(self) -> bool:
        return self.type in ("Conv2D", "Dense")

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """A Conv2D/Dense's weights in Keras' layout (:func:`hlsgen.geometry.weight_shape`)."""
        kernel = tuple(self.args["kernel_size"]) if self.type == "Conv2D" else None
        return weight_shape(kernel, self.input_shape[-1], self.n_out)

    @property
    def fan_in(self) -> int:
        """Products summed into one output of a Conv2D/Dense (hls4ml's matrix-multiply ``n_in``,
        :func:`hlsgen.geometry.fan_in`)."""
        return fan_in(self.weight_shape)

    @property
    def n_out(self) -> int:
        """Outputs of one matrix multiply of a Conv2D/Dense (hls4ml's ``n_out``): its filters or units."""
        return self.args["filters"] if self.type == "Conv2D" else self.args["units"]


# type -> {argument: (kind, default)}; default REQUIRED means the key must be given.
REQUIRED = object()
LAYER_SCHEMAS: dict[str, dict[str, tuple[str, Any]]] = {
    "Conv2D": {
        "filters": ("posint", REQUIRED),
        "kernel_size": ("pair", REQUIRED),
        "strides": ("pair", 1),
        "padding": ("padding", "valid"),
        "activation": ("activation", "linear"),
        "use_bias": ("bool", True),
    },
    "Dense": {
        "units": ("posint", REQUIRED),
        "activation": ("activation", "linear"),
        "use_bias": ("bool", True),
    },
    "MaxPooling2D": {"pool_size": ("pair", 2), "strides": ("pair", None), "padding": ("padding", "valid")},
    "AveragePooling2D": {"pool_size": ("pair", 2), "strides": ("pair", None), "padding": ("padding", "valid")},
    "Flatten": {},
    "Dropout": {"rate": ("rate", REQUIRED)},
    "Activation": {"activation": ("activation", REQUIRED)},
    "BatchNormalization": {"momentum": ("fraction", 0.99), "epsilon": ("posfloat", 0.001)},
}
SUPPORTED_TYPES = tuple(LAYER_SCHEMAS)

# Which precision keys a layer of each type takes under precision.layers.<name>.
PRECISION_KEYS: dict[str, tuple[str, ...]] = {
    "Conv2D": ("weight", "bias", "accum", "result"),
    "Dense": ("weight", "bias", "accum", "result"),
    "MaxPooling2D": ("result",),
    "AveragePooling2D": ("accum", "result"),
    "Activation": ("result",),
    "Flatten": (),
    "Dropout": (),
    "BatchNormalization": (),  # folded into the preceding Conv2D/Dense
}


def _check(where: str, key: str, kind: str, value: Any) -> Any:
    at = f"{where}.{key}"
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "posint":
        if not is_int or value < 1:
            raise ConfigError(f"{at}: expected a positive integer, got {show(value)}")
        if value > MAX_UNITS:
            raise ConfigError(f"{at}: at most {MAX_UNITS} (2**16) is supported, got {show(value)}")
        return value
    if kind == "pair":
        if is_int:
            value = [value, value]
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
            raise ConfigError(f"{at}: expected a positive integer or [rows, cols], got {show(value)}")
        if max(value) > MAX_WINDOW:
            raise ConfigError(f"{at}: at most {MAX_WINDOW} (2**10) is supported, got {show(value)}")
        return [int(value[0]), int(value[1])]
    if kind == "padding":
        if not isinstance(value, str) or value not in ("valid", "same"):
            raise ConfigError(f"{at}: expected 'valid' or 'same', got {show(value)}")
        return value
    if kind == "activation":
        if not isinstance(value, str) or value not in ACTIVATIONS:
            raise ConfigError(f"{at}: unsupported activation {show(value)}; supported: {', '.join(ACTIVATIONS)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{at}: expected true or false, got {show(value)}")
        return value
    if kind in ("rate", "fraction"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"{at}: expected a number in [0, 1), got {show(value)}")
        return float(value)
    if kind == "posfloat":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ConfigError(f"{at}: expected a positive number, got {show(value)}")
        return float(value)
    raise AssertionError(kind)


def normalize_layer_args(where: str, ltype: str, given: dict[str, Any]) -> dict[str, Any]:
    """Validate a layer's Keras arguments and fill in Keras' defaults."""
    schema = LAYER_SCHEMAS[ltype]
    for key in given:
        if key not in schema:
            close = closest(key, schema)
            hint = (f"; did you mean '{close}'?" if close
                    else f"; {ltype} takes: {', '.join(schema) or 'no arguments'}")
            raise ConfigError(f"{where}.{show_key(key)}: unknown argument for {ltype}{hint}")
    args: dict[str, Any] = {}
    for key, (kind, default) in schema.items():
        if key in given:
            args[key] = _check(where, key, kind, given[key])
        elif default is REQUIRED:
            raise ConfigError(f"{where}.{key}: required argument of {ltype} is missing")
        else:
            args[key] = default if default is None else _check(where, key, kind, default)
    if ltype in ("MaxPooling2D", "AveragePooling2D") and args["strides"] is None:
        args["strides"] = list(args["pool_size"])  # Keras: strides default to pool_size
    if ltype == "Conv2D" and args["activation"] == "softmax":
        raise ConfigError(f"{where}.activation: softmax on a Conv2D output is not supported; "
                          "use it on the last Dense")
    return args


def _spatial(where: str, size: int, window: int, stride: int, padding: str, axis: str) -> int:
    """Outputs along one axis (:func:`hlsgen.geometry.output_size`, the rule's one owner); a 'valid' window
    larger than the input is an error naming the layer."""
    if padding == "valid" and window > size:
        raise ConfigError(f"{where}: window {window} is larger than the input's {axis} {size} "
                          "(use padding: same or a smaller window)")
    return output_size(size, window, stride, padding)


def infer_output_shape(where: str, ltype: str, args: dict[str, Any], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Output shape of a layer for an input ``shape``; ConfigError when the shapes do not chain."""
    if ltype in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
        if len(shape) != 3:
            raise ConfigError(f"{where}: {ltype} needs a [height, width, channels] input, "
                              f"got shape {list(shape)} (is it after a Flatten?)")
        win = args["kernel_size"] if ltype == "Conv2D" else args["pool_size"]
        h = _spatial(where, shape[0], win[0], args["strides"][0], args["padding"], "height")
        w = _spatial(where, shape[1], win[1], args["strides"][1], args["padding"], "width")
        return (h, w, args["filters"] if ltype == "Conv2D" else shape[2])
    if ltype == "Dense":
        if len(shape) != 1:
            raise ConfigError(f"{where}: Dense needs a flat input, got shape {list(shape)}; add a Flatten before it")
        return (args["units"],)
    if ltype == "Flatten":
        return (math.prod(shape),)
    return shape  # Dropout, Activation, BatchNormalization


def check_layer_size(where: str, ltype: str, args: dict[str, Any], in_shape: tuple[int, ...],
                     out_shape: tuple[int, ...]) -> None:
    """At most MAX_LAYER_PARAMS weights and MAX_LAYER_VALUES output values per image in one layer."""
    layer = LayerConfig(ltype, "", args, in_shape, out_shape)
    params = layer.fan_in * layer.n_out if layer.has_weights else 0
    if params > MAX_LAYER_PARAMS:
        raise ConfigError(f"{where}: {params} weights, more than the {MAX_LAYER_PARAMS} (2**24) supported "
                          "per layer")
    values = math.prod(out_shape)
    if values > MAX_LAYER_VALUES:
        raise ConfigError(f"{where}: output shape {list(out_shape)} holds {values} values per image, more than "
                          f"the {MAX_LAYER_VALUES} (2**24) supported per layer")


def parse_model(model: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[LayerConfig, ...]]:
    """The ``model`` section: the input shape and every layer, validated, with its shapes."""
    unknown_keys("model", model, ("input_shape", "layers"))
    shape = model.get("input_shape")
    if (not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3)
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_DIM for d in shape)):
        raise ConfigError(f"model.input_shape: expected [height, width, channels] or [features] "
                          f"of positive integers up to {MAX_DIM}, got {show(shape)}")
    if math.prod(shape) > MAX_LAYER_VALUES:
        raise ConfigError(f"model.input_shape: {list(shape)} holds more than {MAX_LAYER_VALUES} (2**24) values")
    layers_raw = model.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ConfigError("model.layers: expected a non-empty list of layers")
    current = tuple(shape)
    layers: list[LayerConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(layers_raw):
        where = f"model.layers[{i}]"
        entry = mapping(where, entry)
        ltype = entry.get("type")
        if not isinstance(ltype, str) or ltype not in LAYER_SCHEMAS:
            raise ConfigError(f"{where}.type: unsupported layer type {show(ltype)}; supported: "
                              f"{', '.join(SUPPORTED_TYPES)}")
        lname = check_layer_name(f"{where}.name", entry.get("name"))
        if lname in seen:
            raise ConfigError(f"{where}.name: layer name '{lname}' is used twice")
        seen.add(lname)
        where = f"model.layers[{i}] ({lname})"
        args = normalize_layer_args(where, ltype, {k: v for k, v in entry.items() if k not in ("type", "name")})
        out_shape = infer_output_shape(where, ltype, args, current)
        check_layer_size(where, ltype, args, current, out_shape)
        layers.append(LayerConfig(ltype, lname, MappingProxyType(args), current, out_shape))
        current = out_shape
    _check_layer_order(layers)
    return tuple(shape), tuple(layers)


def _check_layer_order(layers: list[LayerConfig]) -> None:
    for i, layer in enumerate(layers):
        where = f"model.layers[{i}] ({layer.name})"
        if layer.type == "BatchNormalization":
            prev = layers[i - 1] if i else None
            if prev is None or not prev.has_weights or prev.activation != "linear":
                raise ConfigError(f"{where}: BatchNormalization is folded into the preceding layer, which "
                                  "must be a Conv2D or Dense with activation linear")
        is_softmax = layer.activation == "softmax"
        if is_softmax and any(later.type != "Dropout" for later in layers[i + 1:]):
            raise ConfigError(f"{where}.activation: softmax is supported only as the network's last operation")
    if len(layers[-1].output_shape) != 1:
        raise ConfigError(f"model.layers: the network must end in a flat output (add Flatten/Dense); "
                          f"it ends with shape {list(layers[-1].output_shape)}")
