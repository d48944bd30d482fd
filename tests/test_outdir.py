"""Output safety: atomic replacement, refusal to clobber foreign directories, intact on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hlsgen.errors import UsageError
from hlsgen.outdir import MARKER, TMP_MARKER, atomic_output_dir, check_replaceable, validate_output_path


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


# ------------------------------------------------------------------------------ issue 12: output dirs

@pytest.mark.parametrize("path", [".", "..", "/", "", "../..", "sub/..", "./."])
def test_refuses_current_directory_its_parents_and_root(tmp_path, monkeypatch, path):
    """`--force --output ..` once trained for minutes, then failed with EBUSY and left an empty
    `....old-*` folder: such paths are now refused before any work."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(UsageError, match="current directory|parent of the current directory") as info:
        check_replaceable(Path(path), force=True)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError):
        with atomic_output_dir(path, force=True):
            pytest.fail("must not be reached")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no .old-*/.tmp-* folder


def test_refuses_ancestor_given_as_absolute_path_or_symlink(tmp_path, monkeypatch):
    work = tmp_path / "w"
    work.mkdir()
    (tmp_path / "link").symlink_to(work)
    monkeypatch.chdir(work)
    for path in (str(tmp_path), str(work), str(tmp_path / "link"), str(tmp_path / "link" / "..")):
        with pytest.raises(UsageError):
            validate_output_path(path)


def test_refuses_home_directory(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="is the home directory"):
        validate_output_path(str(home))
    with pytest.raises(UsageError, match="is the home directory"):
        check_replaceable(Path("home"), force=True)
    validate_output_path(str(home / "build"))  # a folder inside it is fine


def test_force_into_foreign_directory_says_what_it_replaces(tmp_path, capsys):
    target = tmp_path / "mine"
    target.mkdir()
    for name in ("thesis.tex", "data.csv", "notes.md", "z.txt"):
        (target / name).write_text("x")
    with atomic_output_dir(target, force=True) as tmp:
        (tmp / "new").write_text("")
    err = capsys.readouterr().err
    assert err.splitlines() == [f"hlsgen: --force: replacing {target} (not made by hlsgen): 4 entries will be "
                                "removed, e.g. data.csv, notes.md, thesis.tex, ..."]
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new"]
    # an hlsgen directory is replaced silently
    with atomic_output_dir(target, force=True):
        pass
    assert capsys.readouterr().err == ""


def test_force_announces_once_per_target(tmp_path, capsys):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "a").write_text("")
    check_replaceable(target, force=True)  # e.g. build's early check, then atomic_output_dir's
    with atomic_output_dir(target, force=True):
        pass
    assert len(capsys.readouterr().err.splitlines()) == 1


def _stale(parent: Path, name: str, pid: int, host: str | None = None, tool: str = "hlsgen") -> Path:
    import json
    import socket

    folder = parent / name
    folder.mkdir()
    (folder / "firmware").mkdir()
    (folder / "firmware" / "x.h").write_text("")
    (folder / TMP_MARKER).write_text(json.dumps({"tool": tool, "pid": pid, "host": host or socket.gethostname()}))
    return folder


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    """SIGKILL during a build leaves `.<name>.tmp-*`; the next run into the same place removes those an
    hlsgen process made (marker) whose process is gone, and nothing else."""
    dead = _dead_pid()
    stale_tmp = _stale(tmp_path, ".out.tmp-abc123", dead)
    stale_old = _stale(tmp_path, ".out.old-def456", dead)
    alive = _stale(tmp_path, ".out.tmp-alive1", os.getppid())
    other_host = _stale(tmp_path, ".out.tmp-host12", dead, host="some-other-host")
    not_ours = _stale(tmp_path, ".out.tmp-tool12", dead, tool="other")
    no_marker = tmp_path / ".out.tmp-nomark"
    no_marker.mkdir()
    other_target = _stale(tmp_path, ".other.tmp-abc123", dead)
    user_dir = tmp_path / "out.tmp-user"
    user_dir.mkdir()
    with atomic_output_dir(tmp_path / "out") as tmp:
        (tmp / "a").write_text("")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert not stale_tmp.exists() and not stale_old.exists()
    assert left == sorted(["out", alive.name, other_host.name, not_ours.name, no_marker.name, other_target.name,
                           user_dir.name])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "a"]  # no temp marker inside


def test_temporary_folder_is_marked_while_it_exists(tmp_path):
    import json

    with atomic_output_dir(tmp_path / "out") as tmp:
        mark = json.loads((tmp / TMP_MARKER).read_text())
        assert mark["tool"] == "hlsgen" and mark["pid"] == os.getpid()
    assert not (tmp_path / "out" / TMP_MARKER).exists()


def test_killed_build_leaves_a_folder_the_next_build_removes(tmp_path):
    """End to end with a real SIGKILL."""
    import signal
    import subprocess
    import sys
    import time

    script = ("import sys, time\nfrom hlsgen.outdir import atomic_output_dir\n"
              "with atomic_output_dir(sys.argv[1]) as tmp:\n    (tmp / 'x').write_text('')\n"
              "    print('ready', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "out")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    leftovers = sorted(p.name for p in tmp_path.iterdir())  # and the lock file, which locks nothing now
    assert len(leftovers) == 2 and leftovers[0] == ".out.hlsgen-lock" and leftovers[1].startswith(".out.tmp-")
    with atomic_output_dir(tmp_path / "out") as tmp:
        (tmp / "y").write_text("")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_symbolic_link_is_replaced_only_with_force_and_said_so(tmp_path, capsys):
    """Audit (issue 26): --force through a symlink said '1 entry will be removed' and kept it."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    link = tmp_path / "out"
    link.symlink_to(real)
    with pytest.raises(UsageError, match="is a symbolic link"):
        check_replaceable(link, force=False)
    with atomic_output_dir(link, force=True) as tmp:
        (tmp / "new.txt").write_text("x")
    err = capsys.readouterr().err
    assert "replacing the symbolic link" in err and "what it points to is kept" in err and "removed" not in err
    assert (real / "keep.txt").read_text() == "mine" and not link.is_symlink() and (link / "new.txt").exists()


def test_a_second_run_into_the_same_output_stops(tmp_path):
    """Audit (issue 26): two builds into one --output both printed 'wrote' (no lock)."""
    import subprocess
    import sys

    target = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from hlsgen.outdir import atomic_output_dir\n"
        f"with atomic_output_dir({str(target)!r}) as t:\n    print('in', flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "in"
        with pytest.raises(UsageError, match=f"{target}: another hlsgen run is writing it \\(pid {holder.pid}\\)"):
            with atomic_output_dir(target):
                pass
    finally:
        holder.kill()
        holder.wait()
    with atomic_output_dir(target) as tmp:  # the lock dies with its process
        (tmp / "x").write_text("1")
    assert (target / "x").exists()
