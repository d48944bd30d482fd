"""``hlsgen import``'s command-line values, checked by one rule each before anything is read (no TensorFlow is
imported here: the CLI can check them first)."""

from __future__ import annotations

from hlsgen.errors import UsageError

#: ``--bits``: the width of every type not fixed by a QKeras quantizer. One bit leaves a signed type no value
#: but its sign; 16 bits is the widest the profiled types need for MNIST-sized networks.
BITS = (2, 16)
INPUT_SCALES = (255, 256)


def check_options(bits: int, images: int, input_scale: int | None = None) -> None:
    """Raise UsageError (one line naming the option) unless ``bits`` is in :data:`BITS`, ``images >= 1`` and
    ``input_scale`` is None or in :data:`INPUT_SCALES`."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not BITS[0] <= bits <= BITS[1]:
        raise UsageError(f"--bits: a width from {BITS[0]} to {BITS[1]} is expected, got {bits}")
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise UsageError(f"--images: a number of training images >= 1 is expected, got {images}")
    if input_scale not in (None, *INPUT_SCALES):
        raise UsageError(f"--input-scale: 255 or 256 (the model's input was pixel / scale), got {input_scale}")
