"""``hlsgen import MODEL --output CONFIG.yaml``: a user's trained Keras/QKeras model -> a complete, commented
config whose ``train.init`` names the model (copied next to the config), so that ``hlsgen build`` rounds its
weights into the types (``train.epochs: 0``, PTQ) or fine-tunes them quantization-aware (``epochs > 0``).

Types: exact ones for QKeras quantizers (:mod:`.quant`); the sum of a QKeras layer without an output
quantizer is kept whole (its exact accumulator type), so a model that is quantized throughout computes in
hardware what QKeras computes. Every other type is ``ap_fixed<bits,I>`` with ``I`` from ``hlsgen profile``'s
rule (no profiled value saturates) on ``images`` training images.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hlsgen import golden
from hlsgen.config import CHOSEN, INPUT_KEY, Config, Quantity, TypeKey, config_from_dict, quote_types
from hlsgen.config.identifiers import check_top_name
from hlsgen.data import load_for, to_float
from hlsgen.errors import ConfigError, HlsgenError, UsageError
from hlsgen.fixed import FixedType, Overflow, Rounding
from hlsgen.importer.layers import Translation
from hlsgen.importer.options import check_options
from hlsgen.importer.writer import render

DEFAULT_INPUT_SCALE = 255  # Keras' MNIST examples train on x / 255
FINE_TUNE = {"batch_size": 128, "optimizer": "adam", "learning_rate": 0.0001}  # for --epochs N
PIXELS = "ap_ufixed<8,0>"  # hlsgen's input codes are the pixel bytes (value = pixel / 256)


def import_command(model: str | Path, output: str | Path, weights: str | Path | None = None, bits: int = 8,
                   images: int = 2000, input_scale: int | None = None, force: bool = False) -> Path:
    """Import ``model`` (``weights``: with a JSON architecture) and write ``output`` (a YAML config) and the
    model beside it (``<output stem>.h5``, or ``.imported.h5`` when that is ``model``; referenced by absolute
    path). Nothing is written on any error.
    Returns the config's path."""
    from hlsgen.importer.layers import translate
    from hlsgen.importer.reader import read_model

    model, output = Path(model), Path(output)
    check_options(bits, images, input_scale)
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"--output: {output}: give a .yaml file for the config")
    init_file = output.with_suffix(".h5")
    if init_file.resolve() == model.resolve():  # importing m.h5 into m.yaml: never overwrite the user's file
        init_file = output.with_name(f"{output.stem}.imported.h5")
    for path in (output, init_file):
        if path.is_dir() or (path.exists() and not force):
            raise UsageError(f"{path}: exists; refusing to overwrite it (use --force, or another --output)")
    source = read_model(model, Path(weights) if weights is not None else None)
    tr = translate(source)
    scale = input_scale or DEFAULT_INPUT_SCALE
    name = _top_name(output.stem)
    data = load_for(None, tr.input_shape)
    images = min(images, len(data.x_train))  # what is profiled, and so what the config says
    raw, notes = _decide(tr, source, scale, bits, images, name, data)
    raw["train"] = {"init": str(init_file.resolve()), "input_scale": scale, "epochs": 0, **FINE_TUNE}
    accuracy = _source_accuracy(source, scale, data)
    header = _header(model, weights, source, tr, scale, input_scale is not None, bits, images, accuracy, init_file)
    text = render(raw, header, notes)
    _write(output, init_file, source, text)
    print(f"imported {model} ({len(tr.layers)} layers; its accuracy {accuracy:.4f} on {len(data.x_test)} test images, "
          f"pixel/{scale})\nwrote {output} and {init_file}: build it with 'hlsgen build {output}' "
          "(train.epochs: 0 = PTQ of the given weights; --epochs N fine-tunes them)")
    return output


# ------------------------------------------------------------------------------ precision

