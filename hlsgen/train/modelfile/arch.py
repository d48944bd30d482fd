"""A model file's architecture JSON (Keras 2 or Keras 3 layout) -> :class:`Architecture`: a single-input,
single-output chain of supported layers, every argument checked (:mod:`.layerspec`), after the whole tree was
scanned for code (:mod:`.scan`). Nothing is instantiated here; :mod:`.build` builds the Keras model from it.

Layouts read: ``model.to_json()`` and an ``.h5`` file's ``model_config`` (Keras 2: ``{"class_name":
"Sequential"|"Functional", "config": {"layers": [...]}}``, layers ``{"class_name", "config"}``, functional
inbound nodes ``[[["prev", 0, 0, {}]]]``, inputs ``batch_input_shape``), and Keras 3's (``module`` and
``registered_name`` beside every class, inbound nodes ``[{"args": [{"class_name": "__keras_tensor__",
"config": {"keras_history": ["prev", 0, 0]}}], "kwargs": {}}]``, inputs ``batch_shape``, a single model input
``["name", 0, 0]`` unnested).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hlsgen.config.schema import MAX_DIM
from hlsgen.train.modelfile.layerspec import SUPPORTED, LayerSpec, layer_spec
from hlsgen.train.modelfile.scan import fail, scan

MAX_LAYERS = 256  # hls4ml projects of hlsgen have a few; Keras 2 builds a 1,000-layer chain into a RecursionError
_LAYER_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.-]{0,255}\Z")  # TensorFlow's root name scopes (Keras 2)
_MODELS = ("Sequential", "Functional", "Model")
_CHAIN = "the model is not a simple chain (a layer used twice, or an input that is not the previous layer's output)"


@dataclass
class Architecture:
    """A checked chain: ``layers`` in the order data flows (InputLayer excluded); ``saved`` the ``(class,
    name)`` of ``model.layers`` in the file's order, as Keras saves weights (a Sequential's list without
    its InputLayer, a functional model's with it)."""

    name: str
    input_name: str
    input_shape: tuple[int, ...]
    layers: list[LayerSpec]
    saved: list[tuple[str, str]]


@dataclass
class _Entry:
    cls: str
    name: str
    cfg: dict
    raw: dict


def _entry(raw: Any, index: int, where: str) -> _Entry:
    if not (isinstance(raw, dict) and isinstance(raw.get("class_name"), str) and isinstance(raw.get("config"), dict)):
        raise fail(where, f"layer {index} of the architecture is not a {{class_name, config}} object")
    cls, cfg = raw["class_name"], raw["config"]
    # Keras 3's .h5 writer names a registered class by its registered name: qkeras-v3's layers are
    # 'qkeras>QDense' there (a class not of QKeras then fails layer_spec's list of supported classes)
    cls = cls.removeprefix("qkeras>")
    name = cfg.get("name", raw.get("name"))
    if not isinstance(name, str) or not _LAYER_NAME.match(name):
        raise fail(where, f"layer {index} ({cls[:80]}): name {str(name)[:80]!r} is not a name hlsgen's Keras can "
                          "build (1 to 256 of A-Z a-z 0-9 _ . -, not starting with _ or -)")
    return _Entry(cls, name, cfg, raw)


def _shape(value: Any, where: str, what: str) -> tuple[int, ...]:
    if not (isinstance(value, list) and 2 <= len(value) <= 5 and value[0] in (None, 1)
            and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_DIM for d in value[1:])):
        raise fail(where, f"{what}: input shape {str(value)[:80]}: expected [None, d1, ...] with every dimension "
                          f"known, from 1 to {MAX_DIM}")
    return tuple(value[1:])


def _input_shape(entry: _Entry | None, first: _Entry | None, config: dict, where: str) -> tuple[int, ...]:
    for e in (entry, first):
        if e is None:
            continue
        for key in ("batch_input_shape", "batch_shape"):  # Keras 2, Keras 3
            if e.cfg.get(key) is not None:
                return _shape(e.cfg[key], where, f"layer '{e.name}' ({e.cls})")
    if config.get("build_input_shape") is not None:
        return _shape(config["build_input_shape"], where, "build_input_shape")
    raise fail(where, "the architecture states no input shape (no InputLayer, batch_input_shape or build_input_shape)")


