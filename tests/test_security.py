"""Issue 12, security: no user path reaches a shell, a Makefile or Tcl unescaped.

`hlsgen build ... --output 'x$(touch PWNED)'` followed by the top-level `make synth` once ran the
command: the path was stored in `.hlsgen-last-build` and expanded by the top-level Makefile. Output
paths (config `output_dir`, `--output`) are now refused unless made of [A-Za-z0-9._/+-], and the
top-level Makefile reads `.hlsgen-last-build` without expanding it and refuses such a path itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hlsgen.errors import UsageError
from hlsgen.outdir import atomic_output_dir, check_replaceable, validate_output_path

ROOT = Path(__file__).resolve().parents[1]
MNIST_YAML = ROOT / "configs" / "mnist.yaml"
MAKEFILE = ROOT / "Makefile"

# (path, the character the error must name)
HOSTILE = {
    "dollar_paren": ("x$(touch PWNED)", "'$'"),
    "backticks": ("x`touch PWNED`", "'`'"),
    "semicolon": ("x;touch PWNED", "';'"),
    "space": ("my build", "' '"),
    "double_quote": ('x"; touch PWNED; "', "'\"'"),
    "single_quote": ("x'; touch PWNED; '", "\"'\""),
    "newline": ("x\ntouch PWNED", r"'\n'"),
    "pipe": ("x|touch PWNED", "'|'"),
    "ampersand": ("x&&touch PWNED", "'&'"),
    "make_var": ("x$$(shell touch PWNED)", "'$'"),
    "glob": ("x*", "'*'"),
    "hash": ("x#y", "'#'"),
    "colon": ("x:y", "':'"),
    "tab": ("x\ty", r"'\t'"),
    "non_ascii": ("x\u00e9", "'\u00e9'"),
}


def hlsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar for any text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


# ------------------------------------------------------------------------------ hlsgen check (config)

@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_config_output_dir_refused_by_check(tmp_path, case):
    path, bad = HOSTILE[case]
    src = MNIST_YAML.read_text()
    assert "output_dir: build/mnist_cnn" in src
    cfg = tmp_path / "c.yaml"
    cfg.write_text(src.replace("output_dir: build/mnist_cnn", f"output_dir: {_yaml_string(path)}"))
    res = hlsgen("check", str(cfg), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stderr.startswith("hlsgen: error: output_dir: ")
    assert f"contains {bad}" in res.stderr, res.stderr
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # no PWNED, nothing written


@pytest.mark.parametrize("path", [".", "./", "..", "/", "a/..", "-rf", "build/-x"])
def test_config_output_dir_not_a_directory_of_its_own(path):
    import yaml

    from hlsgen.config import config_from_dict, quote_types
    from hlsgen.errors import ConfigError

    raw = yaml.safe_load(quote_types(MNIST_YAML.read_text()))
    raw["output_dir"] = path
    with pytest.raises(ConfigError, match=r"^output_dir: "):
        config_from_dict(raw)


# ------------------------------------------------------------------------------ outdir functions

@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_outdir_refuses_metacharacters(tmp_path, monkeypatch, case):
    path, bad = HOSTILE[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        validate_output_path(path)
    assert f"contains {bad}" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UsageError):
        check_replaceable(Path(path), force=True)
    with pytest.raises(UsageError):
        with atomic_output_dir(path, force=True):
            pytest.fail("must not be reached")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["build/mnist_cnn", "out", "a/b-c/d_e.f+g", "/tmp/x/y", "../sibling"])
def test_outdir_accepts_ordinary_paths(tmp_path, monkeypatch, path):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert validate_output_path(path) == Path(path)


# ------------------------------------------------------------------------------ hlsgen build --output

@pytest.mark.parametrize("command", ["build", "profile"])
def test_cli_output_with_metacharacters_refused_before_any_work(tmp_path, command):
    res = hlsgen(command, str(MNIST_YAML), "--output", "x$(touch PWNED)", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "hlsgen: error: 'x$(touch PWNED)': output path contains '$'; output paths may use only letters, digits "
        "and . _ / + - (they are written into Makefiles and shell commands)"]
    assert list(tmp_path.iterdir()) == []  # no PWNED, no .hlsgen-last-build, no temporary folder


# ------------------------------------------------------------------------------ the top-level Makefile

@pytest.fixture
def make_dir(tmp_path):
    if not shutil.which("make"):
        pytest.skip("GNU make not installed")
    work = tmp_path / "work"
    (work / "prj").mkdir(parents=True)
    # a stand-in project: its Makefile records that it ran
    (work / "prj" / "Makefile").write_text("csim synth cosim export:\n\t@echo ran-$@ > ../forwarded\n")
    return work


def _make(work: Path, target: str, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PROJECT", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "-f", str(MAKEFILE), "-C", str(work), target, *extra], env=env,
                          capture_output=True, text=True, timeout=60)


LAST_BUILD = {
    "dollar_paren": "x$(touch PWNED)\n",
    "make_shell": "$(shell touch PWNED)\n",
    "backticks": "x`touch PWNED`\n",
    "semicolon": "prj; touch PWNED\n",
    "and": "prj && touch PWNED\n",
    "double_quote": 'prj"; touch PWNED; echo "\n',
    "single_quote": "prj'; touch PWNED; echo '\n",
    "newline": "prj\ntouch PWNED\n",
    "space": "prj touch PWNED\n",
    "option": "-prj\n",
}


@pytest.mark.parametrize("target", ["csim", "synth"])
@pytest.mark.parametrize("case", sorted(LAST_BUILD))
def test_malicious_last_build_file_is_refused(make_dir, target, case):
    (make_dir / ".hlsgen-last-build").write_text(LAST_BUILD[case])
    res = _make(make_dir, target)
    assert res.returncode != 0
    assert f"make {target}: error: refusing the project path" in res.stderr, res.stderr
    assert not (make_dir / "PWNED").exists() and not (make_dir.parent / "PWNED").exists()
    assert not (make_dir / "forwarded").exists()


@pytest.mark.parametrize("case", ["dollar_paren", "make_shell", "semicolon"])
def test_malicious_project_variable_is_refused(make_dir, case):
    res = _make(make_dir, "csim", f"PROJECT={LAST_BUILD[case].strip()}")
    assert res.returncode != 0 and "refusing the project path" in res.stderr, res.stderr
    assert not (make_dir / "PWNED").exists()


def test_safe_last_build_forwards(make_dir):
    (make_dir / ".hlsgen-last-build").write_text("prj\n")
    res = _make(make_dir, "synth")
    assert res.returncode == 0, res.stderr
    assert (make_dir / "forwarded").read_text() == "ran-synth\n"


def test_no_last_build_is_a_clear_error(make_dir):
    res = _make(make_dir, "csim")
    assert res.returncode != 0
    assert "make csim: error: no built project" in res.stderr
