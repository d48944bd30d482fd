"""The package layout's rules (docs/architecture.md): what may import what, no import cycles, and the golden
model loads no TensorFlow, QKeras, hls4ml, PyYAML or config code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hlsgen"

# hlsgen's own packages each package may import (at any depth, lazily or not); the leaves errors, derived_names
# (the derived-name rules), hls_settings (HlsSettings) and geometry (Keras' window rules) are everyone's.
ALLOWED = {
    "fixed": set(),
    "spec": {"fixed"},
    "golden": {"fixed", "spec"},
    "config": {"fixed"},
    "data": {"fixed"},
    "outdir": set(),
    "train": {"fixed", "config", "spec", "golden", "data", "outdir"},
    # verify.evidence: the manifest's one writer; board: the AXI top, Tcl and driver of a project with a board
    "hls": {"fixed", "spec", "golden", "data", "verify", "outdir", "board"},
    "board": {"fixed", "spec"},  # the boards, the AXI top, its Tcl and driver (hls writes them into the project)
    "verify": {"fixed", "spec", "golden", "outdir"},
    "rtl": {"fixed", "spec", "golden", "verify"},
    "synth": {"fixed", "spec"},  # the estimate reads the Network and HlsSettings
    "analysis": {"fixed", "spec", "golden"},
    "profile": {"fixed", "config", "spec", "golden", "data", "outdir", "train", "synth"},
    "search": {"fixed", "config", "spec", "golden", "data", "outdir", "train", "synth", "profile"},
    "importer": {"fixed", "config", "spec", "golden", "data", "outdir", "train", "profile", "synth"},
}
# Single modules with one more dependency than their package: lowering turns a config into a spec.
MODULE_ALLOWED = {"hlsgen.spec.lower": {"config"},
                  # prove's command finds the spec of a config's cached training or a built project's checked inputs
                  "hlsgen.analysis.command": {"config", "data", "train", "verify"}}
HEAVY = ("tensorflow", "qkeras", "hls4ml", "yaml", "keras")
# Packages that may import the heavy libraries, and why.
HEAVY_ALLOWED = {
    "train": HEAVY,  # QKeras training
    "profile": HEAVY,  # measures a trained Keras model's values; writes YAML
    "search": HEAVY,  # trains float and QAT models; writes YAML
    "importer": HEAVY,  # reads Keras/QKeras model files; writes YAML
    "config": ("yaml",),  # reads the YAML
    "hls": ("tensorflow", "hls4ml"),  # hls4ml converts a Keras model rebuilt from the spec
    "data": ("tensorflow",),  # Keras' MNIST downloader, the last resort
}


def _modules() -> dict[str, Path]:
    return {".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): f
            for f in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement in the file, at any depth (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "hlsgen":
                found.update(f"hlsgen.{alias.name}" for alias in node.names)
    return found


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_packages_import_only_what_the_architecture_allows():
    problems = []
    for module, path in sorted(_modules().items()):
        package = _package(module)
        if package not in ALLOWED:
            continue  # cli, build, errors and the package root orchestrate or are leaves
        for imported in sorted(_imports(path)):
            # hlsgen.keras_compat is TensorFlow as hlsgen imports it (it picks the Keras flavour first)
            root = "tensorflow" if imported == "hlsgen.keras_compat" else imported.split(".")[0]
            if root == "hlsgen":
                other = _package(imported)
                if (other in ("", "errors", "derived_names", "geometry", "hls_settings", "__version__", package)
                        or other in ALLOWED[package] or other in MODULE_ALLOWED.get(module, ())):
                    continue
                problems.append(f"{module} imports {imported}")
            elif root in HEAVY and root not in HEAVY_ALLOWED.get(package, ()):
                problems.append(f"{module} imports {imported}")
    assert not problems, problems


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        package = _package(module)
        deps = {_package(m) for m in _imports(path) if m.startswith("hlsgen.")}
        graph.setdefault(package, set()).update(d for d in deps if d != package)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = [p for p in graph if p in ALLOWED and reaches(p, p, {p})]
    assert not cycles, {p: graph[p] for p in cycles}


def test_importing_the_golden_model_loads_no_heavy_library_and_no_config():
    code = ("import sys, hlsgen.golden, hlsgen.spec, hlsgen.verify.compare; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'qkeras', 'hls4ml', 'yaml', 'keras') or m.startswith('hlsgen.config')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_no_module_over_400_lines():
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
