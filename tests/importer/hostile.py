"""Hostile model files for the importer's and train.init's tests, made with the venv's Keras (2 or 3): a Lambda layer
whose code writes a marker file, a ``.keras`` whose model class is in a module that writes the marker when
imported, and hand-edited architectures (custom objects, registered names, quantizer strings)."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

from hlsgen.keras_compat import keras  # before QKeras


def evil_function(marker: Path):
    """A lambda whose code (a constant in its bytecode, as Keras marshals it) writes ``marker``. A lambda
    expression, not a ``def``: Keras 3 stores a named function by its name only, a lambda's bytecode."""
    namespace: dict = {}
    exec(f"evil = lambda x: __import__('pathlib').Path({str(marker)!r}).write_text('ran') and x\n", namespace)
    return namespace["evil"]


def lambda_model(marker: Path, directory: Path) -> dict[str, tuple[Path, Path | None]]:
    """A Sequential with a Lambda layer 'evil' (its code writes ``marker``) in every format the importer reads:
    ``{format: (model, weights or None)}``. Building the model calls the Lambda once: ``marker`` is removed."""
    L = keras.layers  # noqa: N806
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(name="f"), L.Lambda(evil_function(marker),
                                                                                       name="evil"),
                              L.Dense(10, name="fc")], name="with_lambda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(directory / "lambda.h5")
        model.save(directory / "lambda.keras")
        (directory / "lambda.json").write_text(model.to_json())
        model.save_weights(directory / "lambda.weights.h5")
    marker.unlink(missing_ok=True)
    return {"h5": (directory / "lambda.h5", None), "keras": (directory / "lambda.keras", None),
            "json": (directory / "lambda.json", directory / "lambda.weights.h5")}


def plain_model():
    L = keras.layers  # noqa: N806
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(name="flatten"), L.Dense(16, activation="relu",
                             name="fc1"), L.Dense(10, name="fc2")], name="plain")


def rewrite_keras(source: Path, target: Path, edit, members: dict[str, bytes] | None = None) -> Path:
    """A copy of the ``.keras`` archive ``source`` whose config.json is ``edit(config)`` (and extra or replaced
    ``members``)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            if members and info.filename in members:
                data = members.pop(info.filename)
            zout.writestr(info, data)
        for name, data in (members or {}).items():
            zout.writestr(name, data)
    return target


def module_class_keras(marker: Path, directory: Path) -> Path:
    """A ``.keras`` whose model class is ``Model`` of module ``evilmod`` (``directory/evilmod.py``, which writes
    ``marker`` when imported): Keras 2's loader imports the module to find the class."""
    (directory / "evilmod.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    model = plain_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(directory / "plain.keras")
    return rewrite_keras(directory / "plain.keras", directory / "module_class.keras",
                         lambda config: {**config, "module": "evilmod", "class_name": "Model"})
