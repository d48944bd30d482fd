"""Data loading: npz and IDX (raw and gzip), search order, and one-line errors."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from specs import SHARED

from hlsgen.data import ENV_VAR, input_codes, load_mnist, read_idx, to_float
from hlsgen.errors import DataError
from hlsgen.fixed import FixedType

SHARED_NPZ = Path(os.environ.get(ENV_VAR) or SHARED / "data" / "mnist" / "mnist-10k.npz")


def fake_arrays(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


def test_npz_round_trip(tmp_path):
    arrays = fake_arrays()
    np.savez(tmp_path / "m.npz", **arrays)
    data = load_mnist(tmp_path / "m.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), value)
    assert data.x_train.dtype == np.uint8


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    arrays = fake_arrays(seed=1)
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        write_idx(tmp_path / (name + (".gz" if gz else "")), arrays[key], gz)
    data = load_mnist(tmp_path)
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), value)


def test_env_var_is_second_choice(tmp_path, monkeypatch):
    arrays = fake_arrays(seed=2)
    np.savez(tmp_path / "env.npz", **arrays)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.npz"))
    np.testing.assert_array_equal(load_mnist().x_test, arrays["x_test"])
    other = fake_arrays(seed=3)
    np.savez(tmp_path / "cfg.npz", **other)
    np.testing.assert_array_equal(load_mnist(tmp_path / "cfg.npz").x_test, other["x_test"])


def test_missing_file_names_origin(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.npz"))
    with pytest.raises(DataError, match=r"nope\.npz: MNIST file not found \(from HLSGEN_DATA\); set data.path"):
        load_mnist()


def test_corrupt_and_wrong_shape(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz: cannot read as \.npz"):
        load_mnist(tmp_path / "junk.npz")
    arrays = fake_arrays()
    arrays["x_test"] = arrays["x_test"][:, :27]
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(DataError, match=r"x_test has shape \(5, 27, 28\), expected \(N, 28, 28\)"):
        load_mnist(tmp_path / "shape.npz")
    arrays = fake_arrays()
    del arrays["y_train"]
    np.savez(tmp_path / "keys.npz", **arrays)
    with pytest.raises(DataError, match="missing y_train"):
        load_mnist(tmp_path / "keys.npz")


def test_truncated_idx(tmp_path):
    write_idx(tmp_path / "a", np.zeros((2, 3), np.uint8), gz=False)
    (tmp_path / "a").write_bytes((tmp_path / "a").read_bytes()[:-1])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "a")


def test_no_source_offline(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    from hlsgen.keras_compat import keras

    kmnist = keras.datasets.mnist  # the module hlsgen.data calls (tf.keras is another object on TF >= 2.16)

    def offline(*_a, **_k):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(kmnist, "load_data", offline)
    with pytest.raises(DataError, match=r"Keras' download failed \(URL fetch failure: no network\); set data.path"):
        load_mnist()


def test_to_float_is_exact_pixel_over_256():
    x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    f = to_float(x)
    assert f.shape == (1, 16, 16, 1) and f.dtype == np.float32
    np.testing.assert_array_equal(f[..., 0] * 256, x.astype(np.float32))


@pytest.mark.skipif(not SHARED_NPZ.exists(), reason="shared MNIST file not present")
def test_shared_file_matches_readme():
    data = load_mnist(SHARED_NPZ)
    assert data.x_train.shape == (10000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    import hashlib

    assert hashlib.sha256(data.x_test.tobytes()).hexdigest().startswith("6d87418db22cc802")


@pytest.mark.parametrize("text", ["ap_ufixed<8,0>", "ap_ufixed<8,2,AP_RND_CONV,AP_SAT>", "ap_fixed<8,6>",
                                  "ap_fixed<8,1,AP_RND,AP_SAT>", "ap_fixed<6,-1,AP_RND_INF,AP_WRAP>",
                                  "ap_ufixed<12,1>", "ap_fixed<8,0,AP_TRN_ZERO,AP_SAT_SYM>"])
def test_input_codes_are_the_float_values_converted(text):
    """Casting pixel codes from ap_ufixed<8,0> equals converting the float value pixel / 256 (the
    double-to-ap_fixed conversion, itself checked against ap_fixed.h): every pixel, in any input type."""
    t = FixedType.parse(text)
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    np.testing.assert_array_equal(input_codes(t, pixels), t.quantize(to_float(pixels).astype(np.float64)))
    assert input_codes(t, pixels).shape == (1, 16, 16, 1)


# ------------------------------------------------------------------------------ issue 12

def test_npy_file_is_a_one_line_data_error(tmp_path, monkeypatch):
    """HLSGEN_DATA pointing at a .npy file once gave a TypeError traceback."""
    np.save(tmp_path / "x.npy", np.zeros((3, 28, 28), np.uint8))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "x.npy"))
    with pytest.raises(DataError, match=r"x\.npy: a single \.npy array \(shape \(3, 28, 28\)\), not an \.npz "
                       r"archive of x_train, y_train, x_test, y_test \(from HLSGEN_DATA\)") as info:
        load_mnist()
    assert "\n" not in str(info.value)


def test_npy_through_the_cli_exit_2(tmp_path):
    """`hlsgen build` with HLSGEN_DATA at a .npy: one line, exit 2 (the data is read before training)."""
    import os
    import subprocess
    import sys

    np.save(tmp_path / "x.npy", np.zeros((3, 28, 28), np.uint8))
    config = Path(__file__).resolve().parents[1] / "configs" / "mnist.yaml"
    env = dict(os.environ, HLSGEN_DATA=str(tmp_path / "x.npy"), TF_CPP_MIN_LOG_LEVEL="3")
    res = subprocess.run([sys.executable, "-m", "hlsgen.cli", "build", str(config), "--output", "prj"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("hlsgen: error: ")
    assert "a single .npy array" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_pickled_or_odd_npz_contents_are_data_errors(tmp_path):
    np.savez(tmp_path / "obj.npz", x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))
    with pytest.raises(DataError, match=r"obj\.npz: cannot read as \.npz"):
        load_mnist(tmp_path / "obj.npz")


def test_control_characters_in_data_path(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "a\nb.npz"))
    with pytest.raises(DataError, match="contains control characters") as info:
        load_mnist()
    assert "\n" not in str(info.value)


def test_check_input_shape(tmp_path):
    from hlsgen.data import Mnist, check_input_shape

    arrays = fake_arrays()
    data = Mnist(**arrays, source="m.npz")
    check_input_shape(data, (28, 28, 1))
    check_input_shape(data, [28, 28, 1])
    for shape in ([32, 32, 1], [28, 28, 3], [784], [28, 28]):
        with pytest.raises(DataError) as info:
            check_input_shape(data, shape)
        assert str(info.value) == (f"model.input_shape: {list(shape)} does not match the data: m.npz has images of "
                                   "shape [28, 28, 1] (height, width, channels); set model.input_shape: [28, 28, 1]")
