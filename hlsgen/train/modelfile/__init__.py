"""A user's Keras/QKeras model file read without running anything stored in it (``hlsgen import`` and
``train.init: <model file>``).

The file is identified by its first bytes (:mod:`.source`: HDF5 ``.h5``, a ``.keras`` zip, a JSON architecture
with an HDF5 weights file; Keras 2 and Keras 3 layouts), its architecture JSON read (bounded) and checked
before anything else (:mod:`.scan`: no Lambda, serialized function or custom object anywhere;
:mod:`.arch`/:mod:`.layerspec`: a chain of supported layers with checked arguments), its weights read with
h5py alone (:mod:`.weights`), and the Keras model built by hlsgen from the checked architecture
(:mod:`.build`). No Keras or QKeras loader ever opens the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hlsgen.train.modelfile.arch import Architecture, parse_architecture
from hlsgen.train.modelfile.layerspec import SUPPORTED
from hlsgen.train.modelfile.source import open_source
from hlsgen.train.modelfile.weights import read_weights

__all__ = ["SUPPORTED", "Architecture", "load_model_file", "read_model_file"]


def read_model_file(path: str | Path, weights: str | Path | None = None,
                    where: str | None = None) -> tuple[Architecture, dict[str, list[np.ndarray]]]:
    """The checked architecture of ``path`` and its weight arrays (from ``weights`` for a JSON architecture),
    without TensorFlow. ``where`` prefixes every message (default: the path).

    Raises
    ------
    HlsgenError
        Any problem with the file, one line naming it (and the layer).
    """
    path = Path(path)
    where = where or str(path)
    source = open_source(path, Path(weights) if weights is not None else None, where)
    try:
        arch = parse_architecture(source.tree, where)
        arrays = read_weights(source.weights, arch, source.weights_where, source.whole_model)
    finally:
        source.close()
    return arch, arrays


def load_model_file(path: str | Path, weights: str | Path | None = None, where: str | None = None):
    """The Keras model in ``path`` (:func:`read_model_file`, then built by :func:`.build.build_model`)."""
    from hlsgen.train.modelfile.build import build_model

    arch, arrays = read_model_file(path, weights, where)
    return build_model(arch, arrays, where or str(path))
