"""``hlsgen import``: models trained here (tests/importer/import_models.py) -> config -> build -> ``make csim``
(g++) bit-exact, and the golden model against the source model's own predictions (oracle: Keras/QKeras).
Malformed files: one line, exit 2, nothing written.

Slow: trains 4 small models (2 epochs on 2,000 images) and simulates 50 test images each."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from import_models import save_all, train

from hlsgen.config import load_config
from hlsgen.errors import HlsgenError

N_SIM = 50


def _import(model, output, **kw):
    from hlsgen.importer import import_command

    return import_command(model, output, images=500, **kw)


# ------------------------------------------------------------------------------ end to end

CASES = {  # kind: (pixel scale the model trains on, exact: golden == the model on every image)
    "float": (255, False),
    "batchnorm": (256, False),
    "qkeras": (256, True),
    "po2": (256, True),
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None, reason="needs g++ and make")
@pytest.mark.parametrize("kind", list(CASES))
def test_import_build_csim(kind, data_env, tmp_path, monkeypatch):
    from hlsgen.build import build_command

    scale, exact = CASES[kind]
    model = train(kind, data_env["x_train"], data_env["y_train"], scale)
    files = save_all(model, tmp_path, kind)
    configs = {}
    for fmt, (path, weights) in files.items():
        out = _import(path, tmp_path / f"{kind}_{fmt}.yaml", weights=weights, input_scale=scale)
        configs[fmt] = out.read_text()
        assert (tmp_path / f"{kind}_{fmt}.h5").exists()
    layers = {fmt: load_config(tmp_path / f"{kind}_{fmt}.yaml").resolved["model"] for fmt in configs}
    assert all(v == layers["h5"] for v in layers.values()), "every format imports the same model"
    cfg = load_config(tmp_path / f"{kind}_h5.yaml")
    assert cfg.train.epochs == 0 and cfg.train.init_path.is_absolute() and cfg.train.input_scale == scale
    names = [lc.name for lc in cfg.layers]
    assert {"fc1", "fc2"} <= set(names)

    monkeypatch.chdir(tmp_path)
    project = build_command(cfg, tmp_path / "proj", n_test=N_SIM, verbose=0)
    metrics = json.loads((project / "train" / "metrics.json").read_text())
    src, gold = metrics["source"], metrics["golden"]
    # the source's own accuracy, recomputed here with Keras (the oracle)
    x = data_env["x_test"].astype(np.float32) / scale
    own = np.argmax(model.predict(x.reshape((len(x), *model.input_shape[1:])), verbose=0), axis=-1)
    assert src["accuracy"] == pytest.approx(np.mean(own == data_env["y_test"]), abs=1e-12)
    assert "qat" not in metrics and metrics["ptq"]["accuracy"] == gold["accuracy"], metrics
    if exact:
        assert src["agreement"]["argmax"] >= 0.999, src
        assert abs(src["accuracy"] - gold["accuracy"]) <= 0.001, (src, gold)
        assert all(layer["max_lsb"] == 0 for layer in metrics["agreement"]["layers"].values()), metrics["agreement"]
    else:  # PTQ of a float model: a stated, measured difference
        assert src["agreement"]["argmax"] >= 0.9, src
        assert gold["accuracy"] >= src["accuracy"] - 0.05, (src, gold)
    res = subprocess.run(["make", "-C", str(project), "csim", "HLS_TOOL=gxx", f"N={N_SIM}"], capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f"{N_SIM}/{N_SIM} images bit-exact" in res.stdout + res.stderr


@pytest.mark.slow
def test_fine_tuning_starts_from_the_given_weights(data_env, tmp_path, monkeypatch):
    """epochs > 0: QAT from the given weights (one epoch keeps the accuracy near the source's; from random
    weights one epoch on 2,000 images would not get there)."""
    from hlsgen.config import config_from_dict
    from hlsgen.train import train_models

    model = train("float", data_env["x_train"], data_env["y_train"], 255, epochs=3)
    model.save(tmp_path / "m.h5")
    import yaml

    from hlsgen.config import quote_types
    from hlsgen.data import load_mnist

    raw = yaml.safe_load(quote_types(_import(tmp_path / "m.h5", tmp_path / "m.yaml").read_text()))
    raw["train"]["epochs"] = 1
    result = train_models(config_from_dict(raw), load_mnist(), verbose=0)
    m = result.metrics
    assert "qat" in m and m["golden"]["accuracy"] >= m["source"]["accuracy"] - 0.05, m


# ------------------------------------------------------------------------------ bad input

def _fails(tmp_path, model, weights=None, match=""):
    out = tmp_path / "bad.yaml"
    with pytest.raises(HlsgenError, match=match) as info:
        _import(model, out, weights=weights)
    message = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in message, message
    assert not out.exists() and not (tmp_path / "bad.h5").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bad")], "temporary files left"
    return message


def test_malformed_files_are_one_line_errors(data_env, tmp_path):
    model = train("float", data_env["x_train"][:200], data_env["y_train"][:200], 255, epochs=1)
    files = save_all(model, tmp_path, "m")
    whole = files["h5"][0].read_bytes()
    (tmp_path / "trunc.h5").write_bytes(whole[: len(whole) // 2])
    _fails(tmp_path, tmp_path / "trunc.h5", match="cannot read")
    (tmp_path / "torch.json").write_text(json.dumps({"graph": {"node": []}, "producer_name": "pytorch"}))
    _fails(tmp_path, tmp_path / "torch.json", tmp_path / "m.weights.h5", match="not a Keras model architecture")
    _fails(tmp_path, files["json"][0], match="--weights")
    other = train("batchnorm", data_env["x_train"][:200], data_env["y_train"][:200], 256, epochs=1)
    other.save_weights(tmp_path / "other.weights.h5")
    _fails(tmp_path, files["json"][0], tmp_path / "other.weights.h5", match="do not match")
    (tmp_path / "noise.h5").write_bytes(b"not a model at all")
    _fails(tmp_path, tmp_path / "noise.h5", match="not a Keras model file")
    _fails(tmp_path, tmp_path / "missing.h5", match="no such model file")


def test_unsupported_layers_and_arguments_name_the_layer(data_env, tmp_path):
    from hlsgen.keras_compat import keras

    L = keras.layers  # noqa: N806
    cases = {
        "lstm": (keras.Sequential([keras.Input((28, 28)), L.LSTM(4, name="rnn"), L.Dense(10, name="out")]),
                 "layer 'rnn' (LSTM): unsupported layer type"),
        "dilated": (keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(2, 3, dilation_rate=2, name="c"),
                                      L.Flatten(name="f"), L.Dense(10, name="d")]), "layer 'c' (Conv2D): dilation"),
        "tanh": (keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(name="f"), L.Dense(10, activation="tanh",
                                                                                            name="d")]),
                 "layer 'd' (Dense): activation 'tanh'"),
    }
    i = keras.Input((28, 28, 1))
    f = L.Flatten(name="f")(i)
    cases["branch"] = (keras.Model(i, L.Add(name="add")([L.Dense(10, name="a")(f), L.Dense(10, name="b")(f)])),
                       "layer 'add' (Add)")
    for key, (model, match) in cases.items():
        model.save(tmp_path / f"{key}.h5")
        message = _fails(tmp_path, tmp_path / f"{key}.h5", match=match.replace("(", r"\(").replace(")", r"\)"))
        assert len(message) < 300, message


def test_existing_output_is_refused_without_force(data_env, tmp_path):
    model = train("float", data_env["x_train"][:200], data_env["y_train"][:200], 255, epochs=1)
    model.save(tmp_path / "m.h5")
    (tmp_path / "out.yaml").write_text("keep me\n")
    with pytest.raises(HlsgenError, match="exists"):
        _import(tmp_path / "m.h5", tmp_path / "out.yaml")
    assert (tmp_path / "out.yaml").read_text() == "keep me\n"
    _import(tmp_path / "m.h5", tmp_path / "out.yaml", force=True)
    assert load_config(tmp_path / "out.yaml").train.input_scale == 255  # the default, stated in the file
    assert "not readable from the model" in (tmp_path / "out.yaml").read_text()
