"""Safe output directories: build into a temporary sibling, rename into place at the end.

A directory hlsgen wrote carries a marker file; hlsgen replaces only such directories (or any
with ``force=True``), so nothing the user had is lost silently, and an interrupted run leaves the
previous output intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hlsgen import __version__
from hlsgen.errors import UsageError

MARKER = ".hlsgen"


def is_hlsgen_dir(path: Path) -> bool:
    return (path / MARKER).is_file()


def require_project(path: str | Path, *files: str) -> Path:
    """``path`` as a project directory written by ``hlsgen build``; UsageError naming the first of
    ``files`` it lacks."""
    project = Path(path)
    for name in files:
        if not (project / name).exists():
            raise UsageError(f"{project}: not an hlsgen project (no {name}); run 'hlsgen build' first")
    return project


def check_replaceable(target: Path, force: bool) -> None:
    """Raise UsageError if ``target`` exists and may not be replaced."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a directory; choose another output path")
    if target.is_dir() and any(target.iterdir()) and not is_hlsgen_dir(target) and not force:
        raise UsageError(f"{target}: directory exists and was not created by hlsgen; "
                         "refusing to replace it (use --force, or another output path)")


@contextlib.contextmanager
def atomic_output_dir(target: str | Path, force: bool = False, kind: str = "output") -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``target``; on success it replaces ``target``.

    On any exception the temporary directory is removed and ``target`` is untouched.
    """
    target = Path(target)
    check_replaceable(target, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{target.parent}: cannot create output directory ({err.strerror})") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the result should look like any mkdir
    try:
        yield tmp
        (tmp / MARKER).write_text(json.dumps({"tool": "hlsgen", "version": __version__, "kind": kind}) + "\n")
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
