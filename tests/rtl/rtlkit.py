"""Projects for the RTL tests: a spec written as `hlsgen build` leaves it for `hlsgen rtl` (spec.json,
weights.npz, tb_data without a manifest), and one weight code of it changed afterwards."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from hlsgen import golden
from hlsgen.spec import HardwareSpec


def write_project(path: Path, spec: HardwareSpec, images: int = 200, seed: int = 1,
                  inputs: np.ndarray | None = None) -> Path:
    """A project as `hlsgen build` leaves it, for the RTL: spec.json, weights.npz, tb_data (no manifest);
    the test images are ``inputs`` (codes) or random non-negative codes."""
    path.mkdir(parents=True)
    spec.save(path)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, spec.input_t.max_code + 1, (images, *spec.input_shape)) if inputs is None else inputs
    images = len(x)
    x = x.reshape(images, *spec.input_shape)
    out = golden.run(spec, x).output.reshape(images, -1)
    (path / "tb_data").mkdir()
    for name, codes in (("inputs.txt", x.reshape(images, -1)), ("expected.txt", out)):
        (path / "tb_data" / name).write_text("".join(" ".join(map(str, row)) + "\n" for row in codes))
    return path


def edit_weight(project: Path, key: str, index: tuple[int, ...], delta: int, bits: int = 4) -> None:
    """One code moved by ``delta``, wrapped into a signed ``bits``-bit weight type (tiny_spec's: 4 bits,
    [-8, 7]; a code outside its type is refused when the spec loads: tests/verify/test_derive.py)."""
    with np.load(project / "weights.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    half = 1 << (bits - 1)
    arrays[key][index] = (arrays[key][index] + delta + half) % (2 * half) - half
    with zipfile.ZipFile(project / "weights.npz", "w") as zf:
        for k, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a)
            zf.writestr(f"{k}.npy", buf.getvalue())
