"""The one place that decides the Keras flavour, before TensorFlow is imported.

The installed QKeras decides. **QKeras 0.9.0** (``requirements.lock``, ``requirements-py312.lock``) is
built on Keras 2: TensorFlow 2.14 ships it as ``tf.keras``; from TensorFlow 2.16 ``tf.keras`` is Keras 3
unless ``TF_USE_LEGACY_KERAS=1`` and the ``tf_keras`` package are installed, in which case ``tf.keras``
is ``tf_keras`` (Keras 2), and QKeras, which imports ``tensorflow.keras``, gets the same.
**qkeras-v3** (``requirements-keras3.lock``, the distribution ``qkeras-v3``, module ``qkeras``) is built
on the standalone ``keras`` package, Keras 3, with TensorFlow as its backend: then ``keras`` here is
that package (``KERAS_BACKEND=tensorflow``, ``TF_USE_LEGACY_KERAS=0``, whatever the environment said:
a model of another Keras would not run QKeras' layers). Every hlsgen module that needs TensorFlow or
Keras imports them from here; importing this module imports TensorFlow. The stacks are listed in
docs/stacks.md.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata


def _qkeras_is_v3() -> bool:
    """Whether the installed QKeras is qkeras-v3 (Keras 3); it installs the module ``qkeras`` as QKeras
    0.9.0 does, so only the distribution's name tells them apart, and it is read without importing it."""
    try:
        metadata.distribution("qkeras-v3")
    except metadata.PackageNotFoundError:
        return False
    return True


KERAS3 = _qkeras_is_v3()
"""True on the Keras 3 stack (qkeras-v3 installed): ``keras`` is the standalone Keras 3 package."""

if KERAS3:
    os.environ["KERAS_BACKEND"] = "tensorflow"  # the only backend the stack installs; QKeras' ops need it
    os.environ["TF_USE_LEGACY_KERAS"] = "0"  # tf.keras is then Keras 3 too: one Keras in the process
else:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # read by TensorFlow >= 2.16 at import; 2.14 ignores it

if sys.version_info >= (3, 12) and not KERAS3:
    # tensorflow-model-optimization (QKeras 0.9.0 imports it) imports distutils, which Python 3.12
    # dropped: setuptools provides it, through a .pth file that a venv's site-packages runs but a
    # site-packages added by another .pth line does not (tests/test_packaging.py); importing setuptools
    # installs it.
    try:
        import distutils  # noqa: F401
    except ImportError:
        import setuptools  # noqa: F401

import tensorflow as tf  # noqa: E402

if KERAS3:
    import keras  # noqa: E402
else:
    keras = tf.keras


# tf.keras is a lazy alias without __version__; the package its classes come from has one.
KERAS_PACKAGE = keras.layers.Layer.__module__.split(".")[0]
"""The package ``keras`` is: ``keras`` (2.14 with TensorFlow 2.14; 3.x on the Keras 3 stack) or
``tf_keras`` (TensorFlow >= 2.16 with TF_USE_LEGACY_KERAS=1); its internals (``<package>.src...``) are
to be imported by this name."""
KERAS_VERSION = str(__import__(KERAS_PACKAGE).__version__)
"""The version of the Keras that ``keras`` is: 2.x, or 3.x on the Keras 3 stack (docs/stacks.md)."""

__all__ = ["KERAS3", "KERAS_PACKAGE", "KERAS_VERSION", "keras", "tf"]
