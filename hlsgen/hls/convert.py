"""Spec -> hls4ml (Vitis backend) model with every precision explicit, and the check that hls4ml
kept every type.

hls4ml converts a plain Keras model rebuilt from the spec (weights = codes * lsb, exactly
representable), one Keras layer per spec stage and under the stage's name, so that hls4ml's layer
names are the spec's. After conversion every type hls4ml will write is compared with the spec;
any difference (an ``auto`` type, a pass that changed something) is an error, not a surprise.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen.derived_names import linear_stage
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec, HlsSettings

INPUT_NAME = "input_1"
# Model-level default: never used, since every layer's types are set; a loud type if one slips through.
_UNUSED_DEFAULT = "ap_fixed<3,2>"


def keras_model(spec: HardwareSpec):
    """A float Keras model computing the spec's stages, with the spec's exact weight values."""
    from hlsgen.keras_compat import keras

    x = inputs = keras.Input(shape=tuple(spec.input_shape), name=INPUT_NAME)
    for s in spec.stages:
        p = s.params
        if s.kind == "conv2d":
            layer = keras.layers.Conv2D(s.output_shape[-1], p.kernel_size, strides=p.strides, padding=p.padding,
                                        name=s.name)
        elif s.kind == "dense":
            layer = keras.layers.Dense(s.output_shape[-1], name=s.name)
        elif s.kind in ("relu", "softmax", "linear"):
            layer = keras.layers.Activation(s.kind.value, name=s.name)
        elif s.kind in ("maxpool", "avgpool"):
            cls = keras.layers.MaxPooling2D if s.kind == "maxpool" else keras.layers.AveragePooling2D
            layer = cls(p.pool_size, strides=p.strides, padding=p.padding, name=s.name)
        elif s.kind == "flatten":
            layer = keras.layers.Flatten(name=s.name)
        else:
            raise HlsgenError(f"{s.name}: stage kind {s.kind!r} has no Keras equivalent")
        x = layer(x)
        if s.weight_codes is not None:
            layer.set_weights([(s.weight_codes * s.weight_t.lsb).astype(np.float64),
                               (s.bias_codes * s.bias_t.lsb).astype(np.float64)])
    return keras.Model(inputs, x, name=spec.name)


def hls4ml_config(spec: HardwareSpec, settings: HlsSettings) -> dict[str, Any]:
    """hls4ml's configuration dict (granularity 'name') with every type and setting explicit."""
    layers: dict[str, Any] = {INPUT_NAME: {"Precision": {"result": str(spec.input_t)}, "Trace": True}}
    for s in spec.stages:
        entry: dict[str, Any] = {"Precision": {"result": str(s.result_t)}, "Trace": True}
        if s.kind in ("conv2d", "dense"):
            entry["Precision"].update(weight=str(s.weight_t), bias=str(s.bias_t), accum=str(s.accum_t))
            entry["ReuseFactor"] = settings.reuse(s.name)
            entry["Strategy"] = settings.strategy
            # hls4ml follows a linear Keras layer with an explicit `<name>_linear` activation: a pure
            # copy when its result type is the layer's own.
            layers[linear_stage(s.name)] = {"Precision": {"result": str(s.result_t)}, "Trace": True}
        elif s.kind in ("maxpool", "avgpool"):
            entry["Precision"]["accum"] = str(s.accum_t or s.input_t)
        elif s.kind == "relu":
            entry["Precision"]["table"] = "ap_fixed<18,8>"  # unused by ReLU; set so nothing is 'auto'
        elif s.kind == "softmax":
            p = s.params
            entry["Implementation"] = p.implementation
            if p.exp_table_t is not None:
                # hls4ml 1.3.0 reads the table types from these top-level keys, not from Precision.
                entry.update(exp_table_t=str(p.exp_table_t), inv_table_t=str(p.inv_table_t),
                             inv_inp_t=str(p.inv_inp_t), accum_t=str(p.accum_t),
                             TableSize=p.inv_table_size, ExpTableSize=p.exp_table_size,
                             InvTableSize=p.inv_table_size)
                if p.inp_norm_t is not None:
                    entry["inp_norm_t"] = str(p.inp_norm_t)
        layers[s.name] = entry
    return {
        "Model": {"Precision": _UNUSED_DEFAULT, "ReuseFactor": 1, "Strategy": settings.strategy,
                  "BramFactor": 1_000_000_000},
        "LayerName": layers,
    }


