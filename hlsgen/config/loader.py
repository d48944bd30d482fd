"""YAML config -> frozen, validated :class:`Config`. Every error names its key.

The schema is hlsgen's public interface (see README, "The config"). Layer arguments mirror
Keras' own names. Relative paths (``data.path``, ``output_dir``) are taken from the current
directory, as ``make`` does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from hlsgen.config.checks import choice, integer, mapping, merge, number, parse_type, unknown_keys
from hlsgen.config.precision import LayerPrecision, parse_precision
from hlsgen.config.schema import (
    ACTIVATIONS,
    LAYER_SCHEMAS,
    SUPPORTED_TYPES,
    infer_output_shape,
    normalize_layer_args,
)
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType
from hlsgen.fixed.bits import ceillog2

SOFTMAX_IMPLEMENTATIONS = ("stable", "latency", "argmax", "none")
IO_TYPES = ("io_stream", "io_parallel")
STRATEGIES = ("Resource", "Latency")
BACKENDS = ("Vitis",)
OPTIMIZERS = ("adadelta", "adam", "sgd", "rmsprop")
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if int long "
    "register return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "class namespace template typename bool true false new delete this operator private public protected "
    "virtual".split()
)

# Defaults that the resolved config spells out (`hlsgen check` prints them all).
DEFAULTS: dict[str, Any] = {
    "seed": 1,
    "data": {"dataset": "mnist", "path": None},
    "train": {"epochs": 12, "batch_size": 128, "optimizer": "adadelta", "learning_rate": 1.0},
    "precision": {
        "input": "ap_ufixed<8,0>",
        "default": {
            "weight": "ap_fixed<8,1>",
            "bias": "ap_fixed<8,1>",
            "result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
        },
        # The softmax output and hls4ml's lookup tables and sums (hls4ml's own defaults, made
        # explicit). inp_norm (the type of max(x) - x in `stable`) is derived unless given.
        "softmax": {
            "result": "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>",
            "exp_table": "ap_fixed<18,8,AP_RND,AP_SAT>",
            "inv_table": "ap_fixed<18,8,AP_RND,AP_SAT>",
            "accum": "ap_fixed<18,8,AP_RND,AP_SAT>",
            "inv_input": "ap_fixed<18,8,AP_RND,AP_SAT>",
            "inp_norm": None,
            "table_size": 1024,
        },
        "layers": {},
    },
    "hls": {
        "backend": "Vitis",
        "part": "xc7z020clg400-1",
        "clock_period": 10,
        "io_type": "io_stream",
        "strategy": "Resource",
        "reuse_factor": {"default": 1},
        "softmax": "stable",
    },
}
_TOP_KEYS = ("name", "seed", "data", "model", "train", "precision", "hls", "output_dir")


@dataclass(frozen=True)
class LayerConfig:
    """One Keras layer: its type, name, normalized Keras arguments and shapes (channels-last)."""

    type: str
    name: str
    args: Mapping[str, Any]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    @property
    def activation(self) -> str:
        return self.args.get("activation", "linear")

    @property
    def has_weights(self) -> bool:
        return self.type in ("Conv2D", "Dense")


@dataclass(frozen=True)
class SoftmaxConfig:
    """hls4ml softmax settings. ``inp_norm`` None: derived from the logits type (see spec.py)."""

    implementation: str
    result: FixedType
    exp_table: FixedType
    inv_table: FixedType
    accum: FixedType
    inv_input: FixedType
    inp_norm: FixedType | None
    table_size: int


@dataclass(frozen=True)
class HlsConfig:
    backend: str
    part: str
    clock_period: float
    io_type: str
    strategy: str
    reuse_default: int
    reuse_factor: Mapping[str, int]  # every Conv2D/Dense layer, resolved


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    path: Path | None


@dataclass(frozen=True)
class Config:
    """A validated config; all defaults and derived types are filled in."""

    name: str
    seed: int
    data: DataConfig
    input_shape: tuple[int, ...]
    layers: tuple[LayerConfig, ...]
    train: TrainConfig
    input_type: FixedType
    precision: Mapping[str, LayerPrecision]  # by layer name, for layers that compute
    softmax: SoftmaxConfig
    hls: HlsConfig
    output_dir: Path
    source: Path | None = None
    resolved: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def resolved_yaml(self) -> str:
        """The full config, defaults and derived types included, as YAML."""
        derived = [n for n, p in self.precision.items() if p.accum_derived]
        head = (f"# resolved config{f' of {self.source}' if self.source else ''}: every default filled in.\n"
                f"# accum derived (overflow-free) for: {', '.join(derived) or 'none'}\n")
        return head + yaml.safe_dump(_thaw(self.resolved), sort_keys=False, width=110)

    def digest(self) -> str:
        """Hash of everything that determines the trained model and the project."""
        return hashlib.sha256(json.dumps(_thaw(self.resolved), sort_keys=True).encode()).hexdigest()[:16]

    def training_digest(self) -> str:
        """Hash of what determines the trained weights (not the HLS settings or output path)."""
        keys = ("name", "seed", "data", "model", "train", "precision")
        part = {k: _thaw(self.resolved[k]) for k in keys}
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


def _thaw(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_thaw(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- loading

# An unquoted type inside a YAML flow mapping, `{result: ap_fixed<8,3,AP_RND,AP_SAT>}`, would be split
# at its commas by YAML. Quote every bare type spelling first; columns shift, line numbers do not.
_BARE_TYPE = re.compile(r"""(?<!["'\w])((?:ap_)?u?(?:fixed|int)<[^<>\n"']*>)""")


def quote_types(text: str) -> str:
    """Put double quotes around each unquoted ``ap_fixed<...>``-style type in YAML text."""
    return _BARE_TYPE.sub(r'"\1"', text)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file; raises ConfigError with a one-line message."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config: {err}") from None
    try:
        raw = yaml.safe_load(quote_types(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level, got {type(raw).__name__}")
    return config_from_dict(raw, source=path)


def config_from_dict(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a config given as a dict (the parsed YAML)."""
    unknown_keys("", raw, _TOP_KEYS)
    for key in ("name", "model"):
        if key not in raw:
            raise ConfigError(f"{key}: required key is missing")
    name = raw["name"]
    if not isinstance(name, str) or not _C_IDENT.match(name) or name in _C_KEYWORDS:
        raise ConfigError(f"name: {name!r} is not a C identifier (it names the HLS top function)")
    seed = integer("seed", raw.get("seed", DEFAULTS["seed"]), minimum=0)

    data_raw = merge(DEFAULTS["data"], mapping("data", raw.get("data")))
    unknown_keys("data", data_raw, DEFAULTS["data"])
    choice("data.dataset", data_raw["dataset"], ("mnist",))
    if data_raw["path"] is not None and not isinstance(data_raw["path"], str):
        raise ConfigError(f"data.path: expected a file or folder path, got {data_raw['path']!r}")
    data = DataConfig(data_raw["dataset"], Path(data_raw["path"]) if data_raw["path"] else None)

    input_shape, layers = _parse_model(mapping("model", raw["model"]))
    train = _parse_train(mapping("train", raw.get("train")))
    prec_raw = mapping("precision", raw.get("precision"))
    unknown_keys("precision", prec_raw, DEFAULTS["precision"])
    input_type = parse_type("precision.input", prec_raw.get("input", DEFAULTS["precision"]["input"]))
    if input_type.max_value < 0.5:
        raise ConfigError(f"precision.input: {input_type} cannot represent pixel values in [0, 1] "
                          f"(its largest value is {input_type.max_value:g})")
    precision, resolved_prec = parse_precision(prec_raw, layers, input_type, DEFAULTS["precision"]["default"])
    softmax_impl, hls, resolved_hls = _parse_hls(mapping("hls", raw.get("hls")), layers)
    softmax = _parse_softmax(mapping("precision.softmax", prec_raw.get("softmax")), softmax_impl)

    output_dir = raw.get("output_dir", f"build/{name}")
    if not isinstance(output_dir, str) or not output_dir.strip():
        raise ConfigError(f"output_dir: expected a directory path, got {output_dir!r}")

    resolved = {
        "name": name,
        "seed": seed,
        "data": {"dataset": data.dataset, "path": str(data.path) if data.path else None},
        "model": {
            "input_shape": list(input_shape),
            "layers": [
                {"type": lc.type, "name": lc.name, **dict(lc.args), "output_shape": list(lc.output_shape)}
                for lc in layers
            ],
        },
        "train": dict(train.__dict__),
        "precision": {
            "input": str(input_type),
            "softmax": {
                **{k: str(getattr(softmax, k)) for k in ("result", "exp_table", "inv_table", "accum", "inv_input")},
                "inp_norm": str(softmax.inp_norm) if softmax.inp_norm else "derived from the logits type",
                "table_size": softmax.table_size,
            },
            "layers": resolved_prec,
        },
        "hls": resolved_hls,
        "output_dir": output_dir,
    }
    return Config(
        name=name, seed=seed, data=data, input_shape=input_shape, layers=layers, train=train,
        input_type=input_type, precision=MappingProxyType(precision), softmax=softmax, hls=hls,
        output_dir=Path(output_dir), source=source, resolved=MappingProxyType(resolved),
    )


def _parse_model(model: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[LayerConfig, ...]]:
    unknown_keys("model", model, ("input_shape", "layers"))
    shape = model.get("input_shape")
    if (not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        raise ConfigError(f"model.input_shape: expected [height, width, channels] or [features] "
                          f"of positive integers, got {shape!r}")
    layers_raw = model.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ConfigError("model.layers: expected a non-empty list of layers")
    current = tuple(shape)
    layers: list[LayerConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(layers_raw):
        where = f"model.layers[{i}]"
        entry = mapping(where, entry)
        ltype = entry.get("type")
        if ltype not in LAYER_SCHEMAS:
            raise ConfigError(f"{where}.type: unsupported layer type {ltype!r}; supported: "
                              f"{', '.join(SUPPORTED_TYPES)}")
        lname = entry.get("name")
        if not isinstance(lname, str) or not _C_IDENT.match(lname) or lname in _C_KEYWORDS:
            raise ConfigError(f"{where}.name: {lname!r} is not a C identifier (layer names become C++ names)")
        if lname in seen:
            raise ConfigError(f"{where}.name: layer name '{lname}' is used twice")
        seen.add(lname)
        where = f"model.layers[{i}] ({lname})"
        args = normalize_layer_args(where, ltype, {k: v for k, v in entry.items() if k not in ("type", "name")})
        out_shape = infer_output_shape(where, ltype, args, current)
        layers.append(LayerConfig(ltype, lname, MappingProxyType(args), current, out_shape))
        current = out_shape
    _check_layer_order(layers)
    return tuple(shape), tuple(layers)


def _check_layer_order(layers: list[LayerConfig]) -> None:
    for i, layer in enumerate(layers):
        where = f"model.layers[{i}] ({layer.name})"
        if layer.type == "BatchNormalization":
            prev = layers[i - 1] if i else None
            if prev is None or not prev.has_weights or prev.activation != "linear":
                raise ConfigError(f"{where}: BatchNormalization is folded into the preceding layer, which "
                                  "must be a Conv2D or Dense with activation linear")
        is_softmax = layer.activation == "softmax"
        if is_softmax and any(later.type != "Dropout" for later in layers[i + 1:]):
            raise ConfigError(f"{where}.activation: softmax is supported only as the network's last operation")
    if len(layers[-1].output_shape) != 1:
        raise ConfigError(f"model.layers: the network must end in a flat output (add Flatten/Dense); "
                          f"it ends with shape {list(layers[-1].output_shape)}")


def _parse_train(train_raw: Mapping[str, Any]) -> TrainConfig:
    t = merge(DEFAULTS["train"], train_raw)
    unknown_keys("train", t, DEFAULTS["train"])
    return TrainConfig(
        epochs=integer("train.epochs", t["epochs"], minimum=1),
        batch_size=integer("train.batch_size", t["batch_size"], minimum=1),
        optimizer=choice("train.optimizer", t["optimizer"], OPTIMIZERS),
        learning_rate=number("train.learning_rate", t["learning_rate"]),
    )


def _parse_softmax(raw: Mapping[str, Any], implementation: str) -> SoftmaxConfig:
    s = merge(DEFAULTS["precision"]["softmax"], raw)
    unknown_keys("precision.softmax", s, DEFAULTS["precision"]["softmax"])
    size = integer("precision.softmax.table_size", s["table_size"], minimum=2)
    if size & (size - 1):
        raise ConfigError(f"precision.softmax.table_size: must be a power of two (hls4ml indexes the "
                          f"tables with the input's top bits), got {size}")
    types = {k: parse_type(f"precision.softmax.{k}", s[k])
             for k in ("result", "exp_table", "inv_table", "accum", "inv_input")}
    inp_norm = parse_type("precision.softmax.inp_norm", s["inp_norm"]) if s["inp_norm"] is not None else None
    if ceillog2(size) > types["inv_input"].width:
        raise ConfigError(f"precision.softmax.table_size: {size} entries need {ceillog2(size)} address bits, "
                          f"more than inv_input {types['inv_input']} has")
    return SoftmaxConfig(implementation=implementation, inp_norm=inp_norm, table_size=size, **types)


def _parse_hls(hls_raw: Mapping[str, Any], layers: tuple[LayerConfig, ...]):
    h = merge(DEFAULTS["hls"], hls_raw)
    unknown_keys("hls", h, DEFAULTS["hls"])
    backend = choice("hls.backend", h["backend"], BACKENDS)
    part = h["part"]
    if not isinstance(part, str) or not re.fullmatch(r"[A-Za-z0-9_\-.]+", part):
        raise ConfigError(f"hls.part: expected an FPGA part name such as 'xc7z020clg400-1', got {part!r}")
    clock = number("hls.clock_period", h["clock_period"])
    io_type = choice("hls.io_type", h["io_type"], IO_TYPES)
    strategy = choice("hls.strategy", h["strategy"], STRATEGIES)
    softmax = choice("hls.softmax", h["softmax"], SOFTMAX_IMPLEMENTATIONS)
    rf_raw = h["reuse_factor"]
    if isinstance(rf_raw, int) and not isinstance(rf_raw, bool):
        rf_raw = {"default": rf_raw}
    rf_raw = mapping("hls.reuse_factor", rf_raw)
    rf_default = integer("hls.reuse_factor.default", rf_raw.get("default", 1), minimum=1)
    compute = [lc.name for lc in layers if lc.has_weights]
    unknown_keys("hls.reuse_factor", rf_raw, ["default", *compute])
    reuse = {n: integer(f"hls.reuse_factor.{n}", rf_raw.get(n, rf_default), minimum=1) for n in compute}
    hls = HlsConfig(backend, part, clock, io_type, strategy, rf_default, MappingProxyType(reuse))
    resolved = {
        "backend": backend, "part": part, "clock_period": h["clock_period"], "io_type": io_type,
        "strategy": strategy, "reuse_factor": {"default": rf_default, **reuse}, "softmax": softmax,
    }
    return softmax, hls, resolved


__all__ = ["ACTIVATIONS", "Config", "LayerConfig", "LayerPrecision", "load_config", "config_from_dict"]
