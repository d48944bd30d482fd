"""Training (imports TensorFlow and QKeras): QKeras quantizers (:mod:`.quantizers`), float and QAT
models and their training (:mod:`.training`), trained weights to integer codes (:mod:`.codes`), PTQ
accuracy through the golden model (:mod:`.ptq`) and reuse of a finished training (:mod:`.cache`)."""

import importlib

# Lazy (PEP 562): ``hlsgen.train.cache`` and friends must not load TensorFlow just by being imported;
# the names below import :mod:`.training` (and so TensorFlow) on first use.
_TRAINING = ("QKERAS_LABELS", "TrainResult", "agreement", "build_float_model", "build_qkeras_model",
             "fine_tune", "format_metrics", "given_float_model", "init_from", "load_init_model", "load_trained",
             "save_model", "source_predictions", "train_command", "train_float", "train_models", "write_training")
__all__ = list(_TRAINING)


def __getattr__(name: str):
    if name in _TRAINING:
        return getattr(importlib.import_module("hlsgen.train.training"), name)
    raise AttributeError(f"module 'hlsgen.train' has no attribute {name!r}")
