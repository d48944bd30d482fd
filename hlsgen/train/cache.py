"""Reuse of a finished training: a project's ``train/`` folder is reused when it holds a full
training of the same config on the same data (same training digest, epochs and data digest)."""

from __future__ import annotations

import json
from pathlib import Path

from hlsgen.config import Config
from hlsgen.data import Mnist

QKERAS_LABELS = "qkeras_test_labels.txt"  # QKeras' predicted class of every test image, saved once


def cached_training(train_dir: Path, cfg: Config, epochs: int, data: Mnist) -> bool:
    """True when ``train_dir`` holds a full training of this config on ``data`` (same training digest,
    epochs and :meth:`Mnist.digest`: other images or labels at the same path, or another file, train again)."""
    try:
        metrics = json.loads((train_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(metrics, dict) and metrics.get("training_digest") == cfg.training_digest()
            and metrics.get("epochs") == epochs and metrics.get("data_digest") == data.digest()
            and all((train_dir / f).exists() for f in ("spec.json", "qat_model.h5", QKERAS_LABELS)))
