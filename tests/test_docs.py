"""Docs that cannot lie (issue 25): every ``hlsgen.x.y`` named in a docstring, a comment, README.md or
docs/*.md, and every relative Sphinx role (``:mod:`.tables```, ``:func:`.evidence.build_id```), resolves to a
module that exists and, past the module, to an attribute it defines. Checked by reading the sources (no
import: a name that exists only at run time is not documentation anyone can follow)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hlsgen"
_ABSOLUTE = re.compile(r"(?<![\w.])hlsgen(?:\.[A-Za-z_]\w*)+")
_RELATIVE = re.compile(r":(?:mod|func|class|meth|data|attr):`~?(\.[\w.]+)`")
_PATH = re.compile(r"(?<![\w./-])hlsgen/[\w/]+\.py")


def module_file(dotted: str) -> Path | None:
    """The source of the module ``dotted`` (``hlsgen.a.b``): a .py file or a package's __init__.py."""
    path = ROOT.joinpath(*dotted.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


@cache
def names_defined(source: Path) -> frozenset[str]:
    """Top-level names a module defines or imports (functions, classes, assignments, imports), the names
    of its submodules for a package, and for classes their attributes as ``Class.attr``."""
    tree = ast.parse(source.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        names.add(f"{node.name}.{item.name}")
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        names.add(f"{node.name}.{item.target.id}")
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try):  # TYPE_CHECKING blocks, optional imports
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    if source.name == "__init__.py":
        names |= {p.stem for p in source.parent.glob("*.py")} | {p.name for p in source.parent.iterdir()
                                                                 if (p / "__init__.py").is_file()}
        for node in tree.body:  # PEP 562: the names a lazy package lists (a tuple of strings) for __getattr__
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.List):
                names |= {c.value for c in node.value.elts if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return frozenset(names)


def resolves(dotted: str) -> bool:
    parts = dotted.rstrip(".").split(".")
    for k in range(len(parts), 0, -1):
        source = module_file(".".join(parts[:k]))
        if source is None:
            continue
        rest = parts[k:]
        if not rest:
            return True
        return rest[0] in names_defined(source) and (len(rest) == 1 or ".".join(rest[:2]) in names_defined(source))
    return False


def texts() -> list[tuple[Path, str, str | None]]:
    """(file, text, its module's dotted name or None) for every source file, README.md and docs/*.md."""
    out = [(p, p.read_text(), ".".join(p.relative_to(ROOT).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")]
    out += [(p, p.read_text(), None) for p in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))]
    return out


def relative(module: str, ref: str) -> str:
    """``.x.y`` named in ``module`` (``hlsgen.a.b``): resolved against its package, as Sphinx does."""
    package = module.rsplit(".", 1)[0] if not module.endswith("__init__") else module.rsplit(".", 1)[0]
    up = len(ref) - len(ref.lstrip(".")) - 1
    base = package.split(".")
    return ".".join(base[: len(base) - up] + [ref.lstrip(".")])


def test_every_named_hlsgen_module_and_attribute_exists():
    broken = []
    for path, text, module in texts():
        for m in _ABSOLUTE.finditer(text):
            if not resolves(m.group(0)):
                broken.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
        if module is not None:
            for m in _RELATIVE.finditer(text):
                target = relative(module, m.group(1))
                if not resolves(target):
                    broken.append(f"{path.relative_to(ROOT)}: {m.group(0)} ({target})")
    assert not broken, f"{len(broken)} names that do not exist, first: {broken[:12]}"


def test_every_named_source_file_exists():
    broken = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path, text, _ in texts() for m in _PATH.finditer(text)
              if not (ROOT / m.group(0)).is_file()]
    assert not broken, f"{len(broken)} paths that do not exist, first: {broken[:12]}"
