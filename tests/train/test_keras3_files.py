"""Models written by a real Keras 3 (#22 item 1 on every stack): the seed's network trained and saved by keras
3.15.1 (TensorFlow 2.21) as ``.keras`` and ``.h5`` (tests/train/keras3_files/, made by its make_keras3_files.py,
the optimizer's state included as a user's ``model.save`` writes it). hlsgen reads them without Keras 3; the
oracle is the source model's own predictions, stored beside the files by the Keras that wrote them. Where a
standalone Keras 3 exists (the Keras 3 stack, and the 3.12 stack that installs keras 3 unused), the files are
also made afresh and compared with that Keras' predictions in the same run."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.train.modelfile import load_model_file

HERE = Path(__file__).resolve().parent / "keras3_files"
SEED_LAYERS = ["conv1", "pool1", "flatten", "fc1", "drop1", "fc2"]
DATA = Path(os.environ.get("HLSGEN_DATA") or Path(__file__).resolve().parents[3] / "shared/data/mnist/mnist-10k.npz")


def _check_against_source(directory: Path) -> None:
    """Both files of ``directory`` load (hlsgen's reader) into the source's layers and compute its predictions."""
    with np.load(directory / "predictions.npz") as f:
        images, want, version = f["images"], f["predictions"], str(f["keras"])
    assert version.startswith("3."), version
    x = images[..., None].astype(np.float32) / 255
    for name in ("seed.keras", "seed.h5"):
        model = load_model_file(directory / name)
        assert [layer.name for layer in model.layers[1:]] == SEED_LAYERS, name
        got = model.predict(x, verbose=0)
        # the same float32 network; TensorFlow's kernels may differ in the last bits between versions
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
        assert np.array_equal(got.argmax(1), want.argmax(1)), name


def test_committed_keras3_files_compute_the_source_models_predictions():
    _check_against_source(HERE)


@pytest.mark.parametrize("name", ["seed.keras", "seed.h5"])
def test_committed_keras3_files_as_train_init(name):
    """``train.init: <Keras 3 file>`` (what ``hlsgen import`` writes): hlsgen's float model of the config
    holds the file's weights and computes the source's predictions (scaled pixel/255 as it was trained)."""
    from hlsgen.train import given_float_model, load_init_model, source_predictions

    raw = copy.deepcopy(REFERENCE)
    raw["train"].update(init=str(HERE / name), epochs=0, input_scale=255)
    cfg = config_from_dict(raw)
    source = load_init_model(cfg)
    with np.load(HERE / "predictions.npz") as f:
        images, want = f["images"], f["predictions"]
    np.testing.assert_allclose(source_predictions(cfg, source, images), want, rtol=1e-5, atol=1e-6)
    model = given_float_model(cfg, source)
    assert [layer.name for layer in model.layers[1:]] == SEED_LAYERS


@pytest.mark.parametrize("name", ["seed.keras", "seed.h5"])
def test_committed_keras3_files_translate_for_hlsgen_import(name):
    """``hlsgen import``'s walk of the model (a simple chain, Keras 2's or Keras 3's layer graph, whichever the
    stack builds) and its translation into the config's layers (the CI's Keras 3 stage runs it there)."""
    from hlsgen.importer.layers import chain, translate

    model = load_model_file(HERE / name)
    assert [layer.name for layer in chain(model)] == SEED_LAYERS
    tr = translate(model)
    assert [entry["name"] for entry in tr.layers] == SEED_LAYERS
    assert [entry["type"] for entry in tr.layers] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Dense"]


def _standalone_keras3() -> bool:
    """Whether this interpreter has the standalone keras 3 package (asked in a subprocess: in this process
    ``keras`` may be another Keras, chosen by hlsgen.keras_compat)."""
    code = "import keras, sys; sys.exit(0 if keras.__version__.startswith('3.') else 1)"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_USE_LEGACY_KERAS": "0"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=300).returncode == 0


if _standalone_keras3():  # TensorFlow 2.14 (the primary stack) has no Keras 3: the committed files stand for it
    @pytest.mark.slow
    def test_fresh_keras3_files_compute_the_source_models_predictions(tmp_path):
        if not DATA.exists():
            pytest.skip(f"needs {DATA} (set HLSGEN_DATA)")
        env = {**os.environ, "HLSGEN_DATA": str(DATA)}
        r = subprocess.run([sys.executable, str(HERE / "make_keras3_files.py"), str(tmp_path), "1"], env=env,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        _check_against_source(tmp_path)
