"""The evidence a comparison may trust: tb_data exactly as the build wrote it, and a simulation output
that this build's testbench wrote completely, in the run being judged.

``tb_data/manifest.json`` (written by :func:`hlsgen.hls.project.write_manifest`) holds the number of
test images, the codes per line and the SHA-256 of every tb_data file, and a ``build`` id. The
testbench stamps its output with its kind (``csim``, or ``cosim`` for the C/RTL co-simulation's
``cosim_output.txt``), that id, the run id (``HLSGEN_RUN_ID``) and the images of the run, and ends it
with an end marker written after the last image::

    # hlsgen csim run=RUN build=BUILD images=K of=N
    <K lines of output codes>
    # end images=K mismatches=M

Every check here is the testbench's own (same messages), so a file the one refuses the other refuses:
exactly N lines, each exactly the expected number of integer codes separated by spaces or tabs, codes
inside their type. Problems are :class:`UsageError` (exit 2) naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import UsageError
from hlsgen.fixed import FixedType

MANIFEST = "manifest.json"  # written by hlsgen/hls/project.py (same format number)
MANIFEST_FORMAT = 1
_CHARSET = re.compile(rb"[0-9 \t+-]*")
_TOKEN = re.compile(rb"[+-]?[0-9]+")
_HEADER = re.compile(r"# hlsgen (csim|cosim) run=(\S+) build=(\S+) images=(\d+) of=(\d+)")
KINDS = {"csim_output.txt": "csim", "cosim_output.txt": "cosim"}  # file name -> the kind it must hold
_TRAILER = re.compile(r"# end images=(\d+) mismatches=(\d+)")


def _excerpt(text: bytes | str, limit: int = 20) -> str:
    """At most ``limit`` bytes of ``text``, printable ASCII, others as \\xHH (as the testbench shows them)."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    shown = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in raw[:limit])
    return shown + ("..." if len(raw) > limit else "")


