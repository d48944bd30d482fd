"""Read a user's model file: a Keras 2 whole model (``.h5``/``.hdf5`` or ``.keras``) or a JSON architecture
(``model.to_json()``) with a weights file, plain Keras or QKeras. Every failure is one line naming the file."""

# ruff: noqa: I001  (hlsgen.keras_compat must come before QKeras: it decides the Keras flavour)
from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

from hlsgen.keras_compat import keras  # before QKeras, which imports TensorFlow
from qkeras.utils import _add_supported_quantized_objects

from hlsgen.errors import HlsgenError
from hlsgen.train.quantizers import CUSTOM_OBJECTS

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def custom_objects() -> dict:
    """QKeras' layers and quantizers and hlsgen's own quantizers, by class name."""
    objects = dict(CUSTOM_OBJECTS)
    _add_supported_quantized_objects(objects)
    return objects


def _reason(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def read_model(model: Path, weights: Path | None = None):
    """The Keras model in ``model`` (a whole model, or with ``weights`` a JSON architecture), not compiled.

    Raises
    ------
    HlsgenError
        A missing or unreadable file, a file that is not a Keras 2 model (e.g. JSON of another framework),
        a JSON architecture without ``weights``, or weights that do not match it: one line naming the file.
    """
    if not model.is_file():
        raise HlsgenError(f"{model}: no such model file")
    if weights is not None and not weights.is_file():
        raise HlsgenError(f"{weights}: no such weights file (--weights)")
    head = model.read_bytes()[:8]
    if model.suffix.lower() == ".json" or head[:1] in (b"{", b"["):
        if weights is None:
            raise HlsgenError(f"{model}: a JSON architecture has no weights; give them with --weights WEIGHTS.h5")
        return _from_json(model, weights)
    if weights is not None:
        raise HlsgenError(f"--weights: {model} is a whole model (it holds its weights); --weights goes with a "
                          "JSON architecture only")
    if head == _HDF5_MAGIC:
        return _load(model, lambda: keras.models.load_model(str(model), custom_objects=custom_objects(),
                                                            compile=False))
    if head[:2] == b"PK":
        return _from_keras_zip(model)
    raise HlsgenError(f"{model}: not a Keras model file (neither HDF5 .h5, a .keras zip nor a JSON architecture)")


def _load(path: Path, load):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load()
    except HlsgenError:
        raise
    except Exception as err:  # h5py, zipfile, JSON and Keras errors alike: not a readable Keras 2 model
        raise HlsgenError(f"{path}: cannot read as a Keras 2 model ({_reason(err)})") from None
    if not isinstance(model, keras.Model):
        raise HlsgenError(f"{path}: holds a {type(model).__name__}, not a Keras model")
    return model


def _from_keras_zip(path: Path):
    try:
        with zipfile.ZipFile(path) as archive:
            config = archive.read("config.json").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError) as err:
        raise HlsgenError(f"{path}: not a Keras .keras model ({_reason(err)})") from None
    if "qkeras" in config:
        # QKeras 0.9.0 layers do not deserialize from the .keras format (QActivation receives a dict)
        raise HlsgenError(f"{path}: QKeras layers cannot be read from the .keras format (QKeras 0.9.0); save the "
                          "model as .h5 (model.save('model.h5')) or as model.to_json() + save_weights")
    return _load(path, lambda: keras.models.load_model(str(path), custom_objects=custom_objects(), compile=False))


def _passive(obj, quantizers: set[str]):
    """Mark QKeras quantizer configs for Keras' legacy decoder (what an .h5 file's model_config holds)."""
    if isinstance(obj, dict):
        if obj.get("class_name") in quantizers and "config" in obj:
            obj = {"class_name": obj["class_name"], "config": obj["config"], "__passive_serialization__": True}
        return {k: _passive(v, quantizers) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_passive(v, quantizers) for v in obj]
    return obj


def _from_json(path: Path, weights: Path):
    import importlib

    from hlsgen.keras_compat import KERAS_PACKAGE  # keras (TF 2.14) or tf_keras (TF >= 2.16), whichever is Keras 2

    model_config = importlib.import_module(f"{KERAS_PACKAGE}.src.saving.legacy.model_config")
    json_utils = importlib.import_module(f"{KERAS_PACKAGE}.src.saving.legacy.saved_model.json_utils")

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise HlsgenError(f"{path}: not a JSON file ({_reason(err)})") from None
    if not (isinstance(raw, dict) and raw.get("class_name") in ("Sequential", "Functional", "Model")
            and isinstance(raw.get("config"), dict)):
        found = f"keys {', '.join(list(raw)[:5])}" if isinstance(raw, dict) else type(raw).__name__
        raise HlsgenError(f"{path}: not a Keras model architecture (model.to_json() has class_name Sequential or "
                          f"Functional and a config; this JSON has {found})")
    objects = custom_objects()
    quantizers = {name for name, obj in objects.items() if isinstance(obj, type) and "quantiz" in obj.__module__}

    def load():
        with keras.utils.custom_object_scope(objects):
            config = json_utils.decode_and_deserialize(json.dumps(_passive(raw, quantizers)),
                                                       custom_objects=objects)
            return model_config.model_from_config(config, custom_objects=objects)

    model = _load(path, load)
    if weights.read_bytes()[:8] != _HDF5_MAGIC:
        raise HlsgenError(f"{weights}: not an HDF5 weights file (model.save_weights('weights.h5'))")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(str(weights))
    except Exception as err:
        raise HlsgenError(f"{weights}: the weights do not match the architecture in {path} ({_reason(err)})"
                          ) from None
    return model
