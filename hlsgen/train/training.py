"""QKeras quantization-aware training from a :class:`~hlsgen.config.Config`, with float and PTQ baselines.

The QAT model's quantizers come from :mod:`hlsgen.train.quantizers`; this module builds the models, trains
them, measures float, naive-PTQ, QAT and golden accuracy, and writes and reads ``train/``.
"""

# ruff: noqa: I001  (hlsgen.keras_compat must come before QKeras: it decides the Keras flavour)
from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hlsgen.keras_compat import keras, tf  # before QKeras, which imports TensorFlow
from qkeras import QActivation, QConv2D, QDense

from hlsgen import golden
from hlsgen.config import Config
from hlsgen.data import Mnist, input_codes, load_for, to_float
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.derived_names import INPUT_QUANTIZER, quantizer, relu_stage, softmax_stage
from hlsgen.outdir import atomic_output_dir, check_replaceable
from hlsgen.spec import HardwareSpec
from hlsgen.spec.lower import build_spec
from hlsgen.train.cache import QKERAS_LABELS
from hlsgen.train.codes import export_spec, given_weights, ptq_codes, set_given_weights
from hlsgen.train.ptq import PtqEvaluator
from hlsgen.train.quantizers import (
    QuantizerMismatchWarning,
    make_quantizer,
    quantized_outputs,
    quantizer_report,
)



# ------------------------------------------------------------------------------ models

def build_qkeras_model(cfg: Config) -> keras.Model:
    """The QAT model: QConv2D/QDense with weight and bias quantizers, a ``<layer>_q`` QActivation after
    every layer that produces a new type, ``input_q`` on the input. Weights are initialised from
    ``cfg.seed``. Warns (once per layer) where a quantizer is not bit exact with the hardware."""
    return _build(cfg, quantized=True)


def build_float_model(cfg: Config) -> keras.Model:
    """The same network in plain Keras (float32), layer names as in the config."""
    return _build(cfg, quantized=False)


def _build(cfg: Config, quantized: bool) -> keras.Model:
    keras.utils.set_random_seed(cfg.seed)
    report = quantizer_report(cfg) if quantized else {}
    for where, diffs in report.items():
        warnings.warn(f"{where}: QKeras cannot express this exactly: {'; '.join(diffs)}",
                      QuantizerMismatchWarning, stacklevel=3)
    inp = keras.Input(cfg.input_shape, name="input")
    x = inp
    if quantized:
        x = QActivation(make_quantizer(cfg.input_type), name=INPUT_QUANTIZER)(x)

    def quantize(x, name: str, t: FixedType, relu: bool = False):
        if relu and t.signed:
            x = keras.layers.Activation("relu", name=relu_stage(name))(x)
        return QActivation(make_quantizer(t, relu=relu, clip=True), name=quantizer(name))(x)

    layers = list(cfg.layers)
    for i, layer in enumerate(layers):
        a, name = layer.args, layer.name
        prec = cfg.precision.get(name)
        if layer.has_weights:
            common = dict(use_bias=a["use_bias"], name=name)
            if layer.type == "Conv2D":
                common.update(filters=a["filters"], kernel_size=tuple(a["kernel_size"]),
                              strides=tuple(a["strides"]), padding=a["padding"])
            else:
                common.update(units=a["units"])
            if not quantized:
                cls = keras.layers.Conv2D if layer.type == "Conv2D" else keras.layers.Dense
                x = cls(activation=layer.activation, **common)(x)
                continue
            cls = QConv2D if layer.type == "Conv2D" else QDense
            x = cls(kernel_quantizer=make_quantizer(prec.weight), bias_quantizer=make_quantizer(prec.bias),
                    **common)(x)
            if i + 1 < len(layers) and layers[i + 1].type == "BatchNormalization":
                continue  # its quantizer goes after the batch norm, which folds into this layer
            x = quantize(x, name, prec.result, relu=layer.activation == "relu")
            if layer.activation == "softmax":
                x = keras.layers.Activation("softmax", name=softmax_stage(name))(x)
        elif layer.type == "BatchNormalization":
            x = keras.layers.BatchNormalization(momentum=a["momentum"], epsilon=a["epsilon"], name=name)(x)
            if quantized:
                prev = layers[i - 1].name
                x = quantize(x, prev, cfg.precision[prev].result)
        elif layer.type in ("MaxPooling2D", "AveragePooling2D"):
            cls = getattr(keras.layers, layer.type)
            x = cls(pool_size=tuple(a["pool_size"]), strides=tuple(a["strides"]), padding=a["padding"],
                    name=name)(x)
            if quantized and (layer.type == "AveragePooling2D" or prec.result != prec.input):
                x = quantize(x, name, prec.result)
        elif layer.type == "Flatten":
            x = keras.layers.Flatten(name=name)(x)
        elif layer.type == "Dropout":
            x = keras.layers.Dropout(a["rate"], name=name)(x)
        else:  # Activation
            x = keras.layers.Activation(layer.activation, name=name)(x)
            if quantized and layer.activation != "softmax":
                x = quantize(x, name, prec.result, relu=layer.activation == "relu")
    return keras.Model(inp, x, name=f"{cfg.name}_{'qat' if quantized else 'float'}")


