"""``train.init: <model file>`` in the config: epochs 0 allowed only with it, input_scale, the file's digest
in the training digest (a changed file is retrained); every error one line naming the key."""

from __future__ import annotations

import copy

import pytest
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.errors import ConfigError


def _cfg(**train):
    raw = copy.deepcopy(REFERENCE)
    raw["train"].update(train)
    return config_from_dict(raw)


def test_init_model_file(tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(b"one")
    cfg = _cfg(init=str(path), epochs=0, input_scale=255)
    assert cfg.train.init_path == path and cfg.train.epochs == 0 and cfg.train.input_scale == 255
    assert cfg.resolved["train"]["init_sha256"] == cfg.train.init_digest
    before = cfg.training_digest()
    path.write_bytes(b"two")
    assert _cfg(init=str(path), epochs=0, input_scale=255).training_digest() != before
    assert "input_scale" not in _cfg().resolved["train"]  # other configs keep their digests


@pytest.mark.parametrize(("train", "message"), [
    ({"init": "flaot"}, r"^train\.init: 'flaot' is not one of float, scratch \(did you mean 'float'\?\)"),
    ({"init": "missing.h5"}, r"^train\.init: 'missing\.h5': no such file"),
    ({"init": 3}, r"^train\.init: expected float, scratch or the path of a Keras model file"),
    ({"epochs": 0}, r"^train\.epochs: must be >= 1, got 0"),
    ({"input_scale": 255}, r"^train\.input_scale: 255 applies to a model given by train\.init"),
    ({"input_scale": 100}, r"^train\.input_scale: expected 256 or 255"),
])
def test_bad_train_values(train, message):
    with pytest.raises(ConfigError, match=message) as info:
        _cfg(**train)
    assert "\n" not in str(info.value)
