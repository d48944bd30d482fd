"""A Keras/QKeras model -> hlsgen's ``model:`` section: the layers in order with their own names and
Keras arguments, and the quantizers found on the way (mapped by :mod:`.quant`).

Supported: a single-input, single-output chain (Sequential or functional) of InputLayer, Conv2D/QConv2D,
Dense/QDense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation/ReLU/Softmax/QActivation and
BatchNormalization. A QActivation directly on the input becomes ``precision.input``. Anything else is one
line naming the layer, its class and what is not supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hlsgen.config import Quantity, TypeKey
from hlsgen.errors import HlsgenError
from hlsgen.importer.quant import Quant, activation_quant, describe, weight_quant
from hlsgen.train.modelfile.layerspec import SUPPORTED  # the classes the model file reader builds

DATA_SHAPE = (28, 28, 1)  # MNIST as hlsgen feeds it
_ACTIVATIONS = ("linear", "relu", "softmax")


@dataclass
class Translation:
    """The imported ``model:`` section and the quantizers: ``quant[(layer, quantity)]`` for weight, bias and
    result (activation) quantizers; ``input_quant`` a QActivation on the input; ``notes`` per layer."""

    input_shape: list[int]
    layers: list[dict[str, Any]]
    quant: dict[TypeKey, Quant] = field(default_factory=dict)
    input_quant: Quant | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)
    quantized: bool = False  # any QKeras layer

    def note(self, layer: str, text: str) -> None:
        self.notes.setdefault(layer, []).append(text)


def _unsupported(layer, what: str) -> HlsgenError:
    return HlsgenError(f"layer '{layer.name}' ({type(layer).__name__}): {what}")


def _producer(tensor):
    """The layer that produced ``tensor`` (Keras 2: ``_keras_history.layer``; Keras 3: ``.operation``)."""
    history = tensor._keras_history
    return history.layer if hasattr(history, "layer") else history.operation


def _inbound(layer):
    """The one layer feeding ``layer``, or None when it has several inputs or is used more than once."""
    nodes = layer.inbound_nodes if hasattr(layer, "inbound_nodes") else layer._inbound_nodes
    if len(nodes) != 1:
        return None
    if not hasattr(nodes[0], "inbound_layers"):  # Keras 3
        parents = nodes[0].parent_nodes
        return parents[0].operation if len(parents) == 1 else None
    inbound = nodes[0].inbound_layers
    if isinstance(inbound, list | tuple):
        return inbound[0] if len(inbound) == 1 else None
    return inbound


def chain(model) -> list:
    """The model's layers (without the InputLayer) in order; refuses anything but a simple chain."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise HlsgenError(f"model '{model.name}': {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                          "only single-input, single-output chains are supported")
    for layer in model.layers:  # the first unsupported type is the clearer message, before the topology
        if type(layer).__name__ not in (*SUPPORTED, "InputLayer"):
            kind = "a nested model" if hasattr(layer, "layers") else "unsupported layer type"
            raise _unsupported(layer, f"{kind}; supported: {', '.join(SUPPORTED)}")
    prev = _producer(model.inputs[0])
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if _inbound(layer) is not prev:
            raise _unsupported(layer, "the model is not a simple chain (a layer used twice, or an input that is "
                               "not the previous layer's output)")
        layers.append(layer)
        prev = layer
    if _producer(model.outputs[0]) is not prev:
        raise HlsgenError(f"model '{model.name}': its output is not its last layer's; only simple chains are supported")
    return layers


def _activation_name(layer, activation) -> str:
    from hlsgen.keras_compat import keras

    name = keras.activations.serialize(activation)
    if isinstance(name, dict):
        name = name.get("config", {}).get("name") or name.get("class_name")
    if name not in _ACTIVATIONS:
        raise _unsupported(layer, f"activation {name!r} is not supported (supported: {', '.join(_ACTIVATIONS)})")
    return name


def _pairs(layer, cfg: dict, *keys: str) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = cfg[key]
        out[key] = [int(v) for v in value] if isinstance(value, list | tuple) else value
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise _unsupported(layer, f"data_format {cfg['data_format']!r} is not supported (channels_last only)")
    return out


