"""Find and load MNIST: the config's ``data.path``, else ``$HLSGEN_DATA``, else Keras' downloader.

A source is an ``.npz`` in Keras' ``mnist.npz`` layout (``x_train, y_train, x_test, y_test``) or a
folder of the four IDX files (raw or ``.gz``). Images stay ``uint8``: the network's input codes
are the pixel bytes themselves (``ap_ufixed<8,0>``, value = pixel / 256).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import DataError
from hlsgen.fixed import FixedType

ENV_VAR = "HLSGEN_DATA"
PIXEL_SCALE = 256.0  # value = pixel / 256, so every pixel is exact in ap_ufixed<8,0>
PIXEL_T = FixedType.parse("ap_ufixed<8,0>")  # the type whose codes are the pixel bytes
_IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_HOW = (f"set data.path in the config or {ENV_VAR} to an mnist.npz (Keras layout) or a folder of "
        "MNIST IDX files")


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 images (N, 28, 28) and uint8 labels (N,), with where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def digest(self) -> str:
        """SHA-256 (hex) of the images and labels, train and test: a training is reused only on the same data,
        wherever the file lies and whatever it is called."""
        h = hashlib.sha256()
        for name in ("x_train", "y_train", "x_test", "y_test"):
            a = np.ascontiguousarray(getattr(self, name), dtype=np.uint8)
            h.update(f"{name} {list(a.shape)}".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Mnist:
        """The first ``n_train`` training and ``n_test`` test images (all when None)."""
        return Mnist(self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test],
                     self.y_test[:n_test], self.source)


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 network inputs, pixel / 256 (exactly the ap_ufixed<8,0> values)."""
    return (np.asarray(images, dtype=np.float32) / np.float32(PIXEL_SCALE))[..., np.newaxis]


def input_codes(input_t: FixedType, images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) -> codes of ``input_t`` (N, H, W, 1) in its ``code_dtype``: the values
    pixel / 256 converted to the input type as C++ converts them. A pixel is exactly the ``ap_ufixed<8,0>``
    code of its value, so this is a cast from that type (integer arithmetic; for the reference input type,
    code = pixel)."""
    codes = input_t.cast(np.asarray(images, dtype=np.uint8)[..., np.newaxis], PIXEL_T)
    return codes.astype(input_t.code_dtype, copy=False)


def check_input_shape(data: Mnist, input_shape) -> None:
    """Raise DataError unless the config's ``model.input_shape`` is the shape of one image as the network
    receives it (``(28, 28, 1)`` for MNIST: the images with a channel axis); called right after loading,
    before any training."""
    expected = (*data.x_train.shape[1:], 1)
    given = tuple(input_shape)
    if given != expected:
        raise DataError(f"model.input_shape: {list(given)} does not match the data: {data.source} has images of "
                        f"shape {list(expected)} (height, width, channels); set model.input_shape: {list(expected)}")


def load_for(path: str | Path | None, input_shape) -> Mnist:
    """:func:`load_mnist`, then :func:`check_input_shape`: what every command that trains or evaluates a
    config loads its data with."""
    data = load_mnist(path)
    check_input_shape(data, input_shape)
    return data


def load_mnist(path: str | Path | None = None) -> Mnist:
    """Load MNIST from ``path``, else ``$HLSGEN_DATA``, else Keras' downloader.

    Raises
    ------
    DataError
        One line naming where it looked and how to provide the file.
    """
    if path is not None:
        return _load_path(Path(path), "data.path")
    env = os.environ.get(ENV_VAR)
    if env:
        return _load_path(Path(env), ENV_VAR)
    try:
        from hlsgen.keras_compat import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as err:  # no network, proxy, corrupt cache: all the same to the user
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"no MNIST found: data.path and {ENV_VAR} are not set and Keras' download "
                        f"failed ({reason}); {_HOW}") from None
    return _validated(dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test), "keras download")


def _load_path(path: Path, origin: str) -> Mnist:
    if not str(path).isprintable():  # a newline would break the one-line error contract everywhere
        shown = repr(str(path))
        raise DataError(f"{shown[:60]}{'...' if len(shown) > 60 else ''}: MNIST path (from {origin}) contains "
                        "control characters")
    if not path.exists():
        raise DataError(f"{path}: MNIST file not found (from {origin}); {_HOW}")
    if path.is_dir():
        return _validated(_read_idx_folder(path), str(path))
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file holds one bare array
            raise DataError(f"{path}: a single .npy array (shape {getattr(loaded, 'shape', '?')}), not an .npz "
                            f"archive of x_train, y_train, x_test, y_test (from {origin}); {_HOW}")
        with loaded as npz:
            missing = [k for k in _IDX_NAMES if k not in npz.files]
            if missing:
                raise DataError(f"{path}: not a Keras mnist.npz: missing {', '.join(missing)} "
                                f"(has {', '.join(npz.files) or 'nothing'})")
            arrays = {k: npz[k] for k in _IDX_NAMES}
    except DataError:
        raise
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as err:
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise DataError(f"{path}: cannot read as .npz ({reason}); {_HOW}") from None
    return _validated(arrays, str(path))


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in _IDX_NAMES.items():
        candidates = [folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx")]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(f"{folder}: no {stem}[.gz] in this folder; {_HOW}")
        arrays[key] = read_idx(found)
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (raw or gzip) into an array of its declared shape."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read IDX file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path}: IDX file is truncated or padded: header says {dims}, "
                        f"{len(raw) - header} data bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _validated(arrays: dict[str, np.ndarray], source: str) -> Mnist:
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if y.shape != (x.shape[0],):
            raise DataError(f"{source}: y_{split} has shape {y.shape}, expected ({x.shape[0]},) to match x_{split}")
        if x.dtype != np.uint8:
            if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() > 255:
                raise DataError(f"{source}: x_{split} must hold pixel bytes 0..255 (dtype {x.dtype})")
        if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9):
            raise DataError(f"{source}: y_{split} must hold digit labels 0..9")
        if x.shape[0] == 0:
            raise DataError(f"{source}: x_{split} is empty")
    return Mnist(
        x_train=np.asarray(arrays["x_train"], dtype=np.uint8),
        y_train=np.asarray(arrays["y_train"], dtype=np.uint8),
        x_test=np.asarray(arrays["x_test"], dtype=np.uint8),
        y_test=np.asarray(arrays["y_test"], dtype=np.uint8),
        source=source,
    )