def _convert_keras(model, hls_config: dict[str, Any], **kwargs):
    """``hls4ml.converters.convert_from_keras_model`` without its version dispatch: the converter of the
    Keras that :mod:`hlsgen.keras_compat` selected.

    hls4ml 1.3.0 picks its Keras-3 parser whenever the standalone ``keras`` package is 3.x, whichever
    Keras built the model; TensorFlow >= 2.16 installs Keras 3 beside ``tf_keras`` (the Keras 2 that
    :mod:`hlsgen.keras_compat` selects with QKeras 0.9.0), and the Keras-3 parser fails on a ``tf_keras``
    model. This builds the same configuration as ``convert_from_keras_model`` (hls4ml's own helpers) and
    calls the Keras-2 converter directly on the Keras 2 stacks (with TensorFlow 2.14 it is the path the
    dispatch takes), the Keras-3 one (``keras_v3_to_hls``, as the dispatch does) on the Keras 3 stack.
    """
    from hlsgen.keras_compat import KERAS3, KERAS_VERSION  # first: it decides the Keras flavour

    if KERAS3 != (not KERAS_VERSION.startswith("2.")):
        raise HlsgenError(f"the installed QKeras needs Keras {3 if KERAS3 else 2}, but TensorFlow's keras is "
                          f"Keras {KERAS_VERSION[:20]}: is TF_USE_LEGACY_KERAS set to something other than 1?")
    from hls4ml.converters import _check_hls_config, _check_model_config, keras_v2_to_hls, keras_v3_to_hls
    from hls4ml.utils.config import create_config

    config = create_config(**kwargs)
    config.update(KerasModel=model, InputData=None, OutputPredictions=None,
                  HLSConfig={"Model": _check_model_config(hls_config.get("Model"))})
    config["HLSConfig"]["Model"]["BitExact"] = None
    _check_hls_config(config, hls_config)
    # hls4ml's defaults (allow_da_fallback, allow_v2_fallback): the plain layers here have Keras-3 handlers
    hls_model = keras_v3_to_hls(config, True, True) if KERAS3 else keras_v2_to_hls(config)
    # hls4ml's YAML writer saves a model of the standalone keras package as keras_model.keras (which
    # hlsgen deletes: spec.json and weights.npz describe the model exactly) but pickles any other one
    # into hls4ml_config.yml, with a timestamp (a tf_keras model next to Keras 3): record none.
    hls_model.config.config["KerasModel"] = None
    return hls_model


def convert(spec: HardwareSpec, settings: HlsSettings, output_dir: Path):
    """Convert with hls4ml and return the hls4ml model (not yet written)."""
    model = keras_model(spec)
    with warnings.catch_warnings():
        # we set the softmax accum_t on purpose (hls4ml reads it from the top-level key)
        warnings.filterwarnings("ignore", message="Overriding attribute 'accum_t'", category=UserWarning)
        hls_model = _convert_keras(
            model, hls_config=hls4ml_config(spec, settings), output_dir=str(output_dir), project_name=spec.name,
            backend=settings.backend, io_type=settings.io_type, part=settings.part,
            clock_period=settings.clock_period,
        )
    # save_layer_output calls in the C++ (inside #ifndef __SYNTHESIS__: C simulation only), for TRACE=1
    hls_model.config.trace_output = True
    return hls_model


def hls4ml_type(precision) -> FixedType | None:
    """An hls4ml precision object (or its spelling) as a FixedType; None for None."""
    return FixedType.parse(str(precision).replace(" ", "")) if precision is not None else None


def check_types(spec: HardwareSpec, hls_model) -> None:
    """Every type hls4ml will write equals the spec's; raises naming the layer and the type."""
    def same(a, b: FixedType) -> bool:
        return a is not None and hls4ml_type(a) == b

    layers = {layer.name: layer for layer in hls_model.get_layers()}
    problems = []
    spec_names = {s.name for s in spec.stages}
    for name, layer in layers.items():
        if name in spec_names or layer.class_name in ("Input", "InputLayer", "Reshape"):
            continue
        # Layers hls4ml adds (`_linear` activations, zero padding) must not change any value.
        got, want = layer.get_output_variable().type.precision, layer.get_input_variable().type.precision
        if not same(got, hls4ml_type(want)):
            problems.append(f"{name} (added by hls4ml): result {got} differs from its input {want}")
    for s in spec.stages:
        layer = layers.get(s.name)
        if layer is None:
            if s.kind != "flatten":
                problems.append(f"{s.name}: missing from the hls4ml model")
            continue
        if s.kind == "flatten":
            continue
        checks = {"result": (layer.get_output_variable().type.precision, s.result_t)}
        if s.kind in ("conv2d", "dense"):
            checks.update(weight=(layer.get_attr("weight_t").precision, s.weight_t),
                          bias=(layer.get_attr("bias_t").precision, s.bias_t),
                          accum=(layer.get_attr("accum_t").precision, s.accum_t))
        for key, (got, want) in checks.items():
            if not same(got, want):
                problems.append(f"{s.name}.{key}: hls4ml has {got}, the spec says {want}")
    if problems:
        raise HlsgenError("hls4ml changed types: " + "; ".join(problems))


def hls4ml_io_names(hls_model) -> tuple[str, str]:
    return hls_model.get_input_variables()[0].name, hls_model.get_output_variables()[0].name


def traced_layers(hls_model) -> list[tuple[str, int, int]]:
    """(name, size, fractional bits) of every layer whose output the generated code can save
    (``save_layer_output``): all but the input and the aliasing Flatten/Reshape."""
    out = []
    for layer in hls_model.get_layers():
        if layer.class_name in ("Input", "InputLayer", "Reshape"):
            continue
        var = layer.get_output_variable()
        prec = var.type.precision
        out.append((layer.name, int(np.prod(var.shape)), int(prec.width - prec.integer)))
    return out
