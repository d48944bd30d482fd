"""Keras' window geometry, the one owner of the output-size, 'same'-padding, weight-layout and fan-in rules (Conv2D and
pooling alike), for the config's shape inference, the golden model and the estimate."""

from __future__ import annotations


def output_size(size: int, window: int, stride: int, padding: str) -> int:
    """Outputs along one axis: ``ceil(size / stride)`` for 'same', ``(size - window) // stride + 1``
    for 'valid' (a window larger than the input gives 0 or less: no output)."""
    if padding == "same":
        return -(-size // stride)
    return (size - window) // stride + 1


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """Keras' 'same' padding along one axis: ``total = max((out-1)*stride + window - size, 0)``, the
    extra row/column going to the bottom/right: ``(before, after)``."""
    total = max((output_size(size, window, stride, "same") - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def padding(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """``(before, after)`` padding along one axis for Keras' ``padding`` ('valid': none)."""
    return same_padding(size, window, stride) if padding == "same" else (0, 0)


def weight_shape(kernel: tuple[int, int] | None, channels_in: int, channels_out: int) -> tuple[int, ...]:
    """Keras' layout of the weights: a Conv2D's ``(kh, kw, cin, cout)`` for ``kernel`` ``(kh, kw)``, a Dense's
    ``(n_in, n_out)`` for ``kernel`` None. The one owner of this rule (config limits, lowering, the spec's
    checks, the estimate)."""
    return (*kernel, channels_in, channels_out) if kernel is not None else (channels_in, channels_out)


def fan_in(shape: tuple[int, ...]) -> int:
    """Products summed into one output of weights of ``shape`` (:func:`weight_shape`): every axis but the last,
    hls4ml's matrix-multiply ``n_in`` (a Conv2D's ``kh * kw * cin``, a Dense's inputs)."""
    n = 1
    for d in shape[:-1]:
        n *= d
    return n
