"""Spec -> hls4ml (Vitis backend) project on disk, with every precision explicit, plus hlsgen's
own self-checking testbench, tb_data and Makefile from ``templates/``.

hls4ml converts a plain Keras model rebuilt from the spec (weights = codes * lsb, exactly
representable), one Keras layer per spec stage and under the stage's name, so that hls4ml's layer
names are the spec's. After conversion every type hls4ml will write is compared with the spec;
any difference (an ``auto`` type, a pass that changed something) is an error, not a surprise.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from hlsgen import TEMPLATES_DIR
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec

INPUT_NAME = "input_1"
# Model-level default: never used, since every layer's types are set; a loud type if one slips through.
_UNUSED_DEFAULT = "ap_fixed<3,2>"


def keras_model(spec: HardwareSpec):
    """A float Keras model computing the spec's stages, with the spec's exact weight values."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow import keras

    x = inputs = keras.Input(shape=tuple(spec.input_shape), name=INPUT_NAME)
    for s in spec.stages:
        p = s.params
        if s.kind == "conv2d":
            layer = keras.layers.Conv2D(s.output_shape[-1], tuple(p["kernel_size"]), strides=tuple(p["strides"]),
                                        padding=p["padding"], name=s.name)
        elif s.kind == "dense":
            layer = keras.layers.Dense(s.output_shape[-1], name=s.name)
        elif s.kind in ("relu", "softmax", "linear"):
            layer = keras.layers.Activation(s.kind, name=s.name)
        elif s.kind in ("maxpool", "avgpool"):
            cls = keras.layers.MaxPooling2D if s.kind == "maxpool" else keras.layers.AveragePooling2D
            layer = cls(tuple(p["pool_size"]), strides=tuple(p["strides"]), padding=p["padding"], name=s.name)
        elif s.kind == "flatten":
            layer = keras.layers.Flatten(name=s.name)
        else:
            raise HlsgenError(f"{s.name}: stage kind {s.kind!r} has no Keras equivalent")
        x = layer(x)
        if s.weight_codes is not None:
            layer.set_weights([(s.weight_codes * s.weight_t.lsb).astype(np.float64),
                               (s.bias_codes * s.bias_t.lsb).astype(np.float64)])
    return keras.Model(inputs, x, name=spec.name)


def hls4ml_config(spec: HardwareSpec) -> dict[str, Any]:
    """hls4ml's configuration dict (granularity 'name') with every type and setting explicit."""
    hls = spec.hls
    layers: dict[str, Any] = {INPUT_NAME: {"Precision": {"result": str(spec.input_t)}, "Trace": True}}
    for s in spec.stages:
        entry: dict[str, Any] = {"Precision": {"result": str(s.result_t)}, "Trace": True}
        if s.kind in ("conv2d", "dense"):
            entry["Precision"].update(weight=str(s.weight_t), bias=str(s.bias_t), accum=str(s.accum_t))
            entry["ReuseFactor"] = int(s.params["reuse_factor"])
            entry["Strategy"] = hls["strategy"]
            # hls4ml follows a linear Keras layer with an explicit `<name>_linear` activation: a pure
            # copy when its result type is the layer's own.
            layers[f"{s.name}_linear"] = {"Precision": {"result": str(s.result_t)}, "Trace": True}
        elif s.kind in ("maxpool", "avgpool"):
            entry["Precision"]["accum"] = str(s.accum_t or s.input_t)
        elif s.kind == "relu":
            entry["Precision"]["table"] = "ap_fixed<18,8>"  # unused by ReLU; set so nothing is 'auto'
        elif s.kind == "softmax":
            p = s.params
            entry["Implementation"] = p["implementation"]
            if p["implementation"] in ("stable", "latency"):
                # hls4ml 1.3.0 reads the table types from these top-level keys, not from Precision.
                entry.update(exp_table_t=p["exp_table_t"], inv_table_t=p["inv_table_t"],
                             inv_inp_t=p["inv_inp_t"], accum_t=p["accum_t"],
                             TableSize=int(p["inv_table_size"]), ExpTableSize=int(p["exp_table_size"]),
                             InvTableSize=int(p["inv_table_size"]))
                if "inp_norm_t" in p:
                    entry["inp_norm_t"] = p["inp_norm_t"]
        layers[s.name] = entry
    return {
        "Model": {"Precision": _UNUSED_DEFAULT, "ReuseFactor": 1, "Strategy": hls["strategy"],
                  "BramFactor": 1_000_000_000},
        "LayerName": layers,
    }


