"""The weight arrays of an :class:`~hlsgen.train.modelfile.arch.Architecture`, found in its HDF5 file by Keras'
own rules and read only after their shapes and types are checked (no read is larger than the architecture's
weights); links to other files, external and virtual datasets are refused, and so are NaN and infinite values.

Layouts:

- ``model.save('m.h5')`` (under ``model_weights/``) and ``save_weights('w.h5')``, Keras 2 and 3: attribute
  ``layer_names`` (``model.layers`` in order), per layer a group whose attribute ``weight_names`` names its
  datasets in ``layer.weights`` order. Keras pairs the layers that have weights by order, not by name; so
  does this.
- a ``.keras`` archive's ``model.weights.h5`` and ``save_weights('w.weights.h5')``: ``layers/<key>/vars/<i>``
  (Keras 3) or ``_layer_checkpoint_dependencies/<key>/vars/<i>`` (Keras 2.13 to 2.15), ``key`` the snake-case
  class name of each of ``model.layers`` (``dense``, ``dense_1``, ... for repeats), ``i`` the index in
  ``layer.weights``.
"""

from __future__ import annotations

import math

import numpy as np

from hlsgen.train.modelfile.arch import Architecture
from hlsgen.train.modelfile.layerspec import LayerSpec
from hlsgen.train.modelfile.scan import fail
from hlsgen.train.modelfile.source import MAX_WEIGHTS_BYTES

#: Keras' ``to_snake_case`` of each class hlsgen reads (the keys of the .keras weights layout).
SNAKE = {"InputLayer": "input_layer", "Conv2D": "conv2d", "QConv2D": "q_conv2d", "Dense": "dense", "QDense": "q_dense",
         "MaxPooling2D": "max_pooling2d", "AveragePooling2D": "average_pooling2d", "Flatten": "flatten",
         "Dropout": "dropout", "Activation": "activation", "ReLU": "re_lu", "Softmax": "softmax",
         "QActivation": "q_activation", "BatchNormalization": "batch_normalization"}
_MAX_NAMES = 100_000
_CONTAINERS = ("layers", "_layer_checkpoint_dependencies")


class _Mismatch(Exception):
    pass


def _get(group, path: str, where: str):
    """``group[path]`` through hard links only (a soft or external link could point anywhere); None if absent."""
    import h5py

    node = group
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise fail(where, f"{node.name.rstrip('/')}/{part}: a link to another place or file; refused")
        node = node[part]
    return node


