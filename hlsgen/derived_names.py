"""The one owner of the names hlsgen derives from a config layer's name.

A Conv2D/Dense with a ReLU becomes two hls4ml layers, ``<layer>`` and ``<layer>_relu``; a softmax
activation becomes ``<layer>_softmax``; hls4ml follows a linear Keras layer with its own
``<layer>_linear``; QKeras training puts its quantizer ``<layer>_q`` after each layer and
``input_q`` on the input. The config's checks refuse layer names that collide with these.
"""

from __future__ import annotations

INPUT_QUANTIZER = "input_q"
DERIVED_SUFFIXES = ("_relu", "_softmax", "_linear", "_q")


def relu_stage(layer: str) -> str:
    return f"{layer}_relu"


def softmax_stage(layer: str) -> str:
    return f"{layer}_softmax"


def linear_stage(layer: str) -> str:
    """hls4ml's explicit linear activation after a linear Conv2D/Dense."""
    return f"{layer}_linear"


def quantizer(layer: str) -> str:
    """The QKeras quantizer after ``layer`` (training only)."""
    return f"{layer}_q"


def quantized_layer(quantizer_name: str) -> str:
    """The layer a quantizer named by :func:`quantizer` follows."""
    return quantizer_name.removesuffix("_q")


def derived_names(layer: str) -> tuple[str, ...]:
    """Every name hlsgen or hls4ml may derive from ``layer``."""
    return tuple(f"{layer}{suffix}" for suffix in DERIVED_SUFFIXES)