def _tensor_names(value: Any) -> list[str]:
    """Layer names of a model's ``input_layers``/``output_layers``: ``[["a", 0, 0]]`` (Keras 2 and 3) or
    ``["a", 0, 0]`` (Keras 3, one tensor), or a dict of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str) and isinstance(value[1], int):
        return [value[0]]
    if isinstance(value, list):
        return [n for v in value for n in _tensor_names(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _tensor_names(v)]
    return []


def _node_sources(node: Any) -> list[str]:
    """The layers feeding one inbound node: Keras 2 ``[["prev", 0, 0, {}], ...]``; Keras 3 ``{"args": [...],
    "kwargs": {...}}`` holding ``__keras_tensor__`` objects (anywhere in args and kwargs)."""
    if isinstance(node, list):
        return [item[0] for item in node if isinstance(item, list) and item and isinstance(item[0], str)]
    found: list[str] = []
    stack = [node]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if v.get("class_name") == "__keras_tensor__":
                history = (v.get("config") or {}).get("keras_history")
                if isinstance(history, list) and history and isinstance(history[0], str):
                    found.append(history[0])
                continue
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return found


def _functional(model: str, entries: list[_Entry], config: dict, where: str) -> tuple[_Entry, list[_Entry]]:
    ins, outs = _tensor_names(config.get("input_layers")), _tensor_names(config.get("output_layers"))
    if len(ins) != 1 or len(outs) != 1:
        raise fail(where, f"model '{model}': {len(ins)} inputs and {len(outs)} outputs; only single-input, "
                          "single-output chains are supported")
    by_name = {e.name: e for e in entries}
    first = by_name.get(ins[0])
    if first is None or first.cls != "InputLayer":
        raise fail(where, f"model '{model}': its input '{ins[0][:80]}' is not an InputLayer of the model")
    consumers: dict[str, list[_Entry]] = {}
    for e in entries:
        if e is first:
            continue
        nodes = e.raw.get("inbound_nodes")
        sources = _node_sources(nodes[0]) if isinstance(nodes, list) and len(nodes) == 1 else []
        if len(sources) != 1 or sources[0] not in by_name:
            raise fail(where, f"layer '{e.name}' ({e.cls}): {_CHAIN}")
        consumers.setdefault(sources[0], []).append(e)
    chain, current = [], first
    while current.name in consumers:
        following = consumers[current.name]
        if len(following) > 1:
            raise fail(where, f"layer '{following[1].name}' ({following[1].cls}): {_CHAIN}")
        current = following[0]
        chain.append(current)
    if len(chain) != len(entries) - 1:
        stray = next(e for e in entries if e is not first and e not in chain)
        raise fail(where, f"layer '{stray.name}' ({stray.cls}): {_CHAIN}")
    if outs[0] != current.name:
        raise fail(where, f"model '{model}': its output is not its last layer's; only simple chains are supported")
    return first, chain


def parse_architecture(tree: Any, where: str) -> Architecture:
    """The :class:`Architecture` of a model's JSON ``tree`` (``where``: the file, for messages).

    Raises
    ------
    HlsgenError
        Code anywhere in the tree (:func:`~hlsgen.train.modelfile.scan.scan`), a layer class hlsgen does not
        support (first, naming the layer and its class), a topology other than a chain, an argument or size
        out of range: one line starting with ``where``.
    """
    scan(tree, where)
    if not (isinstance(tree, dict) and isinstance(tree.get("config"), dict)
            and isinstance(tree.get("class_name"), str)):
        found = f"keys {', '.join(str(k)[:40] for k in list(tree)[:5])}" if isinstance(tree, dict) \
            else type(tree).__name__
        raise fail(where, "not a Keras model architecture (model.to_json() has class_name Sequential or Functional "
                          f"and a config; this JSON has {found})")
    if tree["class_name"] not in _MODELS:
        raise fail(where, f"model class {tree['class_name'][:80]!r} is not a Keras Sequential or functional model "
                          "(a subclassed model's code is not in the file)")
    config = tree["config"]
    raw_layers = config.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise fail(where, "the architecture has no layers")
    if len(raw_layers) > MAX_LAYERS:
        raise fail(where, f"the architecture has {len(raw_layers):,} layers; the limit is {MAX_LAYERS:,}")
    entries = [_entry(raw, i, where) for i, raw in enumerate(raw_layers)]
    for e in entries:  # the first unsupported class is the clearer message, before the topology
        if e.cls not in (*SUPPORTED, "InputLayer"):
            kind = "a nested model" if e.cls in _MODELS or "layers" in e.cfg else "unsupported layer type"
            raise fail(where, f"layer '{e.name}' ({e.cls[:80]}): {kind}; supported: {', '.join(SUPPORTED)}")
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise fail(where, f"two layers are named '{twice}'")
    model = str(config.get("name", "model"))[:80]
    if tree["class_name"] == "Sequential":
        inputs = [e for e in entries if e.cls == "InputLayer"]
        if inputs and (len(inputs) > 1 or entries[0] is not inputs[0]):
            raise fail(where, f"layer '{inputs[-1].name}' (InputLayer): {_CHAIN}")
        first = inputs[0] if inputs else None
        chain = [e for e in entries if e.cls != "InputLayer"]
        saved = chain
    else:
        first, chain = _functional(model, entries, config, where)
        saved = entries
    shape = _input_shape(first, chain[0] if chain else None, config, where)
    layers = []
    for e in chain:
        spec = layer_spec(e.cls, e.name, e.cfg, shape, where)
        layers.append(spec)
        shape = spec.output_shape
    if not layers:
        raise fail(where, f"model '{model}' has no layers after its input")
    return Architecture(model, first.name if first else "input", _input_shape(first, chain[0], config, where),
                        layers, [(e.cls, e.name) for e in saved])