def _ends_in_softmax(cfg: Config) -> bool:
    return any(layer.activation == "softmax" for layer in cfg.layers)


def _optimizer(cfg: Config):
    cls = {"adadelta": keras.optimizers.Adadelta, "adam": keras.optimizers.Adam,
           "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[cfg.train.optimizer]
    return cls(learning_rate=cfg.train.learning_rate)


# ------------------------------------------------------------------------------ training and metrics

@dataclass
class TrainResult:
    """The trained models, the exported QAT spec and the metrics (as written to metrics.json)."""

    qat_model: keras.Model
    float_model: keras.Model
    spec: HardwareSpec
    metrics: dict[str, Any]
    qkeras_labels: np.ndarray | None = None  # QKeras' predicted class of every test image
    golden_output: np.ndarray | None = None  # the golden model's output codes of ``spec`` on every test image


def init_from(model: keras.Model, source: keras.Model, cfg: Config) -> None:
    """Copy every Conv2D/Dense and BatchNormalization's weights of ``source`` (a float or QAT model of a
    config with the same layers) into ``model``, layer by layer name."""
    for layer in cfg.layers:
        if layer.has_weights or layer.type == "BatchNormalization":
            model.get_layer(layer.name).set_weights(source.get_layer(layer.name).get_weights())


def _fit(cfg: Config, quantized: bool, x: np.ndarray, y: np.ndarray, epochs: int, verbose: int,
         init: keras.Model | None = None):
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    model = _build(cfg, quantized)
    if init is not None:
        init_from(model, init, cfg)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=not _ends_in_softmax(cfg))
    model.compile(optimizer=_optimizer(cfg), loss=loss, metrics=["accuracy"])
    start = time.perf_counter()
    # a progress bar only on a terminal: in a log (CI, a file) one line per epoch
    fit_verbose = 2 if verbose and not sys.stdout.isatty() else verbose
    hist = model.fit(x, y, batch_size=cfg.train.batch_size, epochs=epochs, shuffle=True, verbose=fit_verbose)
    seconds = time.perf_counter() - start
    if verbose:
        print(f"{'qat' if quantized else 'float'}: {epochs} epoch{'s' * (epochs != 1)} on {len(x)} images "
              f"in {seconds:.1f} s, "
              f"loss {hist.history['loss'][-1]:.4f}, train accuracy {hist.history['accuracy'][-1]:.4f}")
    return model, seconds


def fine_tune(cfg: Config, data: Mnist, init: keras.Model, epochs: int, verbose: int = 0) -> keras.Model:
    """Quantization-aware training of ``cfg`` starting from the weights of ``init`` (a trained float
    model of a config with the same layers), for ``epochs`` epochs, seeded as :func:`train_models`."""
    x, y = to_float(data.x_train), data.y_train.astype(np.int64)
    return _fit(cfg, True, x, y, epochs, verbose, init=init)[0]


