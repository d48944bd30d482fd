"""One layer of a model file's architecture -> :class:`LayerSpec`: the arguments hlsgen builds it with (only
those, each type- and range-checked), the shapes of its weights in Keras' order and its output shape.

Initializers, regularizers and constraints are not needed to compute anything (the weights come from the
file) and are never built; they are checked to be Keras' or QKeras' own classes all the same: a custom class
there is a custom object whose code the file does not hold. Keras 2 and Keras 3 spell the arguments alike
here; a Keras 3 ``dtype`` is a policy object, a Keras 2 one a string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hlsgen.config.schema import MAX_LAYER_PARAMS, MAX_LAYER_VALUES, MAX_UNITS, MAX_WINDOW
from hlsgen.errors import HlsgenError
from hlsgen.geometry import output_size
from hlsgen.train.modelfile.scan import QUANTIZERS, STOCHASTIC, Quantizer, parse_quantizer_text, quantizer

SUPPORTED = ("Conv2D", "QConv2D", "Dense", "QDense", "MaxPooling2D", "AveragePooling2D", "Flatten", "Dropout",
             "Activation", "ReLU", "Softmax", "QActivation", "BatchNormalization")
ACTIVATIONS = ("linear", "relu", "softmax")
_KNOWN = {  # Keras' (2 and 3) and QKeras' classes for each kind of object a layer config may hold
    "initializer": {"Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "LecunNormal",
                    "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal",
                    "VarianceScaling", "Zeros", "STFTInitializer", "QInitializer"},
    "regularizer": {"L1", "L2", "L1L2", "OrthogonalRegularizer"},
    "constraint": {"MaxNorm", "MinMaxNorm", "NonNeg", "RadialConstraint", "UnitNorm", "Clip"},
}
_POLICIES = ("DTypePolicy", "FloatDTypePolicy", "Policy")


@dataclass
class LayerSpec:
    """A checked layer: ``args`` are its constructor's keyword arguments (Keras 2 names; a QKeras quantizer as
    a :class:`~hlsgen.train.modelfile.scan.Quantizer`), ``weights`` its ``(name, shape)`` list in the order of
    Keras' ``layer.weights`` (kernel, bias; gamma, beta, moving_mean, moving_variance)."""

    cls: str
    name: str
    args: dict[str, Any]
    weights: list[tuple[str, tuple[int, ...]]]
    output_shape: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"layer '{self.name}' ({self.cls})"


class _Reader:
    """Typed access to one layer's config; every failure names the layer and the key."""

    def __init__(self, cls: str, name: str, cfg: dict, where: str):
        self.cls, self.name, self.cfg, self.where = cls, name, cfg, where

    @property
    def label(self) -> str:
        return f"{self.where}: layer '{self.name}' ({self.cls})" if self.where else f"layer '{self.name}' ({self.cls})"

    def fail(self, what: str) -> HlsgenError:
        return HlsgenError(f"{self.label}: {what}")

    def int(self, key: str, lo: int, hi: int, default: Any = None) -> int:
        value = self.cfg.get(key, default)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(f"{key} {value!r}: expected an integer from {lo} to {hi}")
        return value

    def pair(self, key: str, default: Any = None) -> tuple[int, int]:
        value = self.cfg.get(key, default)
        value = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not (isinstance(value, list | tuple) and len(value) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_WINDOW for v in value)):
            raise self.fail(f"{key} {value!r}: expected two integers from 1 to {MAX_WINDOW}")
        return int(value[0]), int(value[1])

    def number(self, key: str, default: Any = None, optional: bool = False) -> float | None:
        value = self.cfg.get(key, default)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(f"{key} {value!r}: expected a finite number")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.cfg.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key} {value!r}: expected true or false")
        return value

    def word(self, key: str, default: str) -> str:
        value = self.cfg.get(key, default)
        if not isinstance(value, str) or len(value) > 32:
            raise self.fail(f"{key} {str(value)[:40]!r}: expected a short string")
        return value

    def padding(self) -> str:
        padding = self.word("padding", "valid")
        if padding not in ("valid", "same"):
            raise self.fail(f"padding {padding!r} is not supported (valid, same)")
        return padding

    def channels_last(self) -> None:
        fmt = self.cfg.get("data_format")
        if fmt not in (None, "channels_last"):
            raise self.fail(f"data_format {str(fmt)[:40]!r} is not supported (channels_last only)")

    def activation(self, key: str, quantized: bool) -> str | Quantizer:
        """A Keras activation (linear, relu, softmax), or on a QKeras layer a quantizer."""
        value = self.cfg.get(key, "linear")
        if value is None:
            return "linear"
        if isinstance(value, dict) and value.get("class_name") == "function":  # Keras' own (scan refused others)
            value = value.get("config")
        if isinstance(value, str) and value in ACTIVATIONS:
            return value
        if quantized and isinstance(value, dict):
            return quantizer(value, f"{self.label} {key}")
        if quantized and isinstance(value, str):
            parsed = parse_quantizer_text(value)  # a bare name that is no quantizer: a Keras activation
            if parsed is None or parsed.args or parsed.kwargs or "(" in value or parsed.name in QUANTIZERS \
                    or parsed.name in STOCHASTIC:
                return quantizer(value, f"{self.label} {key}")
        shown = value if isinstance(value, str) else type(value).__name__
        raise self.fail(f"activation {str(shown)[:60]!r} is not supported (supported: {', '.join(ACTIVATIONS)})")

    def check_objects(self) -> None:
        """Initializers, regularizers and constraints are Keras' or QKeras' own classes; dtype is float32."""
        for key, value in self.cfg.items():
            kind = next((k for k in _KNOWN if key.endswith(f"_{k}")), None)
            if kind is not None and isinstance(value, dict):
                name = value.get("class_name")
                if name not in _KNOWN[kind]:
                    raise self.fail(f"{key}: {str(name)[:60]!r} is not one of Keras' {kind}s (a custom object, "
                                    "whose code is not in the file)")
        for key in ("quantization_config", "lora_rank", "renorm"):  # Keras 3: other weights, other arithmetic
            if self.cfg.get(key) not in (None, False):
                raise self.fail(f"{key} {str(self.cfg[key])[:40]!r} is not supported")
        dtype = self.cfg.get("dtype")
        if isinstance(dtype, dict) and dtype.get("class_name") in _POLICIES and isinstance(dtype.get("config"), dict):
            dtype = dtype["config"].get("name")
        if dtype not in (None, "float32"):
            raise self.fail(f"dtype {str(dtype)[:40]!r} is not supported (float32 models only)")


