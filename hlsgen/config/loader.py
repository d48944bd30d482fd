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

from hlsgen.config.checks import (
    choice,
    file_digest,
    finite_everywhere,
    integer,
    mapping,
    merge,
    model_file,
    number,
    parse_type,
    safe_path,
    show,
    unknown_keys,
)
from hlsgen.config.identifiers import check_layer_collisions, check_top_name
from hlsgen.config.precision import LayerPrecision, TypeKey, parse_precision, precision_with
from hlsgen.config.schema import (
    ACTIVATIONS,
    LayerConfig,
    parse_model,
)
from hlsgen.config.yamlfile import read_yaml
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType
from hlsgen.fixed.bits import ceillog2
from hlsgen.hls_settings import HlsSettings

SOFTMAX_IMPLEMENTATIONS = ("stable", "latency", "argmax", "none")
IO_TYPES = ("io_stream", "io_parallel")
STRATEGIES = ("Resource", "Latency")
BACKENDS = ("Vitis",)
TRAIN_INITS = ("float", "scratch")  # or the path of a Keras model file: its weights (hlsgen import)
#: Pixel scalings a model given by train.init may have been trained with (its input = pixel / scale);
#: hlsgen's hardware takes pixel / 256 (the ap_ufixed<8,0> codes are the pixel bytes).
INPUT_SCALES = (256, 255)
OPTIMIZERS = ("adadelta", "adam", "sgd", "rmsprop")
#: Largest seed: Keras' set_random_seed takes 0..2**32 - 1.
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 10**6
MAX_BATCH = 2**24
MAX_REUSE = 2**24
MAX_TABLE_SIZE = 2**16

# Defaults that the resolved config spells out (`hlsgen check` prints them all).
DEFAULTS: dict[str, Any] = {
    "seed": 1,
    "data": {"dataset": "mnist", "path": None},
    # init: float = QAT fine-tunes the trained float model's weights (measured better than from scratch);
    # scratch = QAT from random weights (seeded); a model file (.h5/.keras) = its weights (hlsgen import):
    # epochs 0 rounds them into the types (PTQ), epochs > 0 fine-tunes QAT from them. input_scale (only
    # with a model file): 255 when that model was trained on pixel/255 (folded into its first layer).
    "train": {"epochs": 12, "batch_size": 128, "optimizer": "adadelta", "learning_rate": 1.0, "init": "float"},
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
        # none (the HLS project only) or a board (BOARD_PARTS): its part and clock unless given here
        "board": "none",
    },
}
#: hls.board -> (part, clock in ns). The board's other facts (PS, DMA widths) are hlsgen.board.boards';
#: tests/board/test_boards.py checks that both tables agree (config may import only hlsgen.fixed).
BOARD_PARTS = {
    "pynq-z2": ("xc7z020clg400-1", 10.0),
    "zcu104": ("xczu7ev-ffvc1156-2-e", 10.0),
    "kv260": ("xck26-sfvc784-2LV-c", 10.0),
}
_TOP_KEYS = ("name", "seed", "data", "model", "train", "precision", "hls", "output_dir")


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


def least_epochs(init: str) -> int:
    """The fewest epochs ``train.epochs`` (and ``--epochs``) may say for ``train.init``: 0 -- the given weights
    rounded into the types (PTQ) -- only with a model file, else 1."""
    return 1 if init in TRAIN_INITS else 0


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    init: str = "float"  # "float", "scratch" or the path of a Keras model file
    input_scale: int = 256  # the init model's input is pixel / input_scale
    init_digest: str | None = None  # SHA-256 (16 hex digits) of the init model file

    @property
    def init_path(self) -> Path | None:
        """The Keras model file whose weights start the training (None: ``float`` or ``scratch``)."""
        return None if self.init in TRAIN_INITS else Path(self.init)

    @property
    def least_epochs(self) -> int:
        """:func:`least_epochs` of this ``init``."""
        return least_epochs(self.init)


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
    hls: HlsSettings
    output_dir: Path
    source: Path | None = None
    resolved: Mapping[str, Any] = field(default_factory=dict, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # as given (do not change it)

    def with_types(self, types: Mapping[TypeKey, FixedType]) -> Config:
        """This config with the types of ``types`` set (``{TypeKey: FixedType}``, ``INPUT_KEY`` for the input),
        validated like any config: derived accumulators are derived again. The types travel as FixedTypes,
        never formatted and parsed back (:func:`hlsgen.config.precision.precision_with`)."""
        block = precision_with(self.raw.get("precision"), tuple(lc.name for lc in self.layers), self.input_type,
                               types)
        return config_from_dict({**self.raw, "precision": block}, source=self.source)

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

def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file; raises ConfigError with a one-line message."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level, got {type(raw).__name__}")
    return config_from_dict(raw, source=path)


