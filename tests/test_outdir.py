"""Output safety: atomic replacement, refusal to clobber foreign directories, intact on failure."""

from __future__ import annotations

import os

import pytest

from hlsgen.errors import UsageError
from hlsgen.outdir import MARKER, atomic_output_dir


def test_creates_and_replaces_own_directory(tmp_path):
    target = tmp_path / "out"
    with atomic_output_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one" and (target / MARKER).exists()
    assert oct(target.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    with atomic_output_dir(target) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary leftovers


def test_refuses_foreign_directory_unless_forced(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="was not created by hlsgen; refusing to replace it"):
        with atomic_output_dir(target):
            pass
    assert (target / "thesis.tex").read_text() == "precious"
    with atomic_output_dir(target, force=True) as tmp:
        (tmp / "x").write_text("")
    assert not (target / "thesis.tex").exists()


def test_failure_leaves_previous_output(tmp_path):
    target = tmp_path / "out"
    with atomic_output_dir(target) as tmp:
        (tmp / "v1").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_output_dir(target) as tmp:
            (tmp / "v2").write_text("2")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "v1"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        with atomic_output_dir(tmp_path / "f"):
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
