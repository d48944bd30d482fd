"""The one place that decides the Keras flavour, before TensorFlow is imported.

hlsgen needs Keras 2 (QKeras and hls4ml's Keras-2 converter break on Keras 3). TensorFlow 2.14 ships
it as ``tf.keras``. From TensorFlow 2.16 ``tf.keras`` is Keras 3 unless ``TF_USE_LEGACY_KERAS=1`` and
the ``tf_keras`` package are installed, in which case ``tf.keras`` is ``tf_keras`` (Keras 2); QKeras
imports ``tensorflow.keras`` and so gets the same. Every hlsgen module that needs TensorFlow or Keras
imports them from here; importing this module imports TensorFlow.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # read by TensorFlow >= 2.16 at import; 2.14 ignores it

import tensorflow as tf  # noqa: E402

keras = tf.keras

__all__ = ["keras", "tf"]