def config_from_dict(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a config given as a dict (the parsed YAML)."""
    unknown_keys("", raw, _TOP_KEYS)
    for key in ("name", "model"):
        if key not in raw:
            raise ConfigError(f"{key}: required key is missing")
    finite_everywhere("", raw)
    name = check_top_name(raw["name"])
    seed = integer("seed", raw.get("seed", DEFAULTS["seed"]), minimum=0, maximum=MAX_SEED)

    data_raw = merge(DEFAULTS["data"], mapping("data", raw.get("data")))
    unknown_keys("data", data_raw, DEFAULTS["data"])
    choice("data.dataset", data_raw["dataset"], ("mnist",))
    data_path = data_raw["path"]
    if data_path is not None and (not isinstance(data_path, str) or not data_path.isprintable()
                                  or len(data_path) > 4096):
        raise ConfigError(f"data.path: expected a file or folder path (printable characters, at most 4096), "
                          f"got {show(data_path)}")
    data = DataConfig(data_raw["dataset"], Path(data_path) if data_path else None)

    input_shape, layers = parse_model(mapping("model", raw["model"]))
    check_layer_collisions(name, [lc.name for lc in layers])
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
        raise ConfigError(f"output_dir: expected a directory path, got {show(output_dir)}")
    safe_path("output_dir", output_dir)

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
        "train": _resolved_train(train),
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
        output_dir=Path(output_dir), source=source, resolved=MappingProxyType(resolved), raw=raw,
    )


def _parse_train(train_raw: Mapping[str, Any]) -> TrainConfig:
    t = merge(DEFAULTS["train"], train_raw)
    unknown_keys("train", t, (*DEFAULTS["train"], "input_scale"))
    init = model_file("train.init", t["init"], TRAIN_INITS)
    from_file = init not in TRAIN_INITS
    scale = t.get("input_scale", 256)
    if scale not in INPUT_SCALES or isinstance(scale, bool):
        raise ConfigError(f"train.input_scale: expected 256 or 255 (the init model's input is pixel / "
                          f"input_scale), got {show(scale)}")
    if scale != 256 and not from_file:
        raise ConfigError(f"train.input_scale: {scale} applies to a model given by train.init: <model file>; "
                          "hlsgen itself trains on pixel / 256")
    return TrainConfig(
        epochs=integer("train.epochs", t["epochs"], minimum=least_epochs(init), maximum=MAX_EPOCHS),
        batch_size=integer("train.batch_size", t["batch_size"], minimum=1, maximum=MAX_BATCH),
        optimizer=choice("train.optimizer", t["optimizer"], OPTIMIZERS),
        learning_rate=number("train.learning_rate", t["learning_rate"]),
        init=init, input_scale=scale, init_digest=file_digest("train.init", init) if from_file else None,
    )


def _resolved_train(train: TrainConfig) -> dict[str, Any]:
    """The resolved ``train`` section; the model file's digest (so a changed file is retrained) and its input
    scale only when ``init`` names one (other configs keep their digests)."""
    out = {k: getattr(train, k) for k in ("epochs", "batch_size", "optimizer", "learning_rate", "init")}
    if train.init_path is not None:
        out.update(input_scale=train.input_scale, init_sha256=train.init_digest)
    return out


def _parse_softmax(raw: Mapping[str, Any], implementation: str) -> SoftmaxConfig:
    s = merge(DEFAULTS["precision"]["softmax"], raw)
    unknown_keys("precision.softmax", s, DEFAULTS["precision"]["softmax"])
    size = integer("precision.softmax.table_size", s["table_size"], minimum=2, maximum=MAX_TABLE_SIZE)
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
    board = choice("hls.board", h["board"], ("none", *BOARD_PARTS))
    part = h["part"]
    if not isinstance(part, str) or not re.fullmatch(r"[A-Za-z0-9_\-.]{1,64}", part):
        raise ConfigError(f"hls.part: expected an FPGA part name such as 'xc7z020clg400-1', got {show(part)}")
    clock = number("hls.clock_period", h["clock_period"])
    if board != "none":  # the board fixes the part; its clock unless the config gives one
        board_part, board_clock = BOARD_PARTS[board]
        if "part" in hls_raw and part.lower() != board_part.lower():
            raise ConfigError(f"hls.part: {show(part)} is not the part of hls.board {board} ({board_part}); "
                              "remove hls.part or give that part")
        part = board_part
        if "clock_period" not in hls_raw:
            clock = board_clock
    io_type = choice("hls.io_type", h["io_type"], IO_TYPES)
    strategy = choice("hls.strategy", h["strategy"], STRATEGIES)
    softmax = choice("hls.softmax", h["softmax"], SOFTMAX_IMPLEMENTATIONS)
    rf_raw = h["reuse_factor"]
    if isinstance(rf_raw, int) and not isinstance(rf_raw, bool):
        rf_raw = {"default": rf_raw}
    rf_raw = mapping("hls.reuse_factor", rf_raw)
    rf_default = integer("hls.reuse_factor.default", rf_raw.get("default", 1), minimum=1, maximum=MAX_REUSE)
    compute = [lc.name for lc in layers if lc.has_weights]
    unknown_keys("hls.reuse_factor", rf_raw, ["default", *compute])
    reuse = {n: integer(f"hls.reuse_factor.{n}", rf_raw.get(n, rf_default), minimum=1, maximum=MAX_REUSE)
             for n in compute}
    hls = HlsSettings(part=part, clock_period=clock, io_type=io_type, strategy=strategy, backend=backend,
                      reuse_factor=MappingProxyType(reuse), board=board)
    given_clock = h["clock_period"] if board == "none" or "clock_period" in hls_raw else clock
    resolved = {
        "backend": backend, "part": part, "clock_period": given_clock,
        "io_type": io_type, "strategy": strategy, "reuse_factor": {"default": rf_default, **reuse},
        "softmax": softmax,
    }
    if board != "none":  # only then: a config without a board resolves (and digests) as before boards existed
        resolved["board"] = board
    return softmax, hls, resolved


__all__ = ["ACTIVATIONS", "Config", "LayerConfig", "LayerPrecision", "load_config", "config_from_dict"]