def _top_name(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_")[:56] or "imported"
    name = re.sub(r"__+", "_", name)
    if name[0].isdigit():
        name = f"net_{name}"
    try:
        return check_top_name(name)
    except ConfigError:
        return check_top_name(f"imported_{name}"[:64])


def _rnd_sat(t: FixedType) -> FixedType:
    return replace(t, rounding=Rounding.RND_CONV, overflow=Overflow.SAT if t.overflow is not Overflow.SAT_SYM
                   else Overflow.SAT_SYM, sat_bits=0)


def _check(raw: dict[str, Any]) -> Config:
    try:
        return config_from_dict(raw)
    except ConfigError as err:
        raise HlsgenError(f"the imported model is not supported: {err}") from None


def _decide(tr: Translation, source, scale: int, bits: int, images: int, name: str, data):
    """The config (as a dict) and the notes beside its keys: exact types where the quantizers have them,
    exact sums where a QKeras layer has no output quantizer, profiled ``ap_fixed<bits,I>`` elsewhere."""
    from hlsgen.profile.ranges import float_values, overflow_count, profile_model, recommended_types
    from hlsgen.train import given_float_model

    pnotes: dict[str, list[str]] = {}
    fixed: dict[str, dict[str, str]] = {}  # per layer: types decided without profiling
    whole_sum, identity, by_bn = [], [], set()
    input_t = PIXELS
    exact = scale == 256
    if tr.input_quant is not None:
        if tr.input_quant.type is not None:
            input_t = str(tr.input_quant.type)
            pnotes["input"] = [f"from {tr.input_quant.text} on the input (exact)"]
        else:
            exact = False
            pnotes["input"] = [f"{tr.input_quant.text} on the input is not exact ({tr.input_quant.reason}); "
                               f"the pixels as they are ({PIXELS})"]
    if scale != 256:
        pnotes.setdefault("input", []).append(f"the model was trained on pixel/{scale}: 256/{scale} is folded into "
                                              "the first layer's weights when they are loaded (not bit exact)")
    layers = tr.layers
    for i, entry in enumerate(layers):
        n, kind = entry["name"], entry["type"]
        rq = tr.quant.get(TypeKey(n, Quantity.RESULT))
        if kind in ("Conv2D", "Dense"):
            bn = i + 1 < len(layers) and layers[i + 1]["type"] == "BatchNormalization"
            ok = True
            for quantity in (Quantity.WEIGHT, Quantity.BIAS):
                q = tr.quant.get(TypeKey(n, quantity))
                if q is None or q.text == "float":
                    ok = ok and (quantity == "bias" and not entry["use_bias"])
                    continue
                if bn:
                    pnotes.setdefault(n, []).append(f"{quantity} {q.text}: BatchNormalization folded in, profiled")
                    by_bn.add(n)
                elif q.type is None:
                    pnotes.setdefault(n, []).append(f"{quantity} {q.text} not exact ({q.reason}): profiled")
                else:
                    fixed.setdefault(n, {})[quantity.value] = str(q.type)
                    pnotes.setdefault(n, []).append(f"{quantity} {q.text}: exact{f', {q.reason}' if q.reason else ''}")
                    continue
                ok = False
            exact = exact and ok and not bn
            if rq is not None:
                exact = _result_quant(n, rq, fixed, pnotes) and exact
            elif exact and tr.quantized:
                whole_sum.append(n)
        elif kind == "Activation" and entry["activation"] != "softmax":
            if rq is not None:
                exact = _result_quant(n, rq, fixed, pnotes) and exact
            elif exact or entry["activation"] == "linear":
                identity.append(n)  # keeps its input's type: exact
        elif kind == "BatchNormalization":
            exact = False
    # placeholders until profiling decides (I <= W: the config refuses an LSB above 1)
    default = {"weight": f"ap_fixed<{bits},1>", "bias": f"ap_fixed<{bits},1>",
               "result": f"ap_fixed<{bits},{min(3, bits)},AP_RND_CONV,AP_SAT>"}
    softmax = any(e.get("activation") == "softmax" for e in layers)
    raw = _raw(name, tr, input_t, default, fixed, softmax)
    cfg = _check(raw)
    float_model = given_float_model(replace(cfg, train=replace(cfg.train, input_scale=scale)), source)
    x = data.x_train[:images]
    # x / 256 with the fold is the model's own x / scale: the values it was trained on
    profiles = profile_model(cfg, float_values(cfg, float_model, to_float(x)), 0.0)
    by_key = {(p.layer, p.quantity): p for p in profiles}
    for (layer, quantity), t in recommended_types(profiles).items():
        if (layer, quantity) == INPUT_KEY or quantity not in CHOSEN or quantity in fixed.get(layer, {}):
            continue
        if layer in whole_sum and quantity == "result":
            continue
        if t.integer > t.width:  # the values need an LSB above 1: no type of this width holds them (config: I <= W)
            p = by_key[(layer, quantity)]
            if quantity != "result":  # a weight is the model: saturating it would be another model
                raise HlsgenError(f"layer '{layer}': a {quantity} of {max(abs(p.lo), abs(p.hi)):g} is out of range "
                                  f"of every {bits}-bit type (ap_fixed<{bits},I> holds magnitudes up to "
                                  f"{2.0 ** (bits - 1):g} with I <= {bits}; this value needs I = {t.integer})")
            needed, t = t.integer, replace(t, integer=t.width)  # the widest range at this width: it saturates
            pnotes.setdefault(layer, []).append(
                f"result {t}: saturates {overflow_count(p.values, t):,} of {p.values.size:,} profiled values (they "
                f"need I = {needed}, more than --bits {bits})")
            fixed.setdefault(layer, {})[quantity.value] = str(t)
            continue
        fixed.setdefault(layer, {})[quantity.value] = str(t)
        if layer not in identity:
            what = "float" if not tr.quantized else "no exact quantizer"
            pnotes.setdefault(layer, []).append(f"{quantity} {t}: profiled ({what}; I: no value of {len(x)} "
                                                "training images saturates)")
    for n in [e["name"] for e in layers if e["name"] in whole_sum or e["name"] in identity]:
        cfg = _check(_raw(name, tr, input_t, default, fixed, softmax))
        prec = cfg.precision[n]
        t = prec.accum if n in whole_sum else prec.input
        if n in whole_sum and t.width > 32:
            pnotes.setdefault(n, []).append(f"result: the exact sum needs {t.width} bits; profiled type kept")
            continue
        fixed.setdefault(n, {})["result"] = str(_rnd_sat(t))
        pnotes.setdefault(n, []).append("result: the exact sum (no output quantizer in the model)" if n in whole_sum
                                        else "result: its input's type (exact)")
    raw = _raw(name, tr, input_t, default, fixed, softmax)
    raw["hls"].update(_hls_settings(_check(raw)))
    _check(raw)
    return raw, {"precision": pnotes, "layers": {n: v for n, v in tr.notes.items() if n != "input"},
                 "train": _train_notes(scale), "top": {"data": ["an mnist.npz: data.path, else $HLSGEN_DATA"]},
                 "hls": {"reuse_factor": ["chosen by hlsgen estimate to fit the part's DSPs"],
                         "softmax": ["none: the logits out; their argmax is the class the model's softmax picks, "
                                     "exactly (stable: hls4ml's 8-bit probabilities, whose table steps can tie the "
                                     "top two; argmax: does not compile with hls4ml 1.3.0 here)"] if softmax else []}}


def _result_quant(n: str, q, fixed: dict, pnotes: dict) -> bool:
    if q.type is None:
        pnotes.setdefault(n, []).append(f"result: {q.text} not exact ({q.reason}): profiled")
        return False
    fixed.setdefault(n, {})["result"] = str(q.type)
    pnotes.setdefault(n, []).append(f"result: {q.text} (exact)")
    return True


def _raw(name: str, tr: Translation, input_t: str, default: dict, fixed: dict, softmax: bool) -> dict[str, Any]:
    return {"name": name, "seed": 1, "data": {"dataset": "mnist", "path": None},
            "model": {"input_shape": tr.input_shape, "layers": [dict(e) for e in tr.layers]},
            "train": {"epochs": 1},  # a draft: the model file is written last
            "precision": {"input": input_t, "default": dict(default),
                          "layers": {e["name"]: dict(fixed[e["name"]]) for e in tr.layers if e["name"] in fixed}},
            "hls": {"backend": "Vitis", "part": "xc7z020clg400-1", "clock_period": 10, "io_type": "io_stream",
                    "strategy": "Resource", "reuse_factor": {"default": 1},
                    "softmax": "none"},  # logits out: their argmax is the model's class, exactly
            "output_dir": f"build/{name}"}


def _hls_settings(cfg: Config) -> dict[str, Any]:
    """io_stream unless a pooling layer needs io_parallel; reuse factors that fit the part (hlsgen estimate)."""
    from hlsgen.spec.lower import lower_with_settings
    from hlsgen.synth.estimate import estimate

    network, settings = lower_with_settings(cfg)
    io = "io_stream"
    if estimate(network, settings).problems:
        io = "io_parallel"
        settings = replace(settings, io_type=io)
    suggestion = dict(estimate(network, settings).suggestion)
    return {"io_type": io, "reuse_factor": {"default": 1, **suggestion}}


def _train_notes(scale: int) -> dict[str, list[str]]:
    return {"init": ["the imported model, copied next to this config (absolute path): its weights"],
            "input_scale": [f"the model's input was pixel/{scale}" + (" (256/255 folded into the first layer)"
                                                                      if scale == 255 else "")],
            "epochs": ["0: PTQ (the given weights rounded into the types); N > 0: QAT fine-tuning from them"]}


# ------------------------------------------------------------------------------ output

def _source_accuracy(source, scale: int, data) -> float:
    x = np.asarray(data.x_test, np.float32) / np.float32(scale)
    scores = source.predict(x.reshape((len(x), *source.input_shape[1:])), batch_size=1000, verbose=0)
    return float(np.mean(golden.labels(scores) == data.y_test))


def _header(model, weights, source, tr, scale, scale_given, bits, images, accuracy, init_file) -> list[str]:
    kind = "QKeras" if tr.quantized else "Keras (float)"
    lines = [f"Imported by 'hlsgen import' from {model}{f' + {weights}' if weights else ''}: {kind} model "
             f"'{source.name}', {len(tr.layers)} layers, accuracy {accuracy:.4f} on the test set as given.",
             f"Input scaling: pixel/{scale} ("
             + ("given with --input-scale" if scale_given else "not readable from the model: the default, as Keras "
                "MNIST examples train (x / 255); pass --input-scale 256 otherwise") + ").",
             "hlsgen feeds pixel/256 (the ap_ufixed<8,0> codes are the pixel bytes)"
             + ("; the 256/255 factor is folded into the first Conv2D/Dense kernel when the weights load"
                if scale == 255 else "") + ".",
             f"Types: exact ones for QKeras quantizers; others ap_fixed<{bits},I>, I profiled on {images} training "
             "images.",
             f"Weights: train.init = {init_file.name}, the model copied next to this config, referenced by its "
             "absolute path.", ""]
    if "input" in tr.notes:
        lines.insert(-1, "; ".join(tr.notes["input"]) + " (that layer is not in model.layers).")
    return lines


def _new_file(directory: Path, prefix: str, suffix: str = "") -> str:
    """A new, empty file ``directory/prefix<random>suffix`` created with mode 0666 less the umask, as any file the
    user writes (mkstemp's 0600 would hide the config and model from the user's group)."""
    for _ in range(100):
        path = directory / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return str(path)
        except FileExistsError:
            continue
    raise FileExistsError(f"{directory}: no free temporary name")


def _write(output: Path, init_file: Path, source, text: str) -> None:
    """The model file and the config, each through a temporary file (mode 0666 less the umask) renamed into
    place; neither is left behind if either fails. The config is validated from its own text first."""
    from hlsgen.train import save_model

    parsed = yaml.safe_load(quote_types(text))
    _check({**parsed, "train": {**parsed["train"], "init": "float", "epochs": 1, "input_scale": 256}})
    temporary: list[str] = []
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary.append(tmp_model := _new_file(output.parent, f".{init_file.name}.", ".h5"))  # .h5: HDF5
        temporary.append(tmp_cfg := _new_file(output.parent, f".{output.name}."))
        Path(tmp_cfg).write_text(text)
        try:
            save_model(source, Path(tmp_model))  # h5py truncates the file it is given: its mode stays
        except OSError:
            raise
        except Exception as err:  # TensorFlow's and h5py's own error types
            raise OSError(str(err).splitlines()[0][:160] if str(err) else type(err).__name__) from None
        os.replace(tmp_model, init_file)
        os.replace(tmp_cfg, output)
    except OSError as err:
        raise HlsgenError(f"{output}: cannot write the imported config ({err.strerror or err})") from None
    finally:
        for tmp in temporary:
            Path(tmp).unlink(missing_ok=True)
