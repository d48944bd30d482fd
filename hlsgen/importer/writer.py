"""The imported config as commented YAML text: one line per layer, the notes beside what they explain."""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value: Any) -> str:
    """A YAML scalar: bare identifiers, quoted otherwise (types such as ap_fixed<8,3> hold commas)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return flow(value)
    text = str(value)
    return text if _PLAIN.match(text) and text.lower() not in _WORDS else json.dumps(text)


def flow(mapping: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in mapping.items()) + "}"


def _comment(line: str, notes: list[str] | None, width: int = 0) -> list[str]:
    """``line`` with the first note after it, further notes on their own comment lines below."""
    if not notes:
        return [line]
    pad = " " * max(1, width - len(line) + 1)
    indent = " " * (len(line) - len(line.lstrip()))
    return [f"{line}{pad}# {notes[0]}"] + [f"{indent}  # {n}" for n in notes[1:]]


def render(raw: dict[str, Any], header: list[str], notes: dict[str, dict[str, list[str]]]) -> str:
    """The config ``raw`` as YAML: ``header`` comment lines first; ``notes[section][key]`` beside a key
    (sections: ``top``, ``layers``, ``train``, ``precision``, ``hls``)."""
    out = [f"# {h}" if h else "#" for h in header]
    top = notes.get("top", {})
    out += _comment(f"name: {scalar(raw['name'])}", top.get("name"), 40)
    out.append(f"seed: {raw['seed']}")
    out += _comment(f"data: {flow(raw['data'])}", top.get("data"), 40)
    out += ["model:", f"  input_shape: {scalar(raw['model']['input_shape'])}", "  layers:"]
    for entry in raw["model"]["layers"]:
        out += _comment(f"    - {flow(entry)}", notes.get("layers", {}).get(entry["name"]), 100)
    out.append("train:")
    for key, value in raw["train"].items():
        out += _comment(f"  {key}: {scalar(value)}", notes.get("train", {}).get(key), 40)
    prec = raw["precision"]
    out.append("precision:")
    out += _comment(f"  input: {scalar(prec['input'])}", notes.get("precision", {}).get("input"), 40)
    out.append(f"  default: {flow(prec['default'])}")
    out.append("  layers:")
    for name, entry in prec["layers"].items():
        out += _comment(f"    {name}: {flow(entry)}", notes.get("precision", {}).get(name), 100)
    if "softmax" in prec:
        out.append(f"  softmax: {flow(prec['softmax'])}")
    out.append("hls:")
    for key, value in raw["hls"].items():
        out += _comment(f"  {key}: {scalar(value)}", notes.get("hls", {}).get(key), 40)
    out += _comment(f"output_dir: {scalar(raw['output_dir'])}", top.get("output_dir"), 40)
    return "\n".join(out) + "\n"