def convert(spec: HardwareSpec, output_dir: Path):
    """Convert with hls4ml and return the hls4ml model (not yet written)."""
    import hls4ml

    model = keras_model(spec)
    with warnings.catch_warnings():
        # we set the softmax accum_t on purpose (hls4ml reads it from the top-level key)
        warnings.filterwarnings("ignore", message="Overriding attribute 'accum_t'", category=UserWarning)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=hls4ml_config(spec), output_dir=str(output_dir), project_name=spec.name,
            backend=spec.hls["backend"], io_type=spec.hls["io_type"], part=spec.hls["part"],
            clock_period=spec.hls["clock_period"],
        )
    # save_layer_output calls in the C++ (inside #ifndef __SYNTHESIS__: C simulation only), for TRACE=1
    hls_model.config.trace_output = True
    return hls_model


def check_types(spec: HardwareSpec, hls_model) -> None:
    """Every type hls4ml will write equals the spec's; raises naming the layer and the type."""
    def same(a, b: FixedType) -> bool:
        return FixedType.parse(str(a).replace(" ", "")) == b if a is not None else False

    layers = {layer.name: layer for layer in hls_model.get_layers()}
    problems = []
    spec_names = {s.name for s in spec.stages}
    for name, layer in layers.items():
        if name in spec_names or layer.class_name in ("Input", "InputLayer", "Reshape"):
            continue
        # Layers hls4ml adds (`_linear` activations, zero padding) must not change any value.
        got, want = layer.get_output_variable().type.precision, layer.get_input_variable().type.precision
        if not same(got, FixedType.parse(str(want).replace(" ", ""))):
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


# ----------------------------------------------------------------------------- our files

def render(name: str, **values: Any) -> str:
    """Fill ``templates/<name>`` (``$placeholders``, string.Template)."""
    return Template((TEMPLATES_DIR / name).read_text()).substitute(**values)


def testbench_source(spec: HardwareSpec, hls_model) -> str:
    """Our self-checking testbench for this spec, from templates/testbench.cpp."""
    in_name, out_name = hls4ml_io_names(hls_model)
    n_in = int(np.prod(spec.input_shape))
    n_out = int(np.prod(spec.stages[-1].output_shape))
    traced = traced_layers(hls_model)
    trace_table = ",\n".join(f'    {{"{name}", {size}, {frac}}}' for name, size, frac in traced)
    if spec.hls["io_type"] == "io_parallel":
        declare = f"input_t {in_name}[N_IN];\n        result_t {out_name}[N_OUT];"
        feed = f"for (int i = 0; i < N_IN; i++) {in_name}[i].range() = in_codes[i];"
        call = f"{spec.name}({in_name}, {out_name});"
        drain = f"for (int j = 0; j < N_OUT; j++) out_codes[j] = code_of({out_name}[j]);"
    else:
        declare = (f'hls::stream<input_t> {in_name}("{in_name}");\n'
                   f'        hls::stream<result_t> {out_name}("{out_name}");')
        feed = (f"for (int i = 0; i < N_IN / (int)input_t::size; i++) {{\n"
                f"            input_t word;\n"
                f"            for (int c = 0; c < (int)input_t::size; c++) "
                f"word[c].range() = in_codes[i * input_t::size + c];\n"
                f"            {in_name}.write(word);\n        }}")
        call = f"{spec.name}({in_name}, {out_name});"
        drain = (f"for (int i = 0; i < N_OUT / (int)result_t::size; i++) {{\n"
                 f"            result_t word = {out_name}.read();\n"
                 f"            for (int c = 0; c < (int)result_t::size; c++) "
                 f"out_codes[i * result_t::size + c] = code_of(word[c]);\n        }}")
    return render("testbench.cpp", top=spec.name, n_in=n_in, n_out=n_out, declare=declare, feed=feed,
                  call=call, drain=drain, trace_table=trace_table, n_traced=len(traced))


def write_codes(path: Path, codes: np.ndarray) -> None:
    """One image per line, integer codes separated by spaces (what the testbench reads)."""
    flat = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    with open(path, "w") as fh:
        for row in flat:
            fh.write(" ".join(map(str, row.tolist())))
            fh.write("\n")


def normalize_hls4ml_output(project: Path, final: Path, stamp: str) -> None:
    """Make hls4ml's files byte-identical across builds: the temporary directory's name becomes the
    final one (absolute and relative spellings), and the random library stamp a digest of the spec."""
    renames = [(str(project.resolve()), str(final.resolve())), (str(project), str(final)),
               (project.name, final.name)]
    for path in project.rglob("*"):
        if not path.is_file() or path.suffix not in (".tcl", ".sh", ".yml", ".cpp", ".h", ".cfg", ".json"):
            continue
        text = path.read_text()
        new = text
        for old, replacement in renames:
            new = new.replace(old, replacement)
        new = re.sub(r"LIB_STAMP=[0-9a-f]+", f"LIB_STAMP={stamp}", new)
        # hls4ml's stamp is 8 random hex digits; YAML quotes it when they are all decimal (2 % of builds)
        quoted = f"'{stamp}'" if stamp.isdigit() else stamp
        new = re.sub(r"(?m)^Stamp: ('?)[0-9a-f]+\1$", f"Stamp: {quoted}", new)
        if new != text:
            path.write_text(new)
