"""Fixtures of the importer's tests: a small MNIST file (2,000 training, 1,000 test images) as HLSGEN_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_NPZ = ROOT.parent / "shared" / "data" / "mnist" / "mnist-10k.npz"


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    source = Path(os.environ.get("HLSGEN_DATA", SHARED_NPZ))
    if not source.exists():
        pytest.skip("no MNIST file (set HLSGEN_DATA)")
    with np.load(source) as npz:
        arrays = {"x_train": npz["x_train"][:2000], "y_train": npz["y_train"][:2000],
                  "x_test": npz["x_test"][:1000], "y_test": npz["y_test"][:1000]}
    path = tmp_path_factory.mktemp("data") / "mnist-small.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture()
def data_env(small_data, monkeypatch):
    monkeypatch.setenv("HLSGEN_DATA", str(small_data))
    with np.load(small_data) as npz:
        return {k: npz[k] for k in npz.files}
