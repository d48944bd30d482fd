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


@pytest.mark.parametrize("written", ["Stamp: 8e23484c", "Stamp: '12345678'"])
@pytest.mark.parametrize("stamp", ["0badf00d", "20241128"])
def test_hls4ml_stamp_and_temporary_name_are_normalized(tmp_path, written, stamp):
    """hls4ml writes a random 8-hex-digit stamp, quoted by YAML when all its digits are decimal; both
    spellings become the spec's stamp (quoted when it is all decimal, so YAML still reads a string)."""
    import yaml

    from hlsgen.hls.project import normalize_hls4ml_output

    project, final = tmp_path / ".prj.tmp-ab12cd34", tmp_path / "prj"
    project.mkdir()
    (project / "hls4ml_config.yml").write_text(f"OutputDir: {project}\n{written}\n")
    (project / "build_lib.sh").write_text("LIB_STAMP=8e23484c\n")
    normalize_hls4ml_output(project, final, stamp)
    config = yaml.safe_load((project / "hls4ml_config.yml").read_text())
    assert config == {"OutputDir": str(final), "Stamp": stamp}
    assert (project / "build_lib.sh").read_text() == f"LIB_STAMP={stamp}\n"
