"""Keras 3 model files written by hand (zipfile, h5py, json) in the layouts Keras 3's own saving code writes
(keras-team/keras ``keras/src/saving/saving_lib.py``, ``serialization_lib.py``, ``models/functional.py``,
``legacy/saving/legacy_h5_format.py``), for tests on stacks whose Keras is 2 (TensorFlow 2.14 cannot write them):

- ``.keras``: ``metadata.json``, ``config.json`` (every object ``{"module", "class_name", "config",
  "registered_name"}``, layers with ``build_config``, dtypes as ``DTypePolicy`` objects, ``InputLayer`` with
  ``batch_shape``, functional inbound nodes ``{"args": [{"class_name": "__keras_tensor__", "config":
  {"keras_history": [...]}}], "kwargs": {}}``) and ``model.weights.h5`` (``layers/<snake-case class>[_n]/vars/<i>``,
  newer versions with the layer's name as the ``vars`` group's ``name`` attribute);
- ``.h5``: the ``model_config`` attribute (legacy layer format ``{"class_name", "config"}``) and
  ``model_weights/<layer>/`` with ``weight_names`` naming datasets by the variable's path.

A model here is a list of :class:`Layer`; :func:`keras2_model` builds the same network with the venv's Keras 2
and the same weights: the oracle the tests compare with.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

VERSION = "3.5.0"
SNAKE = {"Conv2D": "conv2d", "Dense": "dense", "MaxPooling2D": "max_pooling2d", "AveragePooling2D":
         "average_pooling2d", "Flatten": "flatten", "Dropout": "dropout", "Activation": "activation",
         "BatchNormalization": "batch_normalization", "InputLayer": "input_layer"}


def _obj(module: str, cls: str, config: dict) -> dict:
    return {"module": module, "class_name": cls, "config": config, "registered_name": None}


POLICY = _obj("keras", "DTypePolicy", {"name": "float32"})


@dataclass
class Layer:
    cls: str
    name: str
    config: dict
    weights: list[np.ndarray] = field(default_factory=list)

    def keras3_config(self) -> dict:
        base = {"name": self.name, "trainable": True, "dtype": POLICY}
        init = {"kernel_initializer": _obj("keras.initializers", "GlorotUniform", {"seed": None}),
                "bias_initializer": _obj("keras.initializers", "Zeros", {}), "kernel_regularizer": None,
                "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
        extra = {"Conv2D": {**init, "activity_regularizer": None, "data_format": "channels_last",
                            "dilation_rate": [1, 1], "groups": 1},
                 "Dense": {**init, "quantization_config": None},
                 "MaxPooling2D": {"data_format": "channels_last"}, "AveragePooling2D": {"data_format": "channels_last"},
                 "Flatten": {"data_format": None}, "Dropout": {"seed": None, "noise_shape": None},
                 "BatchNormalization": {"synchronized": False, "renorm": False, "renorm_clipping": None,
                                        "renorm_momentum": 0.99,
                                        "beta_initializer": _obj("keras.initializers", "Zeros", {}),
                                        "gamma_initializer": _obj("keras.initializers", "Ones", {})}}
        return {**base, **extra.get(self.cls, {}), **self.config}


def sequential(rng: np.random.Generator) -> list[Layer]:
    """conv1 (2 filters, relu) -> pool1 -> flatten -> fc1 (16, relu) -> drop1 -> fc2 (10, softmax)."""
    return [
        Layer("Conv2D", "conv1", {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                                  "activation": "relu", "use_bias": True},
              [rng.normal(0, 0.5, (3, 3, 1, 2)), rng.normal(0, 0.1, 2)]),
        Layer("MaxPooling2D", "pool1", {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}),
        Layer("Flatten", "flatten", {}),
        Layer("Dense", "fc1", {"units": 16, "activation": "relu", "use_bias": True},
              [rng.normal(0, 0.05, (338, 16)), rng.normal(0, 0.1, 16)]),
        Layer("Dropout", "drop1", {"rate": 0.5}),
        Layer("Dense", "fc2", {"units": 10, "activation": "softmax", "use_bias": True},
              [rng.normal(0, 0.3, (16, 10)), rng.normal(0, 0.1, 10)]),
    ]


def functional(rng: np.random.Generator) -> list[Layer]:
    """conv1 (4 filters, linear) -> bn1 -> act1 (relu) -> pool1 (average) -> flatten -> fc1 (10, no bias)."""
    return [
        Layer("Conv2D", "conv1", {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                  "activation": "linear", "use_bias": True},
              [rng.normal(0, 0.5, (3, 3, 1, 4)), rng.normal(0, 0.1, 4)]),
        Layer("BatchNormalization", "bn1", {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True,
                                            "scale": True},
              [rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4), rng.uniform(0.5, 2, 4)]),
        Layer("Activation", "act1", {"activation": "relu"}),
        Layer("AveragePooling2D", "pool1", {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}),
        Layer("Flatten", "flatten", {}),
        Layer("Dense", "fc1", {"units": 10, "activation": "linear", "use_bias": False},
              [rng.normal(0, 0.05, (784, 10))]),
    ]


def _input(shape=(28, 28, 1)) -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
            "config": {"batch_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False,
                       "name": "input_layer", "optional": False}}


def _tensor(name: str, shape: list) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32",
                                                          "keras_history": [name, 0, 0]}}


def keras3_config(layers: list[Layer], kind: str, name: str = "k3model") -> dict:
    """A Keras 3 ``config.json``: ``kind`` "Sequential" or "Functional" (single input unnested, as Keras 3
    writes ``input_layers`` for one input tensor)."""
    entries = [_input()]
    for layer in layers:
        entries.append({"module": "keras.layers", "class_name": layer.cls, "config": layer.keras3_config(),
                        "registered_name": None, "build_config": {"input_shape": [None, 28, 28, 1]}})
    if kind == "Sequential":
        config = {"name": name, "trainable": True, "dtype": POLICY, "layers": entries,
                  "build_input_shape": [None, 28, 28, 1]}
        return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None,
                "build_config": {"input_shape": [None, 28, 28, 1]}, "compile_config": None}
    prev = "input_layer"
    for entry in entries:
        entry["name"] = entry["config"]["name"]
        entry["inbound_nodes"] = [] if entry["class_name"] == "InputLayer" else \
            [{"args": [_tensor(prev, [None, 28, 28, 1])], "kwargs": {"training": False}
              if entry["class_name"] in ("Dropout", "BatchNormalization") else {}}]
        prev = entry["name"]
    config = {"name": name, "trainable": True, "layers": entries, "input_layers": ["input_layer", 0, 0],
              "output_layers": [prev, 0, 0]}
    return {"module": "keras", "class_name": "Functional", "config": config, "registered_name": None,
            "build_config": {"input_shape": None}, "compile_config": None}


def weights_h5(layers: list[Layer], kind: str, metadata: bool) -> bytes:
    """Keras 3's ``model.weights.h5``: ``layers/<key>/vars/<i>`` in ``model.layers`` order (a functional
    model's list starts with its InputLayer), with the layer names as ``vars`` attributes when ``metadata``
    (and then a group for every layer, as newer Keras 3 write it; else only layers with weights)."""
    buffer = io.BytesIO()
    listed = ([Layer("InputLayer", "input_layer", {})] if kind == "Functional" else []) + layers
    with h5py.File(buffer, "w") as f:
        used: dict[str, int] = {}
        for layer in listed:
            key = SNAKE[layer.cls]
            used[key] = used.get(key, -1) + 1
            key = f"{key}_{used[key]}" if used[key] else key
            if not layer.weights and not metadata:
                continue
            group = f.create_group(f"layers/{key}/vars")
            if metadata:
                group.attrs["name"] = layer.name
            for i, w in enumerate(layer.weights):
                group[str(i)] = np.asarray(w, np.float32)
        top = f.create_group("vars")
        if metadata:
            top.attrs["name"] = "k3model"
    return buffer.getvalue()


def write_keras(path: Path, layers: list[Layer], kind: str, metadata: bool = True, edit=None) -> Path:
    config = keras3_config(layers, kind)
    if edit is not None:
        edit(config)
    with zipfile.ZipFile(path, "w") as z:  # Keras writes the members stored, uncompressed
        z.writestr("metadata.json", json.dumps({"keras_version": VERSION, "date_saved": "2025-01-01@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights_h5(layers, kind, metadata))
    return path


def write_h5(path: Path, layers: list[Layer]) -> Path:
    """Keras 3's legacy ``.h5`` of a Sequential: ``model_config`` in the legacy layer format (no module keys;
    dtypes still policy objects), ``model_weights/<layer>/<variable path>`` named by ``weight_names``."""
    entries = [{"class_name": "InputLayer", "config": _input()["config"]}]
    entries += [{"class_name": layer.cls, "config": layer.keras3_config()} for layer in layers]
    model_config = {"class_name": "Sequential", "config": {"name": "k3model", "trainable": True, "dtype": POLICY,
                                                            "layers": entries,
                                                            "build_input_shape": [None, 28, 28, 1]}}
    names = {"Conv2D": ["kernel", "bias"], "Dense": ["kernel", "bias"],
             "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = VERSION
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [layer.name.encode("utf8") for layer in layers]
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = VERSION.encode("utf8")
        for layer in sorted(layers, key=lambda x: x.name):
            lg = g.create_group(layer.name)
            paths = [f"k3model/{layer.name}/{n}".encode() for n in names.get(layer.cls, [])[:len(layer.weights)]]
            lg.attrs["weight_names"] = paths
            for p, w in zip(paths, layer.weights, strict=True):
                lg.create_dataset(p.decode(), data=np.asarray(w, np.float32))
        g.create_group("top_level_model_weights").attrs["weight_names"] = np.array([], dtype=np.float64)
    return path


def keras2_model(layers: list[Layer], kind: str):
    """The same network in the venv's Keras 2 holding the same weights (float32): the oracle."""
    from hlsgen.keras_compat import keras

    args = {"Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
            "Dense": ("units", "activation", "use_bias"), "MaxPooling2D": ("pool_size", "strides", "padding"),
            "AveragePooling2D": ("pool_size", "strides", "padding"), "Flatten": (), "Dropout": ("rate",),
            "Activation": ("activation",), "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale")}
    x = inp = keras.Input((28, 28, 1))
    built = []
    for layer in layers:
        k = getattr(keras.layers, layer.cls)(name=layer.name, **{a: layer.config[a] for a in args[layer.cls]})
        x = k(x)
        built.append((k, layer))
    model = keras.Model(inp, x, name=f"oracle_{kind}")
    for k, layer in built:
        if layer.weights:
            k.set_weights([np.asarray(w, np.float32) for w in layer.weights])
    return model