def train_float(cfg: Config, data: Mnist, epochs: int | None = None, verbose: int = 0) -> keras.Model:
    """The float model alone, trained exactly as :func:`train_models` trains it (same seed and budget); with
    ``train.init: <model file>`` the float model holding that file's weights (nothing is trained)."""
    if cfg.train.init_path is not None:
        return given_float_model(cfg, load_init_model(cfg))
    x, y = to_float(data.x_train), data.y_train.astype(np.int64)
    return _fit(cfg, False, x, y, epochs or cfg.train.epochs, verbose)[0]


def load_init_model(cfg: Config) -> keras.Model:
    """The Keras/QKeras model named by ``train.init`` (a whole model, .h5 or .keras), built by hlsgen from the
    file's checked architecture and h5py-read weights (:mod:`hlsgen.train.modelfile`): nothing stored in the
    file runs. Errors are one line starting with ``train.init: <path>``."""
    from hlsgen.train.modelfile import load_model_file

    path = cfg.train.init_path
    return load_model_file(path, where=f"train.init: {path}")


def given_float_model(cfg: Config, source: keras.Model) -> keras.Model:
    """hlsgen's float model of ``cfg`` holding ``source``'s weights (:func:`~hlsgen.train.codes.given_weights`:
    quantized kernels as the source computes with them, the 256/255 input fold)."""
    model = _build(cfg, quantized=False)
    set_given_weights(cfg, model, given_weights(cfg, source))
    return model


def source_predictions(cfg: Config, source: keras.Model, images: np.ndarray) -> np.ndarray:
    """``source``'s outputs on uint8 ``images`` scaled as it was trained (pixel / ``train.input_scale``),
    reshaped to its own input shape."""
    x = np.asarray(images, dtype=np.float32) / np.float32(cfg.train.input_scale)
    x = x.reshape((len(x), *source.input_shape[1:]))
    return source.predict(x, batch_size=1000, verbose=0)


def agreement(cfg: Config, qat_model: keras.Model, spec: HardwareSpec, images: np.ndarray,
              batch_size: int = 1000) -> dict[str, Any]:
    """QKeras vs golden on ``images``: argmax agreement, and per quantizer the largest |difference| in LSBs
    between its output and the golden stage of the same type."""
    return _agreement_and_labels(cfg, qat_model, spec, images, batch_size)[0]


def _agreement_and_labels(cfg: Config, qat_model: keras.Model, spec: HardwareSpec, images: np.ndarray,
              batch_size: int = 1000) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """:func:`agreement`, the QKeras and golden labels of every image, and the golden output codes (the build's
    expected outputs: the golden model runs once)."""
    outs = quantized_outputs(cfg)
    probe = keras.Model(qat_model.inputs, [qat_model.get_layer(n).output for n in outs] + [qat_model.output])
    preds = probe.predict(to_float(images), batch_size=batch_size, verbose=0)
    codes = input_codes(cfg.input_type, images)
    result = golden.run(spec, codes)
    layers = {}
    for (q_name, (stage, t)), q in zip(outs.items(), preds[:-1], strict=True):
        gold = codes if stage == "input" else result.trace[stage]
        scaled = q.astype(np.float64) / t.lsb
        rounded = np.rint(scaled)
        diff = np.abs(rounded - gold.reshape(rounded.shape))
        layers[q_name] = {"stage": stage, "type": str(t), "max_lsb": int(diff.max(initial=0)),
                          "mismatches": int(np.count_nonzero(diff)),
                          "off_grid": int(np.count_nonzero(scaled != rounded)), "values": int(diff.size)}
    qk, gd = golden.labels(preds[-1]), golden.labels(result.output)
    return {"argmax": float(np.mean(qk == gd)), "images": len(images), "layers": layers}, qk, gd, result.output


