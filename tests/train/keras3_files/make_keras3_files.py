"""Write a Keras 3 float model of the seed's network, saved by Keras 3 itself as ``seed.keras`` and ``seed.h5``,
with its own predictions (``predictions.npz``): what tests/train/test_keras3_files.py imports on every stack.

    python tests/train/keras3_files/make_keras3_files.py OUTPUT_DIR [EPOCHS]

Needs the standalone ``keras`` 3 package (the Keras 3 stack, requirements-keras3.lock; or the 3.12 stack's
unused keras 3.15.1) and $HLSGEN_DATA (the MNIST npz). It does not import hlsgen: the files are what a user's
own Keras 3 script writes. The committed files were made with keras 3.15.1 + TensorFlow 2.21.0, 4 epochs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_USE_LEGACY_KERAS"] = "0"

import keras  # noqa: E402
import numpy as np  # noqa: E402

IMAGES = 64  # test images whose predictions are stored


def main() -> None:
    out = Path(sys.argv[1])
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    assert keras.__version__.startswith("3."), keras.__version__
    with np.load(os.environ["HLSGEN_DATA"]) as f:
        x_train, y_train, x_test = f["x_train"], f["y_train"], f["x_test"]
    keras.utils.set_random_seed(5)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(2, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="fc1"),
        layers.Dropout(0.5, name="drop1"),
        layers.Dense(10, activation="softmax", name="fc2"),
    ], name="seed_keras3")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = x_train[..., None].astype(np.float32) / 255  # as a user scales: pixel / 255
    model.fit(x, y_train, batch_size=128, epochs=epochs, verbose=2)
    out.mkdir(parents=True, exist_ok=True)
    # saved as a user's script saves it: the optimizer's state too (which hlsgen does not read)
    model.save(out / "seed.keras")
    model.save(out / "seed.h5")
    probe = x_test[:IMAGES, ..., None].astype(np.float32) / 255
    np.savez_compressed(out / "predictions.npz", images=x_test[:IMAGES], predictions=model.predict(probe, verbose=0),
                        keras=np.array(keras.__version__))


if __name__ == "__main__":
    main()
