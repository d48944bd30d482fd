"""The training cache sees its inputs (issue 26, defect 5): a training is reused only for the same config,
epochs and data -- other images or labels, at the same path or another, are trained again."""

from __future__ import annotations

import json

import numpy as np
from specs import REFERENCE

from hlsgen.config import config_from_dict
from hlsgen.data import Mnist
from hlsgen.train.cache import QKERAS_LABELS, load


def data(seed: int = 0, shift: int = 0) -> Mnist:
    rng = np.random.default_rng(seed)
    return Mnist(rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), (np.arange(20, dtype=np.uint8) + shift) % 10,
                 rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.arange(5, dtype=np.uint8), "mnist.npz")


def train_dir(tmp_path, cfg, epochs: int, d: Mnist):
    for name in ("spec.json", "weights.npz", "qat_model.h5", "float_model.h5", QKERAS_LABELS):
        (tmp_path / name).write_text("x")
    (tmp_path / "metrics.json").write_text(json.dumps({"training_digest": cfg.training_digest(), "epochs": epochs,
                                                       "data_digest": d.digest()}))
    return tmp_path


def test_same_config_epochs_and_data_are_reused(tmp_path):
    cfg = config_from_dict(REFERENCE)
    path = train_dir(tmp_path, cfg, 12, data())
    assert load(path, cfg, 12, data()) is not None
    assert load(path, cfg, 11, data()) is None


def test_other_labels_or_images_are_not(tmp_path):
    cfg = config_from_dict(REFERENCE)
    path = train_dir(tmp_path, cfg, 12, data())
    assert load(path, cfg, 12, data(shift=1)) is None  # every label + 1
    changed = data()
    changed.y_train[3] = (changed.y_train[3] + 1) % 10  # one label
    assert load(path, cfg, 12, changed) is None
    assert load(path, cfg, 12, data(seed=1)) is None  # other images


def test_a_training_without_a_data_digest_is_not_reused(tmp_path):
    """Trainings of an older hlsgen recorded only the data's path: they are trained again, not trusted."""
    cfg = config_from_dict(REFERENCE)
    path = train_dir(tmp_path, cfg, 12, data())
    metrics = json.loads((path / "metrics.json").read_text())
    del metrics["data_digest"]
    (path / "metrics.json").write_text(json.dumps(metrics))
    assert load(path, cfg, 12, data()) is None