def _size(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def layer_spec(cls: str, name: str, cfg: dict, shape: tuple[int, ...], where: str) -> LayerSpec:
    """The :class:`LayerSpec` of layer ``name`` of class ``cls`` (one of :data:`SUPPORTED`) with config
    ``cfg`` on inputs of ``shape`` (without the batch axis). Raises HlsgenError naming the layer."""
    r = _Reader(cls, name, cfg, where)
    r.check_objects()
    quantized = cls.startswith("Q")
    args: dict[str, Any] = {}
    weights: list[tuple[str, tuple[int, ...]]] = []
    out = shape
    if cls in ("Conv2D", "QConv2D"):
        r.channels_last()
        filters = r.int("filters", 1, MAX_UNITS)
        kernel, strides, padding = r.pair("kernel_size"), r.pair("strides", [1, 1]), r.padding()
        if r.pair("dilation_rate", [1, 1]) != (1, 1) or r.int("groups", 1, MAX_UNITS, 1) != 1:
            raise r.fail("dilation_rate and groups other than 1 are not supported")
        if len(shape) != 3:
            raise r.fail(f"expects a [height, width, channels] input, gets {list(shape)}")
        out = (output_size(shape[0], kernel[0], strides[0], padding),
               output_size(shape[1], kernel[1], strides[1], padding), filters)
        args = {"filters": filters, "kernel_size": kernel, "strides": strides, "padding": padding}
        weights = [("kernel", (*kernel, shape[2], filters))]
    elif cls in ("Dense", "QDense"):
        units = r.int("units", 1, MAX_UNITS)
        if not shape:
            raise r.fail("has no input dimension")
        out, args, weights = (*shape[:-1], units), {"units": units}, [("kernel", (shape[-1], units))]
    elif cls in ("MaxPooling2D", "AveragePooling2D"):
        r.channels_last()
        pool = r.pair("pool_size", [2, 2])
        strides = r.pair("strides") if r.cfg.get("strides") is not None else pool
        padding = r.padding()
        if len(shape) != 3:
            raise r.fail(f"expects a [height, width, channels] input, gets {list(shape)}")
        out = (output_size(shape[0], pool[0], strides[0], padding), output_size(shape[1], pool[1], strides[1], padding),
               shape[2])
        args = {"pool_size": pool, "strides": strides, "padding": padding}
    elif cls == "Flatten":
        r.channels_last()
        out = (_size(shape),)
    elif cls == "Dropout":
        rate = r.number("rate")
        if not 0.0 <= rate < 1.0:
            raise r.fail(f"rate {rate}: expected a number from 0 to 1")
        args = {"rate": rate}
    elif cls in ("Activation", "QActivation"):
        act = r.activation("activation", quantized)
        args = {"activation": act}
    elif cls == "ReLU":
        args = {"max_value": r.number("max_value", None, optional=True),
                "negative_slope": r.number("negative_slope", 0.0), "threshold": r.number("threshold", 0.0)}
    elif cls == "Softmax":
        args = {"axis": r.int("axis", -len(shape) - 1, len(shape), -1)}
    elif cls == "BatchNormalization":
        axis = r.int("axis", -len(shape), len(shape), -1)  # Keras counts the batch axis: 0 is the batch
        if axis == 0:
            raise r.fail("axis 0 is the batch axis")
        channels = shape[axis - 1 if axis > 0 else axis]
        center, scale = r.flag("center", True), r.flag("scale", True)
        args = {"axis": axis, "momentum": r.number("momentum", 0.99), "epsilon": r.number("epsilon", 1e-3),
                "center": center, "scale": scale}
        weights = ([("gamma", (channels,))] if scale else []) + ([("beta", (channels,))] if center else []) + \
                  [("moving_mean", (channels,)), ("moving_variance", (channels,))]
    else:
        raise r.fail(f"unsupported layer type; supported: {', '.join(SUPPORTED)}")
    if cls in ("Conv2D", "QConv2D", "Dense", "QDense"):
        use_bias = r.flag("use_bias", True)
        args.update(use_bias=use_bias, activation=r.activation("activation", quantized))
        if use_bias:
            weights.append(("bias", (out[-1],)))
        if quantized:
            for key in ("kernel_quantizer", "bias_quantizer"):
                args[key] = quantizer(cfg.get(key), f"{r.label} {key}")
    if any(d < 1 for d in out):
        raise r.fail(f"its window is larger than its {list(shape)} input (output {list(out)})")
    if _size(out) > MAX_LAYER_VALUES:
        raise r.fail(f"{_size(out):,} output values; the limit is {MAX_LAYER_VALUES:,} per layer")
    for weight, wshape in weights:
        if _size(wshape) > MAX_LAYER_PARAMS:
            raise r.fail(f"{weight} of shape {list(wshape)}: {_size(wshape):,} values; the limit is "
                         f"{MAX_LAYER_PARAMS:,} per layer")
    return LayerSpec(cls, name, args, weights, tuple(out))
