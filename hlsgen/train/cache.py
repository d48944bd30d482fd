"""Reuse of a finished training, one rule for every command (build, profile, prove, search): a ``train/``
folder is reused when it holds a full training of the same config on the same data (same training digest,
epochs and data digest). What is reused is read back the same way everywhere: the integer codes lowered
again with the *current* config (a cached ``spec.json`` may predate a change that is not part of the
training, such as ``hls.softmax``), and the models built from the config with only their weights read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen.config import Config
from hlsgen.data import Mnist
from hlsgen.spec import HardwareSpec

QKERAS_LABELS = "qkeras_test_labels.txt"  # QKeras' predicted class of every test image, saved once
_FILES = ("spec.json", "weights.npz", "qat_model.h5", "float_model.h5", QKERAS_LABELS)


@dataclass(frozen=True)
class CachedTraining:
    """A finished training of ``cfg`` found in ``directory`` (see :func:`load`)."""

    directory: Path
    cfg: Config
    metrics: dict[str, Any]

    def codes(self):
        """The trained integer weight codes ``{layer: (weight, bias)}``."""
        return HardwareSpec.load(self.directory).codes()

    def spec(self) -> HardwareSpec:
        """The trained codes lowered with the current config: the hardware as configured now."""
        from hlsgen.spec.lower import build_spec

        return build_spec(self.cfg, self.codes())

    def qkeras_labels(self) -> np.ndarray:
        return np.loadtxt(self.directory / QKERAS_LABELS, dtype=np.int64, ndmin=1)

    def models(self):
        """``(qat_model, float_model)`` built from the config, the trained weights read in (TensorFlow)."""
        from hlsgen.train.training import load_trained

        return load_trained(self.directory, self.cfg)


def load(train_dir: Path, cfg: Config, epochs: int, data: Mnist) -> CachedTraining | None:
    """The training in ``train_dir`` when it is a full training of ``cfg`` for ``epochs`` on ``data`` (same
    training digest, epochs and :meth:`Mnist.digest`: other images or labels at the same path, or another
    file, train again), else None."""
    try:
        metrics = json.loads((train_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if not (isinstance(metrics, dict) and metrics.get("training_digest") == cfg.training_digest()
            and metrics.get("epochs") == epochs and metrics.get("data_digest") == data.digest()
            and all((train_dir / f).is_file() for f in _FILES)):
        return None
    return CachedTraining(train_dir, cfg, metrics)
