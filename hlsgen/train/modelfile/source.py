"""A model file's bytes, read without trusting them: what the file is (a regular file, by its first bytes, not
its name), its architecture JSON and its weights' HDF5 file, every read bounded.

- HDF5 (``.h5``/``.hdf5``, Keras 2 or 3): the JSON is the ``model_config`` attribute (at most
  :data:`MAX_JSON_BYTES`), the weights are in the same file.
- ZIP (``.keras``, whatever the name): ``config.json`` and ``model.weights.h5`` are read from the archive into
  memory, each member's declared size and compression ratio checked first and the read capped; the archive is
  never extracted.
- JSON (``model.to_json()``): at most :data:`MAX_JSON_BYTES`; the weights come from a second (HDF5) file.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsgen.train.modelfile.scan import fail

MAX_JSON_BYTES = 4 << 20  # a 1,000-layer Keras config is about 2 MB
MAX_WEIGHTS_BYTES = 512 << 20  # a .keras archive's weights member, read into memory
MAX_RATIO = 100  # a member that inflates more than this (and past RATIO_FLOOR) is a decompression bomb
RATIO_FLOOR = 1 << 20
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO (named pipe)",
          stat.S_IFSOCK: "a socket"}


@dataclass
class Source:
    """What a model file holds: its architecture ``tree`` (parsed JSON) and ``weights``, an open HDF5 file
    (``h5py.File``) or None when the caller gives no weights file with a JSON architecture; ``weights_where``
    names that file in messages. Close with :meth:`close`."""

    tree: Any
    weights: Any
    weights_where: str
    whole_model: bool  # an .h5 whole model: weights under model_weights/

    def close(self) -> None:
        if self.weights is not None:
            self.weights.close()


def reason(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def file_kind(path: Path, what: str = "model file") -> str:
    """``"hdf5"``, ``"zip"`` or ``"json"`` by the file's first bytes (8 read). Raises HlsgenError for a missing
    file, a directory, anything but a regular file (devices and FIFOs are never opened) and other content."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise fail(str(path), f"no such {what}") from None
    except OSError as err:
        raise fail(str(path), f"cannot read the {what} ({err.strerror})") from None
    if stat.S_ISDIR(mode):
        raise fail(str(path), f"a directory, not a {what}")
    if not stat.S_ISREG(mode):
        raise fail(str(path), f"{_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not a {what}")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as err:
        raise fail(str(path), f"cannot read the {what} ({err.strerror})") from None
    if head == HDF5_MAGIC:
        return "hdf5"
    if head[:4] in _ZIP_MAGICS:
        return "zip"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "json"
    if not head:
        raise fail(str(path), f"an empty file, not a {what}")
    raise fail(str(path), "not a Keras model file (neither HDF5 .h5, a .keras zip nor a JSON architecture)")


def parse_json(data: bytes, where: str) -> Any:
    """The JSON in ``data`` (at most :data:`MAX_JSON_BYTES`; nesting and element count are checked by
    :func:`~hlsgen.train.modelfile.scan.scan`)."""
    if len(data) > MAX_JSON_BYTES:
        raise fail(where, f"the architecture JSON is over {MAX_JSON_BYTES:,} bytes (the limit)")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise fail(where, "the architecture JSON nests too deep") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise fail(where, f"not a JSON file ({reason(err)})") from None


def read_capped(path: Path, limit: int, where: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise fail(where, f"cannot read ({err.strerror})") from None
    if len(data) > limit:
        raise fail(where, f"the architecture JSON is over {limit:,} bytes (the limit)")
    return data


def zip_member(archive: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    """Member ``name`` of ``archive`` read into memory: its declared size at most ``limit``, its compression
    ratio at most :data:`MAX_RATIO` (past :data:`RATIO_FLOOR`), the read capped at ``limit`` bytes."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise fail(where, f"a zip without {name}: not a Keras .keras model") from None
    if info.file_size > limit:
        raise fail(where, f"{name} declares {info.file_size:,} bytes; the limit is {limit:,}")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise fail(where, f"{name} inflates {info.compress_size:,} bytes to {info.file_size:,} (over {MAX_RATIO}:1): "
                          "refused as a decompression bomb")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as err:
        raise fail(where, f"cannot read {name} from the archive ({reason(err)})") from None
    if len(data) > limit:
        raise fail(where, f"{name} is over {limit:,} bytes (the limit)")
    return data


def _h5(target: Path | io.BytesIO, where: str):
    import h5py

    try:
        return h5py.File(target, "r")
    except Exception as err:  # h5py raises OSError, ValueError and its own types for damaged files
        raise fail(where, f"cannot read as a Keras model file ({reason(err)})") from None


def h5_text(obj, name: str, limit: int, where: str) -> str | None:
    """Attribute ``name`` of an HDF5 object as text, or None; a fixed-size string attribute is measured before it
    is read (a variable-length one is held in the file as it is read)."""
    if name not in obj.attrs:
        return None
    try:
        aid = obj.attrs.get_id(name)
        if aid.dtype.kind == "S" and aid.dtype.itemsize * aid.get_space().get_simple_extent_npoints() > limit:
            raise fail(where, f"its {name} attribute is over {limit:,} bytes (the limit)")
        value = obj.attrs[name]
    except OSError as err:
        raise fail(where, f"cannot read its {name} attribute ({reason(err)})") from None
    if hasattr(value, "tolist") and not isinstance(value, bytes | str):
        value = value.tolist()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise fail(where, f"its {name} attribute is not text")
    if len(value) > limit:
        raise fail(where, f"its {name} attribute is over {limit:,} bytes (the limit)")
    return value


def open_source(path: Path, weights: Path | None = None, where: str | None = None) -> Source:
    """Read ``path`` (and ``weights``, the HDF5 weights of a JSON architecture). ``where`` prefixes messages
    (default: the path). The returned :class:`Source` holds an open HDF5 file: close it."""
    where = where or str(path)
    kind = file_kind(path)
    if kind == "json":
        tree = parse_json(read_capped(path, MAX_JSON_BYTES, where), where)
        if weights is None:
            raise fail(where, "a JSON architecture has no weights; give them with --weights WEIGHTS.h5")
        if file_kind(weights, "weights file") != "hdf5":
            raise fail(str(weights), "not an HDF5 weights file (model.save_weights('weights.h5'))")
        return Source(tree, _h5(weights, str(weights)), str(weights), whole_model=False)
    if weights is not None:
        raise fail("--weights", f"{path} is a whole model (it holds its weights); --weights goes with a JSON "
                                "architecture only")
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                config = zip_member(archive, "config.json", MAX_JSON_BYTES, where)
                if "model.weights.h5" not in names and "model.weights.npz" in names:
                    raise fail(where, "weights in model.weights.npz are not read (save them as .h5, Keras' default)")
                data = zip_member(archive, "model.weights.h5", MAX_WEIGHTS_BYTES, where)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) \
                as err:
            raise fail(where, f"not a readable .keras zip ({reason(err)})") from None
        tree = parse_json(config, f"{where}: config.json")
        return Source(tree, _h5(io.BytesIO(data), f"{where}: model.weights.h5"), f"{where}: model.weights.h5",
                      whole_model=False)
    f = _h5(path, where)
    try:
        text = h5_text(f, "model_config", MAX_JSON_BYTES, where)
        if text is None:
            raise fail(where, "an HDF5 file without a model architecture (no model_config attribute: weights only?); "
                              "give the architecture as JSON (model.to_json()) with --weights")
        tree = parse_json(text.encode("utf-8"), f"{where}: model_config")
    except BaseException:
        f.close()
        raise
    return Source(tree, f, where, whole_model=True)
