"""The supported Keras layer types: their arguments (Keras' own names), defaults and output shapes.

Shapes are channels-last without the batch axis, as Keras prints them: ``(height, width, channels)``
or ``(features,)``.
"""

from __future__ import annotations

import math
from typing import Any

from hlsgen.errors import ConfigError

ACTIVATIONS = ("linear", "relu", "softmax")

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
            raise ConfigError(f"{at}: expected a positive integer, got {value!r}")
        return value
    if kind == "pair":
        if is_int:
            value = [value, value]
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
            raise ConfigError(f"{at}: expected a positive integer or [rows, cols], got {value!r}")
        return [int(value[0]), int(value[1])]
    if kind == "padding":
        if value not in ("valid", "same"):
            raise ConfigError(f"{at}: expected 'valid' or 'same', got {value!r}")
        return value
    if kind == "activation":
        if value not in ACTIVATIONS:
            raise ConfigError(f"{at}: unsupported activation {value!r}; supported: {', '.join(ACTIVATIONS)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{at}: expected true or false, got {value!r}")
        return value
    if kind in ("rate", "fraction"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"{at}: expected a number in [0, 1), got {value!r}")
        return float(value)
    if kind == "posfloat":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{at}: expected a positive number, got {value!r}")
        return float(value)
    raise AssertionError(kind)


def normalize_layer_args(where: str, ltype: str, given: dict[str, Any]) -> dict[str, Any]:
    """Validate a layer's Keras arguments and fill in Keras' defaults."""
    import difflib

    schema = LAYER_SCHEMAS[ltype]
    for key in given:
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = (f"; did you mean '{close[0]}'?" if close
                    else f"; {ltype} takes: {', '.join(schema) or 'no arguments'}")
            raise ConfigError(f"{where}.{key}: unknown argument for {ltype}{hint}")
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
    if padding == "same":
        return math.ceil(size / stride)
    if window > size:
        raise ConfigError(f"{where}: window {window} is larger than the input's {axis} {size} "
                          "(use padding: same or a smaller window)")
    return (size - window) // stride + 1


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
