"""Read a user's model file: a Keras whole model (``.h5``/``.hdf5`` or ``.keras``, Keras 2 or 3 layout; the kind
found by the file's content, not its name) or a JSON architecture (``model.to_json()``) with a weights file,
plain Keras or QKeras. Nothing stored in the file is run: :mod:`hlsgen.train.modelfile` checks the architecture
before anything is built, reads the weights with h5py and builds the model itself. Every failure is one line
naming the file."""

from __future__ import annotations

from pathlib import Path

from hlsgen.train.modelfile import load_model_file

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")


def read_model(model: Path, weights: Path | None = None):
    """The Keras model in ``model`` (a whole model, or with ``weights`` a JSON architecture), built by hlsgen.

    Raises
    ------
    HlsgenError
        A missing or unreadable file, anything but a regular file, a file that is not a Keras model (e.g. JSON
        of another framework), code anywhere in the architecture (Lambda, serialized functions, custom
        objects), an unsupported layer or topology, a JSON architecture without ``weights``, or weights that
        do not match it: one line naming the file (and the layer).
    """
    return load_model_file(model, weights)
