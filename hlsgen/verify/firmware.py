"""The generated firmware checked against the spec: every weight and bias value (the ``.txt`` files C
simulation reads *and* the ``.h`` initialisers synthesis compiles) and every type the arithmetic uses.

What is read is what the C++ compiles: the layer calls of ``firmware/<top>.cpp`` (hls4ml writes one call
per layer, ``nnet::dense<layer9_t, layer10_t, config10>(layer9_out, layer10_out, w10, b10); // fc2``), the
typedefs of ``firmware/defines.h``, the layer configs of ``firmware/parameters.h`` (their ``strategy``
decides the weights' layout: hls4ml transposes them for the Resource strategy) and the arrays of
``firmware/weights/``. A value is compared as a code: ``value * 2**F`` must be a whole number equal to the
spec's code. A value or type that differs is a VerificationError (exit 1) naming the file: the hardware would
not compute what the spec says; firmware that cannot be read as hls4ml writes it is a UsageError (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import UsageError, VerificationError
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec, Stage

#: Largest firmware source read (the weights of 2^24 values at ~12 characters each, with room).
MAX_SOURCE_BYTES = 256 * 2**20
_CALL = re.compile(r"^\s*nnet::(\w+)<\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*>\(([^()]*)\);\s*//\s*(\w+)\s*$", re.M)
_TYPEDEF = re.compile(r"^\s*typedef\s+(.+?)\s+(\w+)\s*;\s*$", re.M)
_STRUCT = re.compile(r"^struct\s+(\w+)\s*:\s*[\w:]+\s*\{(.*?)^\};", re.M | re.S)
_STRATEGY = re.compile(r"static const unsigned strategy\s*=\s*nnet::(\w+)\s*;")
_ARRAY = re.compile(r"^nnet::array<\s*(.+?)\s*,\s*[\d*\s]+>$")
_LOAD = re.compile(r"load_weights_from_txt<\s*(\w+)\s*,\s*(\d+)\s*>\(\s*(\w+)\s*,\s*\"([\w.]+)\"\s*\)")
_INIT = re.compile(r"#else\s*\n\s*(\w+)\s+(\w+)\[(\d+)\]\s*=\s*\{([^{}]*)\};", re.S)
#: A Conv2D's weights as hls4ml's Resource strategy stores them: (F, H, W, C) from Keras' (H, W, C, F).
_RESOURCE_AXES = {"conv2d": (3, 0, 1, 2), "dense": (1, 0)}
_SOFTMAX_TYPES = ("exp_table_t", "inv_table_t", "accum_t", "inv_inp_t", "inp_norm_t")


@dataclass(frozen=True)
class Call:
    """One layer call of the top function: its function, input/output type names, config and arguments."""

    function: str
    in_type: str
    out_type: str
    config: str
    args: tuple[str, ...]
    name: str


def read_source(path: Path) -> str:
    """A firmware text file (a regular file, bounded), or UsageError naming it."""
    from hlsgen.spec.model import read_limited

    try:
        return read_limited(path, MAX_SOURCE_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError) as err:
        why = getattr(err, "strerror", None) or err
        raise UsageError(f"{path}: cannot read ({why}); rebuild the project") from None


def check_firmware(project: Path, spec: HardwareSpec) -> None:
    """Every layer of the spec in the top function, in order, with the spec's types and weight codes
    (``.txt`` and ``.h``); raises UsageError naming the first file that disagrees."""
    fw = project / "firmware"
    top = fw / f"{spec.name}.cpp"
    calls = [Call(m[1], m[2], m[3], m[4], tuple(a.strip() for a in m[5].split(",")), m[6])
             for m in _CALL.finditer(read_source(top))]
    typedefs = {name: text for text, name in _TYPEDEF.findall(read_source(fw / "defines.h"))}
    configs = {name: body for name, body in _STRUCT.findall(read_source(fw / "parameters.h"))}
    loads = {m[3]: (m[1], int(m[2]), m[4]) for m in _LOAD.finditer(read_source(top))}
    by_name = {c.name: c for c in calls}
    wanted = [s for s in spec.stages if s.kind != "flatten"]
    order = [c.name for c in calls if c.name in {s.name for s in wanted}]
    if order != [s.name for s in wanted]:
        raise UsageError(f"{top}: its layers {_few(order)} are not the spec's {_few([s.name for s in wanted])}; "
                         "rebuild the project")
    types = _Types(fw / "defines.h", typedefs)
    types.expect("input_t", spec.input_t, "the input")
    for call in calls:  # layers hls4ml adds (a `_linear` activation, padding) must not change a value
        if call.name not in order and types.resolve(call.in_type) != types.resolve(call.out_type):
            raise UsageError(f"{top}: {call.name} (added by hls4ml) casts {types.resolve(call.in_type)} to "
                             f"{types.resolve(call.out_type)}; rebuild the project")
    for s in wanted:
        call = by_name[s.name]
        types.expect(call.out_type, s.result_t, f"{s.name}'s result")
        config = configs.get(call.config)
        if config is None:
            raise UsageError(f"{fw / 'parameters.h'}: no struct {call.config} (the config of {s.name}); "
                             "rebuild the project")
        members = dict((name, text) for text, name in _TYPEDEF.findall(config))
        if s.kind.weighted:
            for key, t in (("weight_t", s.weight_t), ("bias_t", s.bias_t), ("accum_t", s.accum_t)):
                types.expect(_member(members, key, call.config, fw), t, f"{s.name}'s {key}")
            _check_weights(fw, s, call, _strategy(config, configs, members, call.config, fw), loads)
        elif s.kind == "softmax" and s.params is not None:
            for key in _SOFTMAX_TYPES:
                t = getattr(s.params, key, None)
                if t is not None:
                    types.expect(_member(members, key, call.config, fw), t, f"{s.name}'s {key}")


class _Types:
    """defines.h's typedefs resolved to FixedTypes (an ``nnet::array<T, n>`` to its element ``T``)."""

    def __init__(self, path: Path, typedefs: dict[str, str]):
        self.path, self.typedefs = path, typedefs

    def resolve(self, name: str) -> FixedType | None:
        text = self.typedefs.get(name)
        seen = 0
        while text is not None and text in self.typedefs and seen < 8:  # typedef of a typedef
            text, seen = self.typedefs[text], seen + 1
        if text is None:
            return None
        array = _ARRAY.match(text)
        try:
            return FixedType.parse((array[1] if array else text).replace(" ", ""))
        except Exception:  # noqa: BLE001  (any spelling FixedType does not read is not the spec's type)
            return None

    def expect(self, name: str, t: FixedType, what: str) -> None:
        got = self.resolve(name)
        if got != t:
            shown = self.typedefs.get(name, "no such typedef")
            raise VerificationError(f"{self.path}: {name} ({what}) is {shown[:60]}, the spec's type is {t}; the "
                                    "firmware is not the spec's: rebuild the project")


