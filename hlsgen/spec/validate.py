"""A loaded spec checked for consistency before anything computes with it.

``spec.json`` and ``weights.npz`` come from a project directory that anyone may have edited: a shape of a
billion values, a weight code of -29000 in an ``ap_fixed<8,1>`` layer, a stage whose output shape does not
follow from its input and window. Each such spec is refused here with one line naming the stage and the
value, before the golden model, the proof or the RTL allocate anything for it.
"""

from __future__ import annotations

import math

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.geometry import output_size

#: The most values one image may have at any stage, and the most weights of one layer (the config's
#: limits: hlsgen/config/checks.py allows 2^24 of each).
MAX_VALUES = 2**24
MAX_RANK = 3


def check_spec(spec, where: str) -> None:
    """Raise HlsgenError naming ``where`` and the stage when ``spec`` is not one hlsgen could have built:
    shapes chained and bounded, each output shape the one its kind and parameters give, weight and bias codes
    of the right shape and inside their types. (A stage's input type may differ from its predecessor's result
    type: the codes are then read at face value, as the golden model and the RTL links do.)"""
    _check_shape(spec.input_shape, f"{where}: input_shape")
    shape = tuple(spec.input_shape)
    if not spec.stages:
        raise HlsgenError(f"{where}: no stages")
    for s in spec.stages:
        at = f"{where}: {s.name}"
        _check_shape(s.input_shape, f"{at}: input_shape")
        _check_shape(s.output_shape, f"{at}: output_shape")
        if tuple(s.input_shape) != shape:
            raise HlsgenError(f"{at}: input_shape {list(s.input_shape)} is not the previous output {list(shape)}")
        want = expected_output_shape(s)
        if want is not None and tuple(s.output_shape) != want:
            raise HlsgenError(f"{at}: output_shape {list(s.output_shape)}, but a {s.kind} stage of this input and "
                              f"parameters gives {list(want)}")
        if s.kind.weighted:
            _check_weights(s, at)
        elif s.weight_codes is not None or s.bias_codes is not None:
            raise HlsgenError(f"{at}: a {s.kind} stage has no weights, but weights.npz holds some")
        shape = tuple(s.output_shape)


def expected_output_shape(s) -> tuple[int, ...] | None:
    """The output shape a stage's kind and parameters give for its input shape (None: not derivable)."""
    shape = tuple(s.input_shape)
    kind = s.kind
    if kind in ("relu", "linear", "softmax"):
        return shape
    if kind == "flatten":
        return (math.prod(shape),)
    if kind == "dense":
        if len(shape) != 1 or s.weight_codes is None:
            return None
        return (int(np.shape(s.weight_codes)[-1]),)
    if len(shape) != 3:
        raise HlsgenError(f"stage {s.name!r}: a {kind} stage needs an (height, width, channels) input, got "
                          f"{list(shape)}")
    window = s.params.kernel_size if kind == "conv2d" else s.params.pool_size
    h = output_size(shape[0], window[0], s.params.strides[0], s.params.padding)
    w = output_size(shape[1], window[1], s.params.strides[1], s.params.padding)
    channels = int(np.shape(s.weight_codes)[-1]) if kind == "conv2d" and s.weight_codes is not None else shape[2]
    return (h, w, channels)


def _check_shape(shape, what: str) -> None:
    if not (isinstance(shape, tuple | list) and 1 <= len(shape) <= MAX_RANK
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)):
        raise HlsgenError(f"{what}: {str(list(shape) if isinstance(shape, tuple) else shape)[:60]} is not 1 to "
                          f"{MAX_RANK} positive whole numbers")
    if math.prod(shape) > MAX_VALUES:
        raise HlsgenError(f"{what}: {list(shape)} holds {math.prod(shape)} values per image, more than the "
                          f"{MAX_VALUES} hlsgen supports")


def _check_weights(s, at: str) -> None:
    w, b = s.weight_codes, s.bias_codes
    if w is None or b is None:
        raise HlsgenError(f"{at}: weights.npz has no {'weight' if w is None else 'bias'} codes for this {s.kind}")
    want_w = s.weight_shape  # the output shape is checked against the kind before this
    if tuple(np.shape(w)) != want_w:
        raise HlsgenError(f"{at}: weight codes of shape {list(np.shape(w))}, the stage needs {list(want_w)}")
    if tuple(np.shape(b)) != (want_w[-1],):
        raise HlsgenError(f"{at}: bias codes of shape {list(np.shape(b))}, the stage needs [{want_w[-1]}]")
    for codes, t, what in ((w, s.weight_t, "weight"), (b, s.bias_t, "bias")):
        if t is None:
            raise HlsgenError(f"{at}: no {what}_t")
        check_codes(at, t, codes, what)
    if s.accum_t is None:
        raise HlsgenError(f"{at}: no accum_t")


def check_codes(name: str, t: FixedType, codes: np.ndarray, what: str) -> np.ndarray:
    """Integer codes of ``what`` in range of ``t``; raises naming the layer and the first bad value."""
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise HlsgenError(f"{name}.{what}: codes must be integers, got dtype {codes.dtype}")
    bad = (codes < t.min_code) | (codes > t.max_code)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise HlsgenError(f"{name}.{what}: code {int(codes[idx])} at {idx} is outside {t} "
                          f"[{t.min_code}, {t.max_code}]")
    return codes.astype(np.int64)
