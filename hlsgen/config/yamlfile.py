"""Reading a config's YAML safely: bounded size, no duplicate keys, no alias bombs.

PyYAML's ``safe_load`` lets the last of two equal keys win silently, and shares aliased nodes, so a
few lines of anchors ("billion laughs") stand for a value of billions of elements that costs
nothing until something walks it (an error message once printed 351 MB). This reader refuses
both, and files over :data:`MAX_BYTES`, each with a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hlsgen.config.checks import show_key
from hlsgen.config.precision import Quantity
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType

# A Quantity (a str enum) is written as the precision key it stands for, a FixedType as its C++ spelling (a
# config changed with Config.with_types holds FixedTypes).
yaml.SafeDumper.add_representer(Quantity, lambda dumper, q: dumper.represent_str(q.value))
yaml.SafeDumper.add_representer(FixedType, lambda dumper, t: dumper.represent_str(str(t)))

#: Largest config file read (the reference config is 4 kB).
MAX_BYTES = 1 << 20
#: Most YAML nodes a config may stand for with every alias expanded (the reference config: ~200).
MAX_NODES = 100_000
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 50

# An unquoted type inside a YAML flow mapping, `{result: ap_fixed<8,3,AP_RND,AP_SAT>}`, would be split
# at its commas by YAML. Quote every bare type spelling first; columns shift, line numbers do not.
_BARE_TYPE = re.compile(r"""(?<!["'\w])((?:ap_)?u?(?:fixed|int)<[^<>\n"']*>)""")
_MERGE_TAG = "tag:yaml.org,2002:merge"


def quote_types(text: str) -> str:
    """Put double quotes around each unquoted ``ap_fixed<...>``-style type in YAML text."""
    return _BARE_TYPE.sub(r'"\1"', text)


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (merge keys ``<<`` may be overridden,
    as YAML specifies)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # SafeConstructor reports unhashable keys itself
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKeyError(f"{show_key(key)}: key given twice, on lines {seen[key]} and {line} "
                                            "(YAML would silently keep the last)")
                seen[key] = line
        return super().construct_mapping(node, deep)


def _count_nodes(root: yaml.Node) -> None:
    """Refuse a node graph that, with every alias expanded, exceeds MAX_NODES nodes or MAX_DEPTH levels,
    or refers to itself. Sizes are memoized per node, so a bomb is measured without expanding it."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise ConfigError(f"nesting deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})")
        if key in active:
            raise ConfigError(f"line {node.start_mark.line + 1}: a YAML alias refers to its own anchor "
                              "(a recursive value)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_NODES:
                raise ConfigError(f"line {node.start_mark.line + 1}: with its aliases expanded the YAML holds "
                                  f"more than {MAX_NODES} values (an alias bomb?); a config needs a few hundred")
        active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def read_yaml(path: Path) -> Any:
    """Parse a config file: at most MAX_BYTES, UTF-8, bare types quoted (:func:`quote_types`), no
    duplicate keys, at most MAX_NODES values with aliases expanded. ConfigError names the file (and line)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} kB; a config is a few kB of YAML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: cannot read config: not UTF-8 text (byte {err.start})") from None
    loader = _StrictLoader(quote_types(text))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _count_nodes(node)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
        return loader.construct_document(node)
    except DuplicateKeyError as err:
        raise ConfigError(f"{path}: {err.message}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = (getattr(err, "problem", None) or str(err) or type(err).__name__).splitlines()[0]
        raise ConfigError(f"{where}: YAML syntax error: {problem[:200]}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{path}: cannot read config: {str(err).splitlines()[0][:200]}") from None
    finally:
        loader.dispose()