def train_models(cfg: Config, data: Mnist, epochs: int | None = None, n_train: int | None = None,
                 n_test: int | None = None, verbose: int = 1) -> TrainResult:
    """Train the float and the QAT model with the same budget (seeded, deterministic on CPU), then measure
    float, naive-PTQ, QAT and golden accuracy on the test set and the QKeras/golden agreement."""
    data = data.subset(n_train, n_test)
    epochs = cfg.train.epochs if epochs is None else epochs
    x, y = to_float(data.x_train), data.y_train.astype(np.int64)
    source = load_init_model(cfg) if cfg.train.init_path is not None else None
    if source is not None:  # a given model (hlsgen import): its weights, nothing trained in float
        float_model, t_float = given_float_model(cfg, source), 0.0
    else:
        float_model, t_float = _fit(cfg, False, x, y, epochs, verbose)
    if source is not None and epochs == 0:  # PTQ: the given weights rounded into the types
        qat_model, t_qat = _build(cfg, quantized=True), 0.0
        init_from(qat_model, float_model, cfg)
    else:
        init = float_model if cfg.train.init != "scratch" else None  # QAT fine-tunes the float (given) weights
        qat_model, t_qat = _fit(cfg, True, x, y, epochs, verbose, init=init)

    start = time.perf_counter()
    y_test = data.y_test.astype(np.int64)
    float_acc = float(np.mean(golden.labels(float_model.predict(to_float(data.x_test), batch_size=1000, verbose=0))
                              == y_test))
    ptq_acc = PtqEvaluator(float_model, data.x_test, y_test).accuracy(cfg)
    # PTQ folds a batch norm in float64 and rounds once (export_spec would round the QKeras weights, fold, round)
    trained = source is None or epochs > 0
    spec = export_spec(cfg, qat_model) if trained else build_spec(cfg, ptq_codes(cfg, float_model))
    agree, qk_labels, gold_labels, gold_output = _agreement_and_labels(cfg, qat_model, spec, data.x_test)
    metrics = {
        "float": {"accuracy": float_acc},
        "ptq": {"accuracy": ptq_acc},
        **({"qat": {"accuracy": float(np.mean(qk_labels == y_test))}} if trained else {}),
        "golden": {"accuracy": float(np.mean(gold_labels == y_test))},
        "test_images": len(data.x_test),
        "train_images": len(data.x_train),
        "epochs": epochs,
        "seconds": {"float_train": round(t_float, 2), "qat_train": round(t_qat, 2),
                    "evaluate": round(time.perf_counter() - start, 2)},
        "agreement": agree,
        "quantizer_mismatches": quantizer_report(cfg),
        "config_digest": cfg.digest(),
        "training_digest": cfg.training_digest(),
        "data": data.source,
        "data_digest": data.digest(),
    }
    if source is not None:
        src_labels = golden.labels(source_predictions(cfg, source, data.x_test))
        metrics["source"] = {"accuracy": float(np.mean(src_labels == y_test)), "file": str(cfg.train.init),
                             "input_scale": cfg.train.input_scale,
                             "agreement": {"argmax": float(np.mean(src_labels == gold_labels)),
                                           "images": len(data.x_test)}}
    return TrainResult(qat_model, float_model, spec, metrics, qk_labels, gold_output)


# ------------------------------------------------------------------------------ command and files

def train_command(cfg: Config, output: Path | None = None, epochs: int | None = None,
                  force: bool = False, verbose: int = 1) -> dict[str, Any]:
    """``hlsgen train``: train, print the accuracy table and write ``<output>/train/`` atomically
    (qat_model.h5, float_model.h5, spec.json + weights.npz, config.yaml, metrics.json)."""
    target = Path(output or cfg.output_dir) / "train"
    check_replaceable(target, force)  # fail before spending minutes on training
    data = load_for(cfg.data.path, cfg.input_shape)
    start = time.perf_counter()
    result = train_models(cfg, data, epochs=epochs, verbose=verbose)
    metrics = result.metrics
    metrics["seconds"]["total"] = round(time.perf_counter() - start, 2)
    with atomic_output_dir(target, force=force, kind="train") as tmp:
        write_training(tmp, cfg, result)
    print(format_metrics(metrics))
    print(f"wrote {target}")
    return metrics


