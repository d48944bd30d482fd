"""The Keras model of a checked :class:`~hlsgen.train.modelfile.arch.Architecture`, built by hlsgen: every layer
constructed from its checked arguments by a fixed table of Keras' and QKeras' classes, every QKeras quantizer
instantiated from its literal arguments, the weights set from the arrays :mod:`.weights` read. No Keras or QKeras
deserializer sees the file, so nothing in it can name code to run.

The model is a functional chain named as the file's, with the file's layer names; it computes in float32.
"""

# ruff: noqa: I001  (hlsgen.keras_compat must come before QKeras: it decides the Keras flavour)
from __future__ import annotations

import warnings
from importlib import import_module

import numpy as np
from hlsgen.keras_compat import keras  # before QKeras, which imports TensorFlow
from qkeras import QActivation, QConv2D, QDense
from qkeras import quantizers as qkeras_quantizers

from hlsgen.errors import HlsgenError
from hlsgen.train.modelfile.arch import Architecture
from hlsgen.train.modelfile.layerspec import LayerSpec
from hlsgen.train.modelfile.scan import QUANTIZERS, Quantizer
from hlsgen.train.quantizers import CUSTOM_OBJECTS


#: The base class of every QKeras quantizer: QKeras 0.9.0 defines it in ``qkeras.quantizers``, qkeras-v3 in
#: ``qkeras.base_quantizer`` (and no longer re-exports it).
BaseQuantizer = (getattr(qkeras_quantizers, "BaseQuantizer", None)
                 or import_module("qkeras.base_quantizer").BaseQuantizer)


def activation_quantizer(layer):
    """A QActivation's quantizer: QKeras 0.9.0 keeps the object in ``.quantizer`` (``.activation`` is what was
    passed, perhaps its string); qkeras-v3 in ``.activation`` (it has no ``.quantizer``)."""
    return layer.quantizer if hasattr(layer, "quantizer") else layer.activation


def _reason(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def make_quantizer(q: Quantizer, where: str):
    """The QKeras (or hlsgen) quantizer object ``q`` names, built from its literal arguments."""
    cls = CUSTOM_OBJECTS.get(q.name) or (getattr(qkeras_quantizers, q.name, None) if q.name in QUANTIZERS else None)
    if not isinstance(cls, type) or not issubclass(cls, BaseQuantizer):
        raise HlsgenError(f"{where}: unsupported quantizer {q.name!r}")
    try:
        return cls(*q.args, **q.kwargs)
    except Exception as err:  # a wrong argument name or value: the constructor's own complaint
        raise HlsgenError(f"{where}: {q}: not a valid {q.name} ({_reason(err)})") from None


def _layer(spec: LayerSpec, where: str):
    a, name = dict(spec.args), spec.name
    label = f"{where}: {spec.label}" if where else spec.label
    for key in ("kernel_quantizer", "bias_quantizer"):
        if a.get(key) is not None:
            a[key] = make_quantizer(a[key], f"{label} {key}")
    act = a.pop("activation", None)
    if isinstance(act, Quantizer):
        act = make_quantizer(act, f"{label} activation")
    if spec.cls in ("QConv2D", "QDense"):
        return (QConv2D if spec.cls == "QConv2D" else QDense)(activation=act, name=name, **a)
    if spec.cls == "QActivation":
        return QActivation(act, name=name)  # a quantizer object, or one of Keras' names linear/relu/softmax
    cls = getattr(keras.layers, spec.cls)
    return cls(act, name=name, **a) if spec.cls == "Activation" else \
        cls(activation=act, name=name, **a) if act is not None else cls(name=name, **a)


def build_model(arch: Architecture, weights: dict[str, list[np.ndarray]], where: str) -> keras.Model:
    """The model of ``arch`` holding ``weights`` (``{layer: arrays in layer.weights order}``).

    Raises
    ------
    HlsgenError
        A quantizer's arguments its class refuses, a layer Keras cannot build with the given arguments, or a
        layer whose Keras weights differ from the architecture's (e.g. a quantizer with variables): one line
        starting with ``where``.
    """
    taken = {spec.name for spec in arch.layers}
    input_name = arch.input_name if arch.input_name not in taken else next(
        f"input_{i}" for i in range(len(taken) + 1) if f"input_{i}" not in taken)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = inp = keras.Input(arch.input_shape, name=input_name)
            for spec in arch.layers:
                x = _layer(spec, where)(x)
            model = keras.Model(inp, x, name=arch.name)
    except HlsgenError:
        raise
    except Exception as err:  # Keras refusing an argument combination: the file's values, named
        raise HlsgenError(f"{where}: cannot build the model from its architecture ({_reason(err)})") from None
    for spec in arch.layers:
        if not spec.weights:
            continue
        layer = model.get_layer(spec.name)
        built = [tuple(int(d) for d in w.shape) for w in layer.weights]
        if built != [shape for _, shape in spec.weights]:
            raise HlsgenError(f"{where}: {spec.label}: Keras builds weights of shapes {built}, the file's are "
                              f"{[list(s) for _, s in spec.weights]} (a quantizer with variables is not supported)")
        layer.set_weights(weights[spec.name])
    return model
