"""Safe output directories: build into a temporary sibling, rename into place at the end.

A directory hlsgen wrote carries a marker file; hlsgen replaces only such directories (or any
with ``force=True``, saying what it replaces), so nothing the user had is lost silently, and an
interrupted run leaves the previous output intact. Output paths are checked first
(:func:`validate_output_path`): they end up in Makefiles and shell commands (the top-level
``make csim`` forwards to the last build), so only a safe set of characters is accepted, and the
current directory, its parents and the home directory are never output directories. Temporary
siblings carry a marker with the owning process id; one left behind by a killed run is removed by
the next run into the same place.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hlsgen import __version__
from hlsgen.errors import UsageError

MARKER = ".hlsgen"
#: Marker inside a temporary sibling: ``{"tool": "hlsgen", "pid": ..., "host": ...}``.
TMP_MARKER = ".hlsgen-tmp"
#: The characters an output path may use (a regex class): letters, digits and ``. _ / + -``. The
#: config's ``output_dir`` is checked against the same set (hlsgen/config/checks.py, SAFE_PATH).
SAFE_PATH_CHARS = "A-Za-z0-9._/+-"
_SAFE = re.compile(r"[A-Za-z0-9._/+\-]+\Z")
#: Longest path component (the temporary sibling adds about 15 characters; file systems allow 255).
MAX_COMPONENT = 200
_announced: set[str] = set()


def is_hlsgen_dir(path: Path) -> bool:
    return (path / MARKER).is_file()


def _show(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def require_project(path: str | Path, *files: str) -> Path:
    """``path`` as a project directory written by ``hlsgen build``; UsageError naming the first of
    ``files`` it lacks."""
    project = Path(path)
    for name in files:
        if not (project / name).exists():
            raise UsageError(f"{project}: not an hlsgen project (no {name}); run 'hlsgen build' first")
    return project


def validate_output_path(path: str | Path) -> Path:
    """``path`` if hlsgen may write an output directory there, else a one-line UsageError.

    Refused: any character outside ``A-Z a-z 0-9 . _ / + -`` (shell and Make metacharacters, spaces,
    quotes, control characters; the path is written into ``.hlsgen-last-build``, Makefiles and printed
    commands), a component starting with ``-`` or longer than MAX_COMPONENT, and a path that is (after
    resolving ``..`` and symbolic links) the current directory or one of its parents (``.``, ``..``,
    ``/``), or the home directory: replacing those cannot work or would destroy the user's files.
    """
    text = str(path)
    if not text or not _SAFE.match(text):
        bad = next((c for c in text if not _SAFE.match(c)), "")
        raise UsageError(f"{_show(text)}: output path contains {_show(bad)}; output paths may use only letters, "
                         f"digits and . _ / + - (they are written into Makefiles and shell commands)")
    parts = [p for p in text.split("/") if p]
    for part in parts:
        if part.startswith("-"):
            raise UsageError(f"{text}: a path component may not start with '-' (it would read as an option)")
        if len(part) > MAX_COMPONENT:
            raise UsageError(f"{_show(text)}: path component of {len(part)} characters; at most "
                             f"{MAX_COMPONENT} are allowed")
    resolved = Path(text).resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        what = "the current directory" if resolved == cwd else "a parent of the current directory"
        raise UsageError(f"{text}: is {what}; an output directory is replaced as a whole, choose one of its "
                         "own (e.g. build/<name>)")
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        home = None
    if resolved == home:
        raise UsageError(f"{text}: is the home directory; choose a directory of its own (e.g. build/<name>)")
    return Path(text)


def check_replaceable(target: Path, force: bool) -> None:
    """Raise UsageError if ``target`` is not a valid output path (:func:`validate_output_path`) or exists
    and may not be replaced. With ``force``, a foreign non-empty directory is announced on stderr once:
    how many entries it holds and a few of their names."""
    target = validate_output_path(target)
    if target.is_symlink():
        link = _show(os.readlink(target))
        if not force:
            raise UsageError(f"{target}: is a symbolic link (to {link}); refusing to replace it (use --force to "
                             "replace the link with the output; what it points to is kept), or give another path")
        key = str(target.absolute())
        if key not in _announced:
            _announced.add(key)
            print(f"hlsgen: --force: replacing the symbolic link {target} (to {link}) with the output; what it "
                  "points to is kept", file=sys.stderr, flush=True)
        return
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a directory; choose another output path")
    if target.is_dir() and not is_hlsgen_dir(target):
        entries = sorted(p.name for p in target.iterdir())
        if entries and not force:
            raise UsageError(f"{target}: directory exists and was not created by hlsgen; "
                             "refusing to replace it (use --force, or another output path)")
        key = str(target.resolve())
        if entries and key not in _announced:
            _announced.add(key)
            shown = ", ".join(_show(n) if not _SAFE.match(n) else n for n in entries[:3])
            more = ", ..." if len(entries) > 3 else ""
            print(f"hlsgen: --force: replacing {target} (not made by hlsgen): {len(entries)} "
                  f"entr{'y' if len(entries) == 1 else 'ies'} will be removed, e.g. {shown}{more}",
                  file=sys.stderr, flush=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or a value we cannot judge: keep the folder
    return True


def _write_tmp_marker(folder: Path) -> None:
    (folder / TMP_MARKER).write_text(json.dumps({"tool": "hlsgen", "pid": os.getpid(),
                                                 "host": socket.gethostname()}) + "\n")


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary siblings of ``target`` (``.<name>.tmp-*``, ``.<name>.old-*``) that an
    hlsgen process on this host made (their TMP_MARKER says so) and that outlived it (its pid is gone).
    Anything else, including folders without a readable marker, is left alone. Returns what was removed."""
    removed = []
    prefixes = (f".{target.name}.tmp-", f".{target.name}.old-")
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    host = socket.gethostname()
    for folder in siblings:
        if not folder.name.startswith(prefixes) or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            mark = json.loads((folder / TMP_MARKER).read_text())
            pid = int(mark["pid"])
            ours = mark.get("tool") == "hlsgen" and mark.get("host") == host
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if ours and pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def atomic_output_dir(target: str | Path, force: bool = False, kind: str = "output") -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``target``; on success it replaces ``target``.

    On any exception the temporary directory is removed and ``target`` is untouched. Stale temporary
    siblings of ``target`` left by killed hlsgen runs are removed first (:func:`remove_stale_temporaries`).
    """
    target = Path(target)
    check_replaceable(target, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{target.parent}: cannot create output directory ({err.strerror})") from None
    with _lock(target):
        yield from _atomic(target, kind)


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """An exclusive lock on ``target`` for one hlsgen run (``.<name>.hlsgen-lock`` beside it while the run
    writes, removed after): a second run writing the same output stops at once with one line, instead of
    both printing 'wrote'. The usual pattern for a lock file that is removed: after locking, the path must
    still name the locked file (else another run removed it in between: lock the new one)."""
    import fcntl

    path = target.parent / f".{target.name}.hlsgen-lock"
    while True:
        try:
            fh = open(path, "a+")
        except OSError as err:
            raise UsageError(f"{path}: cannot create the output's lock file ({err.strerror})") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read(40).strip()
            fh.close()
            raise UsageError(f"{target}: another hlsgen run is writing it ({holder or 'see ' + path.name}); wait for "
                             "it to finish, or choose another output path") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    with fh:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _atomic(target: Path, kind: str) -> Iterator[Path]:
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _write_tmp_marker(tmp)  # first thing: a kill from here on leaves a folder the next run removes
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the result should look like any mkdir
        yield tmp
        (tmp / MARKER).write_text(json.dumps({"tool": "hlsgen", "version": __version__, "kind": kind}) + "\n")
        (tmp / TMP_MARKER).unlink(missing_ok=True)
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            _write_tmp_marker(old)
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
