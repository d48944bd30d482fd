"""The project's evidence files, one owner: the manifest (written here, read here), tb_data's code files,
and a simulation output that this build's testbench wrote completely, in the run being judged.

``tb_data/manifest.json`` (:func:`write_manifest`, the last file a build writes) holds the number of test
images, the codes per line and the SHA-256 of every tb_data file, the ``build`` id (the first 16 hex digits
of the spec's digest: evidence of another spec never passes) and the SHA-256 of every generated source. What
can be derived from the spec is derived, not trusted: :mod:`hlsgen.verify.derive`. The
testbench stamps its output with its kind (``csim``, or ``cosim`` for the C/RTL co-simulation's
``cosim_output.txt``; ``board`` for ``board/driver.py``'s ``board_output.txt``, the FPGA's outputs), that
id, the run id (``HLSGEN_RUN_ID``) and the images of the run, and ends it
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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen.errors import UsageError
from hlsgen.fixed import FixedType
from hlsgen.spec import HardwareSpec
from hlsgen.spec.model import read_limited

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 2  # 2: the build id is the spec's digest; the generated sources are sealed
TB_FILES = ("inputs.txt", "expected.txt", "labels.txt", "qkeras_labels.txt")
#: Top-level entries of a project that the manifest does not seal: tb_data (its files have their own
#: entries), the training, the spec itself (the root: the build id is its digest), hlsgen's markers, and
#: build_opt.tcl, which vitis.sh rewrites on every run with the steps to run (reset/csim/synth/cosim/export).
UNSEALED = ("tb_data", "train", "spec.json", "weights.npz", ".hlsgen", ".hlsgen-tmp", "build_opt.tcl")
#: Where C simulation and synthesis look for headers: a file added there can shadow a sealed one.
SEALED_DIRS = ("firmware",)
_CHARSET = re.compile(rb"[0-9 \t+\n-]*")
_TOKEN = re.compile(rb"[+-]?[0-9]+")
_HEADER = re.compile(r"# hlsgen (csim|cosim|board) run=(\S+) build=(\S+) images=(\d+) of=(\d+)")
#: file name -> the kind it must hold
KINDS = {"csim_output.txt": "csim", "cosim_output.txt": "cosim", "board_output.txt": "board"}
#: how to write each kind of output again
AGAIN = {"csim": "run 'make csim' again", "cosim": "run 'make cosim' again",
         "board": "run 'python3 board/driver.py' on the board again"}
_TRAILER = re.compile(r"# end images=(\d+) mismatches=(\d+)")
#: Characters a code may take in a file (sign, 20 digits, a separator), for bounding reads.
CODE_CHARS = 22


def _excerpt(text: bytes | str, limit: int = 20) -> str:
    """At most ``limit`` bytes of ``text``, printable ASCII, others as \\xHH (as the testbench shows them)."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    shown = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in raw[:limit])
    return shown + ("..." if len(raw) > limit else "")


def build_id(spec: HardwareSpec) -> str:
    """The id that stamps a build's manifest, testbench and every simulation output: the first 16 hex
    digits of the spec's digest (:meth:`HardwareSpec.digest`), so evidence of another spec never passes."""
    return spec.digest()[:16]


def read_file(path: Path, limit: int, again: str = "rebuild the project") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (a FIFO, a device, a directory or a
    larger file is a UsageError naming it: nothing reads without end)."""
    try:
        return read_limited(path, limit)
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror}); {again}") from None
    except ValueError as err:
        raise UsageError(f"{path}: {err}; {again}") from None


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(root: Path, skip: Callable[[str], bool], refuse_links: bool = True) -> dict[str, str]:
    """SHA-256 of every file below ``root`` by its POSIX path relative to ``root``, except the paths ``skip``
    returns True for. ``refuse_links``: a symbolic link or anything but a regular file is a UsageError (the
    file is what is sealed, not where it points); else links are followed. The one owner of "the digests of a
    tree of sources": the project's seal (:func:`sealed_files`) and the RTL cache (hlsgen.rtl.build)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if skip(rel) or path.is_dir() and not (refuse_links and path.is_symlink()):
            continue
        if refuse_links and (path.is_symlink() or not path.is_file()):
            raise UsageError(f"{path}: not a regular file; a project's sources are files")
        out[rel] = file_sha256(path)
    return out


def sealed_files(project: Path) -> dict[str, str]:
    """SHA-256 of every regular file of ``project`` outside :data:`UNSEALED`, by path relative to it
    (symbolic links are refused: a sealed file is the file, not where it points)."""
    return tree_sha256(project, lambda rel: rel.split("/")[0] in UNSEALED)


