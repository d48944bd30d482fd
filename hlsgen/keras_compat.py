"""The one place that decides the Keras flavour, before TensorFlow is imported.

hlsgen needs Keras 2 (QKeras and hls4ml's Keras-2 converter break on Keras 3). TensorFlow 2.14 ships
it as ``tf.keras``. From TensorFlow 2.16 ``tf.keras`` is Keras 3 unless ``TF_USE_LEGACY_KERAS=1`` and
the ``tf_keras`` package are installed, in which case ``tf.keras`` is ``tf_keras`` (Keras 2); QKeras
imports ``tensorflow.keras`` and so gets the same. Every hlsgen module that needs TensorFlow or Keras
imports them from here; importing this module imports TensorFlow. The stacks (Python, TensorFlow,
Keras 2 package) are listed in docs/stacks.md.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # read by TensorFlow >= 2.16 at import; 2.14 ignores it

if sys.version_info >= (3, 12):
    # tensorflow-model-optimization (QKeras imports it) imports distutils, which Python 3.12 dropped:
    # setuptools provides it, through a .pth file that a venv's site-packages runs but a site-packages
    # added by another .pth line does not (tests/test_packaging.py); importing setuptools installs it.
    try:
        import distutils  # noqa: F401
    except ImportError:
        import setuptools  # noqa: F401

import tensorflow as tf  # noqa: E402

keras = tf.keras


# tf.keras is a lazy alias without __version__; the package its classes come from has one.
KERAS_PACKAGE = keras.layers.Layer.__module__.split(".")[0]
"""The package ``keras`` is: ``keras`` (2.14, TensorFlow 2.14) or ``tf_keras`` (TensorFlow >= 2.16 with
TF_USE_LEGACY_KERAS=1); its internals (``<package>.src...``) are to be imported by this name."""
KERAS_VERSION = str(__import__(KERAS_PACKAGE).__version__)
"""The version of the Keras that ``keras`` is: 2.x on every supported stack (docs/stacks.md)."""

__all__ = ["KERAS_PACKAGE", "KERAS_VERSION", "keras", "tf"]