def _member(members: dict[str, str], key: str, config: str, fw: Path) -> str:
    if key not in members:
        raise UsageError(f"{fw / 'parameters.h'}: {config} has no typedef {key}; rebuild the project")
    return members[key]


def _strategy(config: str, configs: dict[str, str], members: dict[str, str], name: str, fw: Path) -> str:
    """The weights' layout hls4ml chose: the ``strategy`` of the layer's config and of its multiplication
    config (a convolution's ``mult_config``), which must agree."""
    found = set(_STRATEGY.findall(config))
    mult = members.get("mult_config")
    if mult is not None:
        found |= set(_STRATEGY.findall(configs.get(mult, "")))
    if len(found) != 1:
        raise UsageError(f"{fw / 'parameters.h'}: {name}: strategy {sorted(found) or 'missing'}; expected one of "
                         "nnet::latency or nnet::resource; rebuild the project")
    return found.pop()


def _check_weights(fw: Path, s: Stage, call: Call, strategy: str, loads: dict[str, tuple[str, int, str]]) -> None:
    """The weight and bias arrays of ``call`` (its last two arguments) equal the spec's codes, in the order
    the strategy stores them, in both the ``.txt`` file and the ``.h`` initialiser."""
    if len(call.args) < 4:
        raise UsageError(f"{fw}: the call of {s.name} passes no weights; rebuild the project")
    w_var, b_var = call.args[-2], call.args[-1]
    weights = np.asarray(s.weight_codes)
    if strategy.startswith("resource"):
        weights = weights.transpose(_RESOURCE_AXES[s.kind.value])
    for var, codes, t, what in ((w_var, weights, s.weight_t, "weight"), (b_var, np.asarray(s.bias_codes), s.bias_t,
                                                                           "bias")):
        flat = codes.reshape(-1)
        load = loads.get(var)
        if load is None or load[1] != flat.size or load[2] != f"{var}.txt":
            raise UsageError(f"{fw / 'weights' / (var + '.txt')}: the top function does not load {flat.size} values "
                             f"of {s.name}'s {what} from it; rebuild the project")
        txt = fw / "weights" / f"{var}.txt"
        _compare(txt, read_source(txt), flat, t, s.name, what)
        header = fw / "weights" / f"{var}.h"
        init = [m for m in _INIT.finditer(read_source(header)) if m[2] == var]
        if len(init) != 1 or int(init[0][3]) != flat.size:
            raise UsageError(f"{header}: no initialiser '{var}[{flat.size}] = {{...}}' for synthesis; "
                             "rebuild the project")
        _compare(header, init[0][4], flat, t, s.name, what)


def _compare(path: Path, text: str, codes: np.ndarray, t: FixedType, stage: str, what: str) -> None:
    tokens = [tok.strip() for tok in text.replace("\n", " ").split(",")]
    tokens = tokens[:-1] if tokens and tokens[-1] == "" else tokens
    if len(tokens) != codes.size:
        raise VerificationError(f"{path}: {len(tokens)} values, the spec's {stage} {what} has {codes.size}; the "
                                "firmware is not the spec's: rebuild the project")
    try:
        values = np.array([float(tok) for tok in tokens], dtype=np.float64)
    except ValueError:
        bad = next(tok for tok in tokens if not _is_float(tok))
        raise UsageError(f"{path}: {bad[:20]!r} is not a number; rebuild the project") from None
    scaled = values * 2.0**t.frac
    got = np.where(np.isfinite(scaled), np.round(scaled), np.nan)
    wrong = ~(got == scaled) | (got != codes)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise VerificationError(f"{path}: {int(wrong.sum())} of {codes.size} values differ from the spec's {stage} "
                                f"{what} codes, first at {i}: spec {codes[i] * t.lsb:g} (code {int(codes[i])}), file "
                                f"{tokens[i][:20]}; the firmware is not the spec's: rebuild the project")


def _is_float(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _few(names: list[str]) -> str:
    return "[" + ", ".join(names[:6]) + (", ..." if len(names) > 6 else "") + "]"