def translate(model) -> Translation:
    """The model's ``model:`` section and quantizers. Raises HlsgenError (one line) on anything unsupported."""
    from hlsgen.train.modelfile.build import BaseQuantizer, activation_quantizer  # QKeras 0.9.0's and qkeras-v3's

    layers = chain(model)
    shape = tuple(int(d) for d in model.input_shape[1:])
    out = Translation(list(DATA_SHAPE), [])
    if shape != DATA_SHAPE:
        flat = int(np.prod(shape)) == int(np.prod(DATA_SHAPE))
        first = type(layers[0]).__name__ if layers else ""
        if shape == (784,) and first in ("Dense", "QDense"):
            out.layers.append({"type": "Flatten", "name": "flatten_input"})  # hlsgen's data is [28, 28, 1]
            out.note("flatten_input", "added: the model takes flat [784] inputs, hlsgen feeds [28, 28, 1] images")
        elif not (flat and shape in ((28, 28), (784,)) and first == "Flatten"):
            raise HlsgenError(f"model '{model.name}': input shape {list(shape)}; hlsgen's data is MNIST "
                              f"{list(DATA_SHAPE)} (or [28, 28] / [784] followed by Flatten)")
    for i, layer in enumerate(layers):
        cls, cfg = type(layer).__name__, layer.get_config()
        name = layer.name
        if cls.startswith("Q"):
            out.quantized = True
        if cls in ("Conv2D", "QConv2D", "Dense", "QDense"):
            if cls.endswith("Conv2D"):
                if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1) or cfg.get("groups", 1) != 1:
                    raise _unsupported(layer, "dilation_rate and groups other than 1 are not supported")
                if cfg["padding"] not in ("valid", "same"):
                    raise _unsupported(layer, f"padding {cfg['padding']!r} is not supported (valid, same)")
                entry = {"type": "Conv2D", "name": name, "filters": int(cfg["filters"]),
                         **_pairs(layer, cfg, "kernel_size", "strides", "padding")}
            else:
                entry = {"type": "Dense", "name": name, "units": int(cfg["units"])}
            act = layer.activation
            if isinstance(act, BaseQuantizer):  # QConv2D/QDense(activation="quantized_relu(...)")
                q = activation_quant(f"layer '{name}' ({cls}) activation", act)
                entry["activation"] = "relu" if q.relu else "linear"
                out.quant[TypeKey(name, Quantity.RESULT)] = q
            else:
                entry["activation"] = _activation_name(layer, act)
            entry["use_bias"] = bool(cfg["use_bias"])
            for quantity, var in ((Quantity.WEIGHT, "kernel"), (Quantity.BIAS, "bias")):
                if quantity == Quantity.BIAS and not layer.use_bias:
                    continue
                q = getattr(layer, f"{var}_quantizer_internal", None) if getattr(layer, f"{var}_quantizer", None) \
                    else None
                values = getattr(layer, var)
                values = np.asarray((q(values) if q is not None else values).numpy(), np.float64)
                out.quant[TypeKey(name, quantity)] = weight_quant(f"layer '{name}' ({cls}) {var}", q, values)
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            entry = {"type": cls, "name": name, **_pairs(layer, cfg, "pool_size", "strides", "padding")}
        elif cls == "Flatten":
            _pairs(layer, cfg)
            entry = {"type": "Flatten", "name": name}
        elif cls == "Dropout":
            entry = {"type": "Dropout", "name": name, "rate": float(cfg["rate"])}
        elif cls == "BatchNormalization":
            axis = cfg["axis"]
            axis = axis[0] if isinstance(axis, list | tuple) and len(axis) == 1 else axis
            if axis not in (-1, len(layer.input.shape) - 1):  # Keras 3 layers have no input_shape
                raise _unsupported(layer, f"axis {cfg['axis']} is not supported (the channel axis, -1)")
            entry = {"type": "BatchNormalization", "name": name, "momentum": float(cfg["momentum"]),
                     "epsilon": float(cfg["epsilon"])}
        elif cls == "ReLU":
            if cfg.get("max_value") is not None or cfg.get("negative_slope") or cfg.get("threshold"):
                raise _unsupported(layer, "max_value, negative_slope and threshold are not supported (plain ReLU only)")
            entry = {"type": "Activation", "name": name, "activation": "relu"}
        elif cls == "Softmax":
            if cfg.get("axis", -1) not in (-1, [-1]):
                raise _unsupported(layer, f"axis {cfg['axis']} is not supported (-1 only)")
            entry = {"type": "Activation", "name": name, "activation": "softmax"}
        elif cls == "Activation":
            entry = {"type": "Activation", "name": name, "activation": _activation_name(layer, layer.activation)}
        else:  # QActivation
            q = activation_quantizer(layer)
            if not isinstance(q, BaseQuantizer):  # QActivation("relu"): a plain activation
                entry = {"type": "Activation", "name": name, "activation": _activation_name(layer, q)}
            elif i == 0:
                out.input_quant = activation_quant(f"layer '{name}' (QActivation)", q)
                out.note("input", f"{name}: {describe(q)} on the input becomes precision.input")
                continue
            else:
                qa = activation_quant(f"layer '{name}' (QActivation)", q)
                entry = {"type": "Activation", "name": name, "activation": "relu" if qa.relu else "linear"}
                out.quant[TypeKey(name, Quantity.RESULT)] = qa
        out.layers.append(entry)
    return out