def _names(group, name: str, where: str) -> list[str]:
    """A list attribute as Keras writes it: ``name``, or split into ``name0``, ``name1``, ... when long."""
    if name in group.attrs:
        keys = [name]
    else:
        keys = []
        while f"{name}{len(keys)}" in group.attrs and len(keys) < _MAX_NAMES:
            keys.append(f"{name}{len(keys)}")
    out: list[str] = []
    for key in keys:
        aid = group.attrs.get_id(key)
        if aid.get_space().get_simple_extent_npoints() + len(out) > _MAX_NAMES:
            raise fail(where, f"{group.name}: attribute {key} lists over {_MAX_NAMES:,} names")
        for v in np.asarray(group.attrs[key]).ravel():
            out.append(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
    return out


def _array(ds, spec: LayerSpec, weight: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    import h5py

    if not isinstance(ds, h5py.Dataset):
        raise _Mismatch(f"{spec.label}: no {weight} array")
    if ds.is_virtual or ds.external:
        raise fail(where, f"{spec.label}: {weight} is stored outside the file (an external or virtual dataset); "
                          "refused")
    if tuple(ds.shape) != shape:
        raise _Mismatch(f"{spec.label}: {weight} has shape {list(ds.shape)}, the architecture needs {list(shape)}")
    if ds.dtype.kind != "f":
        raise fail(where, f"{spec.label}: {weight} is not a float array ({ds.dtype})")
    try:
        raw = ds[()]
    except (OSError, ValueError) as err:
        raise fail(where, f"{spec.label}: cannot read {weight} ({str(err)[:120]})") from None
    values = np.asarray(raw, dtype=np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise fail(where, f"{spec.label}: {weight}[{', '.join(map(str, idx))}] = {float(raw[idx])!r} "
                          f"({int(bad.sum())} value{'s' * (int(bad.sum()) != 1)} NaN or beyond float32): a model "
                          "with NaN or infinite weights cannot be converted")
    return values


def _legacy(group, arch: Architecture, specs: dict[str, LayerSpec], where: str) -> dict[str, list[np.ndarray]]:
    import h5py

    stored = []
    for name in _names(group, "layer_names", where):
        sub = _get(group, name, where)
        if isinstance(sub, h5py.Group):
            names = _names(sub, "weight_names", where)
            if names:
                stored.append((name, sub, names))
    wanted = [specs[name] for _, name in arch.saved if name in specs and specs[name].weights]
    if len(stored) != len(wanted):
        raise _Mismatch(f"the file holds weights of {len(stored)} layers, the architecture has {len(wanted)} layers "
                        "with weights")
    out = {}
    for spec, (_, sub, names) in zip(wanted, stored, strict=True):
        if len(names) != len(spec.weights):
            raise _Mismatch(f"{spec.label}: {len(names)} arrays stored, {len(spec.weights)} needed")
        out[spec.name] = [_array(_get(sub, n, where), spec, w, shape, where)
                          for n, (w, shape) in zip(names, spec.weights, strict=True)]
    return out


def _by_class(root, container: str, arch: Architecture, specs: dict[str, LayerSpec],
              where: str) -> dict[str, list[np.ndarray]]:
    used: dict[str, int] = {}
    out = {}
    for cls, name in arch.saved:
        key = SNAKE[cls]
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        spec = specs.get(name)
        if spec is None or not spec.weights:
            continue
        group = _get(root, f"{container}/{key}/vars", where)
        stored = sorted(group.keys()) if group is not None and hasattr(group, "keys") else []
        owner = group.attrs.get("name") if group is not None else None  # newer Keras 3 name the layer here
        owner = owner.decode("utf-8", "replace") if isinstance(owner, bytes) else owner
        if owner is not None and owner != name:
            raise _Mismatch(f"{spec.label}: {container}/{key} holds the weights of layer {str(owner)[:80]!r}")
        if stored != sorted(str(i) for i in range(len(spec.weights))):
            raise _Mismatch(f"{spec.label}: {len(stored)} arrays stored at {container}/{key}/vars, "
                            f"{len(spec.weights)} needed")
        out[name] = [_array(_get(group, str(i), where), spec, w, shape, where)
                     for i, (w, shape) in enumerate(spec.weights)]
    return out


def read_weights(h5file, arch: Architecture, where: str, whole_model: bool) -> dict[str, list[np.ndarray]]:
    """``{layer name: [arrays in layer.weights order]}`` (float32) for every layer of ``arch`` with weights.

    Raises
    ------
    HlsgenError
        Weights that do not match the architecture (count, shape), are not float, hold NaN or infinities, or
        lie outside the file: one line starting with ``where`` (the weights file) and naming the layer.
    """
    specs = {spec.name: spec for spec in arch.layers}
    total = 4 * sum(math.prod(shape) for spec in arch.layers for _, shape in spec.weights)
    if total > MAX_WEIGHTS_BYTES:  # compressed datasets could inflate to this: refused before any is read
        raise fail(where, f"the architecture's weights take {total:,} bytes as float32; the limit is "
                          f"{MAX_WEIGHTS_BYTES:,}")
    try:
        root = _get(h5file, "model_weights", where) if whole_model else h5file
        if root is None:
            raise _Mismatch("the file has no model_weights group")
        if "layer_names" in root.attrs or "layer_names0" in root.attrs:
            return _legacy(root, arch, specs, where)
        container = next((c for c in _CONTAINERS if c in root), None)
        if container is None:
            if any(spec.weights for spec in arch.layers):
                raise _Mismatch("no weights found (neither Keras' layer_names attribute nor a layers/ group)")
            return {}
        return _by_class(root, container, arch, specs, where)
    except _Mismatch as err:
        raise fail(where, f"the weights do not match the architecture ({err})") from None
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise fail(where, f"cannot read the weights ({str(err)[:160]})") from None
