"""Nothing in a model file's architecture JSON may name code: the whole tree is walked once, bounded (depth,
element count), before any of it is used, and every object that could make a loader import a module or run a
function is refused with one line naming the layer (when inside one) and what was found.

Refused anywhere in the tree: a Lambda layer or a serialized Python function (``__lambda__``, ``function_type``,
``class_name: function`` of a module other than Keras' own), an object whose ``module`` is not Keras', QKeras' or
hlsgen's (``__main__`` and user packages: custom objects, whose code is not in the file), a ``registered_name``
other than the class's own (``package>Name``: registered by user code; qkeras-v3 registers its own
classes as ``qkeras>Name``, which is QKeras'), and a module-less object in Keras 3's
layout. Quantizers written as strings (``"quantized_relu(8,3)"``) are parsed here with :mod:`ast` into a name
and literal arguments: QKeras would evaluate them by calling whatever its module holds under that name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from hlsgen.errors import HlsgenError

MAX_DEPTH = 64  # Keras' own configs nest about 8 deep (model, layers, layer, quantizer in initializer, ...)
MAX_ELEMENTS = 200_000  # a 1,000-layer config has about 60,000
MAX_STRING = 1 << 16  # one JSON string; a layer's name or a quantizer text is far shorter

#: Modules whose classes may appear in a config: Keras 2 (``keras``, ``tf_keras``), Keras 3, QKeras, hlsgen.
_MODULES = re.compile(r"(keras|tf_keras|qkeras|hlsgen\.train\.quantizers)(\.[A-Za-z0-9_.]+)?\Z")
_KERAS = re.compile(r"(keras|tf_keras)(\.[A-Za-z0-9_.]+)?\Z")

#: QKeras quantizers hlsgen maps to types (:mod:`hlsgen.importer.quant`): activation quantizers by their
#: arguments, weight quantizers by the values they give; hlsgen's own two (a QAT model of hlsgen's).
QUANTIZERS = ("quantized_bits", "quantized_relu", "quantized_po2", "quantized_relu_po2", "binary", "ternary",
              "hlsgen_quantized_bits", "hlsgen_quantized_relu")
STOCHASTIC = ("stochastic_binary", "stochastic_ternary", "bernoulli")


@dataclass(frozen=True)
class Quantizer:
    """A QKeras quantizer as the file states it: its class name and literal arguments, nothing instantiated."""

    name: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({','.join(parts)})"


def fail(where: str, message: str) -> HlsgenError:
    return HlsgenError(f"{where}: {message}" if where else message)


def _describe(obj: dict) -> str:
    module = obj.get("module")
    return f"'{obj.get('class_name')}'" + (f" of module '{module}'" if isinstance(module, str) else "")


def code_in(obj: dict) -> str | None:
    """Why the JSON object ``obj`` names code (a function, a custom or foreign class), or None."""
    if "function_type" in obj or obj.get("class_name") in ("__lambda__", "Lambda"):
        return "a Python function stored in the file (Lambda); hlsgen never runs code from a model file"
    if "class_name" not in obj:
        return None
    name, module, registered = obj.get("class_name"), obj.get("module"), obj.get("registered_name")
    if not isinstance(name, str):
        return f"a class_name that is not a string ({type(name).__name__})"
    if name == "function":  # Keras' own functions (a loss in compile_config) name a keras module
        if isinstance(module, str) and _KERAS.match(module):
            return None
        of = f" of module '{module}'" if isinstance(module, str) else ""
        return f"a serialized function {str(obj.get('config'))[:80]!r}{of}: hlsgen never runs code from a model file"
    if "module" in obj and module is None and name not in ("__keras_tensor__", "__tuple__"):
        return f"a custom object {name!r} (defined in the user's script, module __main__): its code is not in the file"
    if module is not None and not (isinstance(module, str) and _MODULES.match(module)):
        return f"a custom object {_describe(obj)}: only Keras', QKeras' and hlsgen's own classes are read"
    # qkeras-v3 registers its classes under the package 'qkeras' (Keras 3's 'package>Name' spelling)
    qkeras_own = isinstance(module, str) and module.split(".")[0] == "qkeras" and registered == f"qkeras>{name}"
    if registered is not None and registered != name and not qkeras_own:
        return (f"{_describe(obj)} registered as {str(registered)[:80]!r} (a custom object registered by user code): "
                "only Keras', QKeras' and hlsgen's own classes are read")
    return None


def scan(tree: Any, where: str) -> None:
    """Walk the whole JSON ``tree`` (iteratively): at most :data:`MAX_DEPTH` deep and :data:`MAX_ELEMENTS`
    values, no string over :data:`MAX_STRING` characters, no object that names code (:func:`code_in`).
    The message names the layer the object is in (``layer 'x' (Class)``) when it is inside one."""
    stack: list[tuple[Any, int, str]] = [(tree, 0, "")]
    count = 0
    while stack:
        node, depth, layer = stack.pop()
        count += 1
        if count > MAX_ELEMENTS:
            raise fail(where, f"the architecture JSON holds over {MAX_ELEMENTS:,} values; the limit is "
                              f"{MAX_ELEMENTS:,} (no supported model comes near it)")
        if depth > MAX_DEPTH:
            raise fail(where, f"the architecture JSON nests deeper than {MAX_DEPTH} levels (the limit)")
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                raise fail(where, f"{layer + ': ' if layer else ''}a string of {len(node):,} characters in the "
                                  f"architecture JSON; the limit is {MAX_STRING:,}")
        elif isinstance(node, dict):
            cfg = node.get("config")
            if isinstance(cfg, dict) and isinstance(cfg.get("name"), str) and isinstance(node.get("class_name"), str) \
                    and ("inbound_nodes" in node or depth == 3):  # an entry of config.layers
                layer = f"layer '{cfg['name'][:80]}' ({node['class_name'][:80]})"
            why = code_in(node)
            if why is not None:
                raise fail(where, f"{layer + ': ' if layer else ''}{why}")
            stack.extend((v, depth + 1, layer) for v in node.values())
            stack.extend((k, depth + 1, layer) for k in node)
        elif isinstance(node, list):
            stack.extend((v, depth + 1, layer) for v in node)


# ------------------------------------------------------------------------------ quantizers

def _literal(node: ast.expr) -> Any:
    value = ast.literal_eval(node)  # constants, +/- numbers, tuples and lists of them; never a call
    if isinstance(value, tuple | list) and not all(isinstance(v, int | float) for v in value):
        raise ValueError("only numbers in a sequence")
    if not isinstance(value, str | int | float | bool | tuple | list | type(None)):
        raise ValueError(f"a {type(value).__name__}")
    return value


def parse_quantizer_text(text: str) -> Quantizer | None:
    """``"quantized_relu(8,3)"`` or ``"quantized_bits(6, 0, alpha=1)"`` as a :class:`Quantizer` (its name and
    literal arguments, parsed with :mod:`ast`, nothing evaluated); a bare name gives no arguments; None when the
    text is no call of a name with literal arguments."""
    if len(text) > 300:
        return None
    try:
        expr = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if isinstance(expr, ast.Name):
        return Quantizer(expr.id)
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)):
        return None
    try:
        args = tuple(_literal(a) for a in expr.args)
        kwargs = {k.arg: _literal(k.value) for k in expr.keywords if k.arg is not None}
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    if len(kwargs) != len(expr.keywords):
        return None
    return Quantizer(expr.func.id, args, kwargs)


def _check_quantizer(q: Quantizer, where: str) -> Quantizer:
    if q.name in STOCHASTIC or q.name.startswith("stochastic"):
        raise fail(where, f"{q}: stochastic quantizers are not supported (the hardware is deterministic)")
    if q.name not in QUANTIZERS:
        raise fail(where, f"unsupported quantizer {q.name!r} (supported: {', '.join(QUANTIZERS[:6])})")
    for key, value in [*enumerate(q.args), *q.kwargs.items()]:
        if isinstance(value, list | tuple) and len(value) > 4096:
            raise fail(where, f"{q.name}: argument {key} holds {len(value)} values")
        if isinstance(value, str) and len(value) > 64:
            raise fail(where, f"{q.name}: argument {key} is a string of {len(value)} characters")
    return q


def quantizer(value: Any, where: str) -> Quantizer | None:
    """A quantizer argument of a QKeras layer (``kernel_quantizer``, QActivation's ``activation``, ...) as a
    checked :class:`Quantizer`: a serialized quantizer object ``{"class_name": ..., "config": {...}}`` whose
    config holds only literals, or a quantizer string. None for None/empty. Raises HlsgenError (``where``:
    the layer and argument) for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        q = parse_quantizer_text(value)
        if q is None:
            raise fail(where, f"{value[:80]!r} is not a quantizer call with literal arguments")
        return _check_quantizer(q, where)
    if isinstance(value, dict) and isinstance(value.get("class_name"), str) and isinstance(value.get("config"), dict):
        config = value["config"]
        for key, v in config.items():
            if isinstance(v, dict | list) and not (isinstance(v, list) and all(isinstance(x, int | float) for x in v)):
                raise fail(where, f"{value['class_name']}: argument {key!r} is an object; quantizer arguments are "
                                  "literals")
        # qkeras-v3 quantizers in a Keras 3 .h5 are named by their registered name, 'qkeras>quantized_bits'
        name = value["class_name"].removeprefix("qkeras>")
        return _check_quantizer(Quantizer(name, (), dict(config)), where)
    raise fail(where, f"a {type(value).__name__} where a quantizer was expected")