def write_training(directory: Path, cfg: Config, result: TrainResult) -> None:
    """Write the trained models, the exported spec, the resolved config and metrics.json."""
    directory.mkdir(parents=True, exist_ok=True)
    save_model(result.qat_model, directory / "qat_model.h5")
    save_model(result.float_model, directory / "float_model.h5")
    result.spec.save(directory)
    (directory / "config.yaml").write_text(cfg.resolved_yaml())
    (directory / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    if result.qkeras_labels is not None:
        # saved once: TensorFlow's float32 sums may land a logit on the other side of a rounding
        # boundary in another process, so recomputing them would make builds differ
        np.savetxt(directory / QKERAS_LABELS, result.qkeras_labels, fmt="%d")


def format_metrics(metrics: dict[str, Any]) -> str:
    """The four accuracies and the agreement as a small text table."""
    what = {"source": f"the given model (train.init), pixel/{metrics.get('source', {}).get('input_scale')}",
            "float": "Keras float32", "ptq": "float weights rounded into the types, golden model",
            "qat": "QKeras quantization-aware", "golden": "exported QAT spec, golden model (= hardware)"}
    if "source" in metrics and "qat" not in metrics:
        what["golden"] = "the given weights rounded into the types (PTQ), golden model (= hardware)"
    lines = [f"{'model':<8}{'accuracy':>9}  what"]
    lines += [f"{k:<8}{metrics[k]['accuracy']:>9.4f}  {v}" for k, v in what.items() if k in metrics]
    agree = metrics["agreement"]
    worst = ", ".join(f"{n} {d['max_lsb']}" for n, d in agree["layers"].items())
    lines.append(f"QKeras vs golden: argmax agrees on {agree['argmax']:.4f} of {agree['images']} test "
                 f"images; max |diff| in LSBs: {worst}")
    if "source" in metrics:
        src = metrics["source"]["agreement"]
        lines.append(f"given model vs golden: argmax agrees on {src['argmax']:.4f} of {src['images']} test images")
    return "\n".join(lines)


def save_model(model: keras.Model, path: Path) -> None:
    """HDF5 without optimizer state (what :func:`load_trained` reads); Keras' legacy-format and QKeras'
    quantizer-serialization notices are silenced, they are expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HDF5 file.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*keras.constraints.serialize.*", category=UserWarning)
        model.save(path, include_optimizer=False)


def load_trained(directory: str | Path, cfg: Config) -> tuple[keras.Model, keras.Model]:
    """``(qat_model, float_model)`` from a ``train/`` directory written by :func:`train_command` (or its
    parent output directory): both built by hlsgen from ``cfg``, their weights read from ``qat_model.h5`` /
    ``float_model.h5``. Only the weight arrays of those files are read (Keras' ``load_weights``): a model
    configuration stored in them, which a Keras loader would deserialize (a Lambda layer's code, a custom
    object), is never looked at."""
    directory = Path(directory)
    if not (directory / "qat_model.h5").exists() and (directory / "train" / "qat_model.h5").exists():
        directory = directory / "train"
    qat, flt = build_qkeras_model(cfg), build_float_model(cfg)
    for model, name in ((qat, "qat_model.h5"), (flt, "float_model.h5")):
        try:
            model.load_weights(str(directory / name))
        except (OSError, ValueError, KeyError) as err:
            raise HlsgenError(f"{directory / name}: not the weights of this config's model "
                              f"({str(err).splitlines()[0][:120] if str(err) else type(err).__name__}); "
                              "train again (remove the train folder)") from None
    return qat, flt