@dataclass(frozen=True)
class Manifest:
    """The build's record of its tb_data: ``images`` per file, their SHA-256 and codes per line."""

    path: Path
    images: int
    build: str
    sha256: dict[str, str]
    codes_per_line: dict[str, int]

    @classmethod
    def load(cls, project: Path) -> Manifest:
        path = project / "tb_data" / MANIFEST
        if not path.is_file():
            raise UsageError(f"{path}: missing: the project predates it or tb_data was replaced; "
                             "rebuild the project with 'hlsgen build'")
        try:
            raw = json.loads(path.read_text())
            if raw.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {_excerpt(str(raw.get('format')))}, expected {MANIFEST_FORMAT}")
            images, build, sha, widths = raw["images"], raw["build"], raw["sha256"], raw["codes_per_line"]
            if not (isinstance(images, int) and images >= 1 and isinstance(build, str) and re.fullmatch(r"\w+", build)
                    and isinstance(sha, dict) and isinstance(widths, dict)
                    and all(isinstance(v, str) for v in sha.values())
                    and all(isinstance(v, int) for v in widths.values())):
                raise ValueError("unexpected values")
            for name in ("inputs.txt", "expected.txt", "labels.txt"):
                if name not in sha or name not in widths:
                    raise ValueError(f"no entry for {name}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"{path}: unreadable ({_excerpt(str(err), 80)}); rebuild the project") from None
        return cls(path, images, build, dict(sha), dict(widths))

    def check_file(self, path: Path, width: int, t: FixedType | None = None, lo: int | None = None,
                   codes: bool = True) -> np.ndarray | None:
        """Codes of the tb_data file ``path`` (None when not ``codes`` and the file is intact): exactly
        ``images`` lines of ``width`` codes (inside ``t``, or at least ``lo``), byte for byte what the
        build wrote."""
        if self.codes_per_line.get(path.name) != width:
            raise UsageError(f"{self.path}: {path.name} has {self.codes_per_line.get(path.name)} codes per line, "
                             f"the spec {width}; rebuild the project")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise UsageError(f"{path}: cannot read ({err.strerror}); rebuild the project") from None
        intact = hashlib.sha256(data).hexdigest() == self.sha256.get(path.name)
        lines = data.count(b"\n") + (not data.endswith(b"\n") and len(data) > 0)
        if intact and not codes and lines == self.images:
            return None  # the build wrote it well-formed; parsing 10,000 images would only cost time
        values = parse_codes(path, data, self.images, width, t, lo)
        if not intact:
            raise UsageError(f"{path}: changed since the build (its SHA-256 is not the one in tb_data/{MANIFEST}); "
                             "rebuild the project")
        return values


def parse_codes(path: Path | str, data: bytes, rows: int | None, width: int, t: FixedType | None = None,
                lo: int | None = None, first_line: int = 1) -> np.ndarray:
    """``data`` as exactly ``rows`` lines (any number if None) of ``width`` integer codes.

    Lines are separated by newlines (a final one optional); codes by spaces or tabs. Errors, in the
    order the testbench finds them: the first bad token of a line ('abc' or 999 outside ``t``), then
    its number of codes, then missing or extra lines. Line numbers start at ``first_line``.
    """
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    limit = len(lines) if rows is None else min(rows, len(lines))
    lo = t.min_code if t is not None else lo
    hi = t.max_code if t is not None else None
    out = np.empty((limit, width), dtype=np.int64)
    for k in range(limit):
        out[k] = _parse_line(path, lines[k], k + first_line, width, t, lo, hi)
    if rows is not None and len(lines) < rows:
        raise UsageError(f"{path}: line {len(lines) + first_line}: missing: the file has {len(lines)} lines, "
                         f"the project has {rows} test images")
    if rows is not None and len(lines) > rows:
        raise UsageError(f"{path}: line {rows + first_line}: extra line: the project has {rows} test images")
    return out


def _parse_line(path, line: bytes, number: int, width: int, t: FixedType | None, lo: int | None,
                hi: int | None) -> np.ndarray:
    clean = _CHARSET.fullmatch(line) is not None  # then split() splits at spaces and tabs only
    tokens = line.split() if clean else [tok for tok in line.replace(b"\t", b" ").split(b" ") if tok]
    codes = None
    if clean:
        try:
            codes = np.array(tokens, dtype=np.int64)
        except (ValueError, OverflowError):
            pass
    outside = codes is not None and codes.size > 0 and (
        (lo is not None and codes.min() < lo) or (hi is not None and codes.max() > hi))
    if codes is None or outside:
        for tok in tokens:  # the first bad token, in the order the testbench reads them
            value = int(tok) if _TOKEN.fullmatch(tok) else None
            if value is None or not -(2**63) <= value < 2**63:
                raise UsageError(f"{path}: line {number}: '{_excerpt(tok)}' is not an integer code")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                where = f"{t} [{t.min_code}, {t.max_code}]" if t is not None else f"[{lo}, ...]"
                raise UsageError(f"{path}: line {number}: code {value} outside {where}")
    if len(tokens) != width:
        raise UsageError(f"{path}: line {number}: {len(tokens)} codes, expected {width}")
    return codes


class NoOutputError(UsageError):
    """No simulation output at all: the run did not get as far as writing one."""


@dataclass(frozen=True)
class RunOutput:
    """A complete simulation output: its kind (csim, cosim), run id, the images it covers and their codes."""

    path: Path
    kind: str
    run_id: str
    images: int
    mismatches: int
    codes: np.ndarray


def read_run_output(path: Path, manifest: Manifest, width: int, run_id: str | None = None) -> RunOutput:
    """The output ``path`` of one complete testbench run of this build (of run ``run_id`` if given)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror})") from None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    first = lines[0].decode("utf-8", "replace") if lines else ""
    want = KINDS.get(path.name, "csim")
    again = f"run 'make {want}' again"
    head = _HEADER.fullmatch(first)
    if head is None:
        raise UsageError(f"{path}: line 1: no run header ('# hlsgen {want} run=...'): not written by this project's "
                         f"testbench; {again}")
    kind, run, build, images, of = head.group(1), head.group(2), head.group(3), int(head.group(4)), int(head.group(5))
    if kind != want:
        raise UsageError(f"{path}: line 1: a {kind} output in a {want} output file; {again}")
    if build != manifest.build:
        raise UsageError(f"{path}: from another build of the project (build {_excerpt(build)}, the project's is "
                         f"{manifest.build}); {again}")
    if run_id is not None and run != run_id:
        raise UsageError(f"{path}: from an earlier run ({_excerpt(run)}), not this one ({_excerpt(run_id)}): "
                         "this run wrote no output; see the errors above")
    if of != manifest.images or not 1 <= images <= of:
        raise UsageError(f"{path}: line 1: a run of {images} of {of} images, but the project has "
                         f"{manifest.images} test images")
    body = lines[1:]
    ends = [k for k, line in enumerate(body) if line.startswith(b"#")]
    if not ends:
        raise UsageError(f"{path}: incomplete: no end marker after {len(body)} of {images} images "
                         f"(the run stopped early); {again}")
    end = ends[0]
    if end != images:
        raise UsageError(f"{path}: line {end + 2}: {end} lines of output codes, the run was of {images} images")
    trailer = _TRAILER.fullmatch(body[end].decode("utf-8", "replace"))
    if trailer is None or int(trailer.group(1)) != images:
        raise UsageError(f"{path}: line {end + 2}: expected '# end images={images} mismatches=M', got "
                         f"{_excerpt(body[end], 40)!r}")
    if len(body) > end + 1:
        raise UsageError(f"{path}: line {end + 3}: extra line after the end marker")
    codes = parse_codes(path, b"\n".join(body[:end]), images, width, first_line=2)
    return RunOutput(path, kind, run, images, int(trailer.group(2)), codes)