def write_manifest(project: Path, spec: HardwareSpec, images: int, widths: dict[str, int]) -> dict[str, Any]:
    """``tb_data/manifest.json``, written last: the number of test images, SHA-256 and codes per line of
    every tb_data file, the build id (:func:`build_id`) and the SHA-256 of every generated source (the
    seal). The one writer of the manifest; :class:`Manifest` is its one reader."""
    tb = project / "tb_data"
    files = {name: file_sha256(tb / name) for name in TB_FILES if (tb / name).exists()}
    manifest = {"format": MANIFEST_FORMAT, "images": images, "build": build_id(spec), "sha256": files,
                "codes_per_line": {name: int(widths[name]) for name in files}, "sources": sealed_files(project)}
    (tb / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


@dataclass(frozen=True)
class Manifest:
    """The build's record of its tb_data (``images`` per file, their SHA-256 and codes per line), its build
    id and the seal of its generated sources (``sources``: relative path -> SHA-256)."""

    path: Path
    images: int
    build: str
    sha256: dict[str, str]
    codes_per_line: dict[str, int]
    sources: dict[str, str]

    @classmethod
    def load(cls, project: Path) -> Manifest:
        path = project / "tb_data" / MANIFEST
        if not path.is_file():
            raise UsageError(f"{path}: missing: the project predates it or tb_data was replaced; "
                             "rebuild the project with 'hlsgen build'")
        try:
            raw = json.loads(read_limited(path, 64 * 2**20))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            if raw.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {_excerpt(str(raw.get('format')))}, this hlsgen writes {MANIFEST_FORMAT}")
            images, build, sha, widths = raw["images"], raw["build"], raw["sha256"], raw["codes_per_line"]
            sources = raw["sources"]
            if not (isinstance(images, int) and 1 <= images <= 2**31 and isinstance(build, str)
                    and re.fullmatch(r"\w+", build)
                    and isinstance(sha, dict) and isinstance(widths, dict) and isinstance(sources, dict)
                    and all(isinstance(v, str) for v in [*sha.values(), *sources.values()])
                    and all(isinstance(v, int) and 1 <= v <= 2**24 for v in widths.values())):
                raise ValueError("unexpected values")
            for name in ("inputs.txt", "expected.txt", "labels.txt"):
                if name not in sha or name not in widths:
                    raise ValueError(f"no entry for {name}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"{path}: unreadable ({_excerpt(str(err), 80)}); rebuild the project") from None
        return cls(path, images, build, dict(sha), dict(widths), dict(sources))

    def check_build(self, spec: HardwareSpec) -> None:
        """The manifest is this spec's: its build id is the spec's digest, else UsageError naming it."""
        if self.build != build_id(spec):
            raise UsageError(f"{self.path}: build {_excerpt(self.build)} is not this project's (spec.json + "
                             f"weights.npz give {build_id(spec)}): tb_data comes from another build, or the spec "
                             "changed since the build; rebuild the project")

    def check_sources(self, project: Path) -> None:
        """Every sealed source as the build wrote it, and no file added where the compiler looks."""
        for rel, digest in self.sources.items():
            path = project / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise UsageError(f"{self.path}: sources: {_excerpt(rel, 60)} is not a path inside the project")
            if path.is_symlink() or not path.is_file():
                raise UsageError(f"{path}: missing (or not a regular file) since the build; rebuild the project")
            if file_sha256(path) != digest:
                raise UsageError(f"{path}: changed since the build (its SHA-256 is not the one in "
                                 f"tb_data/{MANIFEST}); rebuild the project")
        for folder in SEALED_DIRS:
            for path in sorted((project / folder).rglob("*")):
                rel = path.relative_to(project).as_posix()
                if rel not in self.sources and not (path.is_dir() and not path.is_symlink()):
                    raise UsageError(f"{path}: not written by the build (it could shadow a firmware source); "
                                     "remove it or rebuild the project")

    def limit(self, width: int) -> int:
        """The most bytes a well-formed file of ``images`` lines of ``width`` codes can have."""
        return self.images * (width * CODE_CHARS + 2)

    def check_file(self, path: Path, width: int, t: FixedType | None = None, lo: int | None = None,
                   codes: bool = True) -> np.ndarray | None:
        """Codes of the tb_data file ``path`` (None when not ``codes`` and the file is intact): exactly
        ``images`` lines of ``width`` codes (inside ``t``, or at least ``lo``), byte for byte what the
        build wrote."""
        if self.codes_per_line.get(path.name) != width:
            raise UsageError(f"{self.path}: {path.name} has {self.codes_per_line.get(path.name)} codes per line, "
                             f"the spec {width}; rebuild the project")
        data = read_file(path, self.limit(width))
        intact = hashlib.sha256(data).hexdigest() == self.sha256.get(path.name)
        lines = data.count(b"\n") + (not data.endswith(b"\n") and len(data) > 0)
        if intact and not codes and lines == self.images:
            return None  # the build wrote it well-formed; parsing 10,000 images would only cost time
        values = _fast_codes(data, self.images, width, t, lo) if intact else None
        if values is None:
            values = parse_codes(path, data, self.images, width, t, lo)
        if not intact:
            raise UsageError(f"{path}: changed since the build (its SHA-256 is not the one in tb_data/{MANIFEST}); "
                             "rebuild the project")
        return values


def _fast_codes(data: bytes, rows: int, width: int, t: FixedType | None, lo: int | None) -> np.ndarray | None:
    """``data`` as ``rows`` x ``width`` codes when it is in the form the build writes (digits and ``-``, one
    space between codes, one newline after each row, codes in range), else None: :func:`parse_codes` then
    reads it token by token and names the problem. Checks the form with a few byte scans and parses with
    numpy's C parser (a second or two for 10,000 images of 784 codes, where splitting took several)."""
    if (not data.endswith(b"\n") or data.count(b"\n") != rows or data.startswith((b" ", b"\n"))
            or any(bad in data for bad in (b"  ", b" \n", b"\n ", b"\n\n", b"\t", b"+", b"\r"))
            or _CHARSET.fullmatch(data) is None):
        return None
    lines = data.split(b"\n")[:-1]
    if any(line.count(b" ") != width - 1 for line in lines):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(data, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning, OverflowError):
            return None
    lo = t.min_code if t is not None else lo
    hi = t.max_code if t is not None else None
    if values.size != rows * width or (values.size and ((lo is not None and values.min() < lo)
                                                         or (hi is not None and values.max() > hi))):
        return None
    return values.reshape(rows, width)


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
    want = KINDS.get(path.name, "csim")
    again = AGAIN[want]
    data = read_file(path, manifest.limit(width) + 400, again)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    first = lines[0].decode("utf-8", "replace") if lines else ""
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
