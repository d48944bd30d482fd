"""Small models "trained elsewhere" for the import tests and bench/bench_import.py: a plain Keras CNN like the
reference, the same with BatchNormalization, a QKeras CNN (quantized_bits alpha=1, quantized_relu) and a
Dense-only QKeras model with a quantized_po2 kernel; trained on pixel / ``scale``, seeded."""

from __future__ import annotations

import numpy as np

from hlsgen.keras_compat import keras  # before QKeras

KINDS = ("float", "batchnorm", "qkeras", "po2")


def make_model(kind: str, fc_units: int = 32):
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_po2, quantized_relu

    L = keras.layers  # noqa: N806
    keras.utils.set_random_seed(0)
    if kind == "float":  # the reference CNN (fewer fc1 units)
        return keras.Sequential([
            keras.Input((28, 28, 1)), L.Conv2D(2, 3, activation="relu", name="conv1"), L.MaxPooling2D(2, name="pool1"),
            L.Flatten(name="flatten"), L.Dense(fc_units, activation="relu", name="fc1"), L.Dropout(0.5, name="drop1"),
            L.Dense(10, activation="softmax", name="fc2")], name="reference")
    if kind == "batchnorm":  # functional, batch norms folded into conv1 and fc1
        i = keras.Input((28, 28, 1))
        h = L.Conv2D(4, 3, name="conv1")(i)
        h = L.BatchNormalization(name="bn1")(h)
        h = L.Activation("relu", name="act1")(h)
        h = L.AveragePooling2D(2, name="pool1")(h)
        h = L.Flatten(name="flatten")(h)
        h = L.Dense(fc_units, use_bias=False, name="fc1")(h)
        h = L.BatchNormalization(scale=False, name="bn2")(h)
        h = L.ReLU(name="relu2")(h)
        return keras.Model(i, L.Dense(10, activation="softmax", name="fc2")(h), name="with_bn")
    if kind == "qkeras":
        def qb():
            return quantized_bits(6, 0, alpha=1)
        return keras.Sequential([
            keras.Input((28, 28, 1)), QActivation(quantized_bits(8, 0, alpha=1), name="in_q"),
            QConv2D(4, 3, kernel_quantizer=qb(), bias_quantizer=qb(), name="conv1"),
            QActivation(quantized_relu(8, 3), name="relu1"), L.MaxPooling2D(2, name="pool1"), L.Flatten(name="flatten"),
            QDense(fc_units, kernel_quantizer=qb(), bias_quantizer=qb(), activation="quantized_relu(8,3)", name="fc1"),
            QDense(10, kernel_quantizer=qb(), bias_quantizer=qb(), name="fc2"),
            L.Activation("softmax", name="softmax")], name="qmodel")
    if kind == "po2":  # flat input, logits out
        i = keras.Input((784,))
        h = QDense(fc_units, kernel_quantizer=quantized_po2(4), bias_quantizer=quantized_bits(8, 3, alpha=1),
                   name="fc1")(i)
        h = QActivation("quantized_relu(8,3)", name="relu1")(h)
        o = QDense(10, kernel_quantizer=quantized_bits(8, 1, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1),
                   name="fc2")(h)
        return keras.Model(i, o, name="po2_dense")
    raise ValueError(kind)


def train(kind: str, x: np.ndarray, y: np.ndarray, scale: float, epochs: int = 2, fc_units: int = 32):
    """The model of ``kind`` fitted on uint8 images ``x`` / ``scale`` (adam, batch 64)."""
    model = make_model(kind, fc_units)
    xs = np.asarray(x, np.float32) / np.float32(scale)
    xs = xs.reshape((len(xs), *model.input_shape[1:]))
    logits = kind == "po2"
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=logits), metrics=["accuracy"])
    model.fit(xs, np.asarray(y, np.int64), epochs=epochs, batch_size=64, verbose=0)
    return model


def save_all(model, directory, stem: str) -> dict[str, tuple]:
    """The model in every format the importer reads: ``{format: (model path, weights path or None)}``."""
    import warnings

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(directory / f"{stem}.h5")
        out["h5"] = (directory / f"{stem}.h5", None)
        model.save(directory / f"{stem}.keras")  # QKeras too: Keras cannot load it back, hlsgen reads it
        out["keras"] = (directory / f"{stem}.keras", None)
        (directory / f"{stem}.json").write_text(model.to_json())
        model.save_weights(directory / f"{stem}.weights.h5")
        out["json"] = (directory / f"{stem}.json", directory / f"{stem}.weights.h5")
    return out
