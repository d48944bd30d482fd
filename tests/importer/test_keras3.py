"""Keras 3 model files read without Keras 3 (#22 item 1), on this Keras 2 stack: files written by hand in the
layouts of Keras 3's saving code (tests/importer/keras3.py), never produced by a real Keras 3 here. Oracle: the
same network built with the venv's Keras 2 holding the same weights; hlsgen's model must compute exactly what
it computes, and importing the Keras 3 file must give the config the Keras 2 file gives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from keras3 import functional, keras2_model, sequential, write_h5, write_keras

from hlsgen.errors import HlsgenError
from hlsgen.train.modelfile import load_model_file

X = np.random.default_rng(7).integers(0, 256, (64, 28, 28, 1)).astype(np.float32) / 256


def _layers(kind):
    rng = np.random.default_rng(3)
    return sequential(rng) if kind == "Sequential" else functional(rng)


@pytest.mark.parametrize(("kind", "fmt", "metadata"), [
    ("Sequential", "keras", True), ("Sequential", "keras", False), ("Functional", "keras", True),
    ("Functional", "keras", False), ("Sequential", "h5", None),
])
def test_keras3_files_compute_what_keras_computes(kind, fmt, metadata, tmp_path):
    layers = _layers(kind)
    path = write_keras(tmp_path / "m.keras", layers, kind, metadata) if fmt == "keras" else \
        write_h5(tmp_path / "m.h5", layers)
    model = load_model_file(path)
    oracle = keras2_model(layers, kind)
    assert [la.name for la in model.layers[1:]] == [la.name for la in layers]
    for built, layer in zip(model.layers[1:], layers, strict=True):
        for a, b in zip(built.get_weights(), layer.weights, strict=True):
            np.testing.assert_array_equal(a, np.asarray(b, np.float32))
    np.testing.assert_array_equal(model.predict(X, verbose=0), oracle.predict(X, verbose=0))


def test_keras3_keras_imports_as_its_keras2_twin(data_env, tmp_path):
    from hlsgen.config import load_config
    from hlsgen.importer import import_command

    layers = _layers("Sequential")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras2_model(layers, "Sequential").save(tmp_path / "k2.h5")
    k3 = load_config(import_command(write_keras(tmp_path / "k3.keras", layers, "Sequential"), tmp_path / "a.yaml",
                                    images=200))
    k2 = load_config(import_command(tmp_path / "k2.h5", tmp_path / "b.yaml", images=200))
    assert k3.resolved["model"] == k2.resolved["model"] and k3.resolved["precision"] == k2.resolved["precision"]


def _swap_names(tmp_path):
    """model.weights.h5 whose vars groups of fc1 and fc2 name each other's layer."""
    import io
    import zipfile

    import h5py

    path = write_keras(tmp_path / "m.keras", _layers("Sequential"), "Sequential", metadata=True)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        f["layers/dense/vars"].attrs["name"], f["layers/dense_1/vars"].attrs["name"] = "fc2", "fc1"
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return path


def _custom_model(config):
    config.update(module=None, class_name="NestedDenseModel",
                  registered_name="legacy_nested_container>NestedDenseModel")


def _custom_function(config):
    config["config"]["layers"][4]["config"]["activation"] = {
        "module": "mypkg.activations", "class_name": "function", "config": "swishy", "registered_name": "mypkg>swishy"}


def _quantized(config):
    config["config"]["layers"][4]["config"].update(
        dtype={"module": "keras", "class_name": "QuantizedDTypePolicy",
               "config": {"mode": "int8", "source_name": "float32"}, "registered_name": None},
        quantization_config={"module": "keras.quantizers", "class_name": "Int8QuantizationConfig", "config": {},
                             "registered_name": None})


def _spaced_name(config):
    config["config"]["layers"][4]["config"]["name"] = "fc 1"  # Keras 3 allows it; TensorFlow's Keras 2 cannot


@pytest.mark.parametrize(("case", "match"), [
    ("spaced_name", r"layer 4 \(Dense\): name 'fc 1' is not a name hlsgen's Keras can build"),
    ("swapped", r"m\.keras: model\.weights\.h5: the weights do not match the architecture \(layer 'fc1' \(Dense\): "
                r"layers/dense holds the weights of layer 'fc2'\)"),
    ("custom_model", r"a custom object 'NestedDenseModel' \(defined in the user's script, module __main__\)"),
    ("custom_function", r"layer 'fc1' \(Dense\): a serialized function 'swishy' of module 'mypkg.activations'"),
    ("quantized", r"layer 'fc1' \(Dense\): quantization_config .* is not supported"),
])
def test_keras3_files_refused(case, match, tmp_path):
    if case == "swapped":
        path = _swap_names(tmp_path)
    else:
        edit = {"custom_model": _custom_model, "custom_function": _custom_function, "quantized": _quantized,
                "spaced_name": _spaced_name}[case]
        path = write_keras(tmp_path / "m.keras", _layers("Sequential"), "Sequential", edit=edit)
    with pytest.raises(HlsgenError, match=match) as info:
        load_model_file(path)
    assert "\n" not in str(info.value) and info.value.exit_code == 2
