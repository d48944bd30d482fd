"""Shared test data for every test folder: the reference config as a dict, the shared folder, a tiny config
and a spec with random weight codes. (Import from here, not from ``conftest``: more than one folder has
one, and ``from conftest import`` gets whichever pytest loaded last.)"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hlsgen.config import config_from_dict
from hlsgen.spec import HardwareSpec
from hlsgen.spec.lower import build_spec

# The folder beside the repository that holds data/ and reports/ ($HLSGEN_SHARED for a copy elsewhere)
SHARED = Path(os.environ.get("HLSGEN_SHARED") or Path(__file__).resolve().parents[2] / "shared")

# configs/mnist.yaml, as a dict (these tests do not depend on that file's formatting)
REFERENCE = {
    "name": "mnist_cnn", "seed": 1, "data": {"dataset": "mnist", "path": None},
    "model": {"input_shape": [28, 28, 1], "layers": [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc1", "units": 128, "activation": "relu"},
        {"type": "Dropout", "name": "drop1", "rate": 0.5},
        {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"}]},
    "train": {"epochs": 12, "batch_size": 128, "optimizer": "adadelta", "learning_rate": 1.0},
    "precision": {
        "input": "ap_ufixed<8,0>",
        "default": {"weight": "ap_fixed<8,1>", "bias": "ap_fixed<8,1>",
                    "result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"},
        "layers": {"conv1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc2": {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>",
                           "result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"}},
        "softmax": {"result": "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"}},
    "hls": {"softmax": "stable", "reuse_factor": {"default": 64}},
    "output_dir": "build/mnist_cnn",
}


def small_config(padding="valid", strides=1, softmax="none", channels=(2, 3)) -> dict:
    return {
        "name": "tiny",
        "model": {"input_shape": [9, 8, channels[0]], "layers": [
            {"type": "Conv2D", "name": "c1", "filters": channels[1], "kernel_size": [3, 2], "strides": strides,
             "padding": padding, "activation": "relu"},
            {"type": "MaxPooling2D", "name": "p1", "pool_size": 2, "padding": padding},
            {"type": "Flatten", "name": "f"},
            {"type": "Dense", "name": "d1", "units": 5, "activation": "softmax"},
        ]},
        "precision": {"input": "ap_ufixed<8,0>",
                      "layers": {"c1": {"result": "ap_ufixed<8,2,AP_RND_CONV,AP_SAT>"}}},
        "hls": {"softmax": softmax},
    }


def random_spec(raw: dict, seed: int = 0) -> HardwareSpec:
    cfg = config_from_dict(raw)
    rng = np.random.default_rng(seed)
    codes = {}
    for layer in cfg.layers:
        if layer.has_weights:
            p = cfg.precision[layer.name]
            shape = ((*layer.args["kernel_size"], layer.input_shape[-1], layer.output_shape[-1])
                     if layer.type == "Conv2D" else (layer.input_shape[-1], layer.output_shape[-1]))
            codes[layer.name] = (rng.integers(p.weight.min_code, p.weight.max_code + 1, shape),
                                 rng.integers(p.bias.min_code, p.bias.max_code + 1, shape[-1]))
    return build_spec(cfg, codes)


def flip_observable_weight(project: Path, layer: str, images: int) -> int:
    """Change one weight of the Dense ``layer`` by one LSB in the ``firmware/weights/*.txt`` file that C
    simulation reads, choosing the first one (in the file's order) whose change alters a golden output on
    the first ``images`` test images -- a single LSB can vanish in a saturated or rounded output, and a
    mutation test must break the evidence for certain. Returns the index changed in the file."""
    from hlsgen import golden

    spec = HardwareSpec.load(project)
    stage = spec.stage(layer)
    codes, lsb = stage.weight_codes, stage.weight_t.lsb
    files = sorted((project / "firmware" / "weights").glob("w*.txt"))
    for path in files:
        values = np.array([float(v) for v in path.read_text().split(",")])
        # hls4ml writes the kernel as Keras lays it out, or transposed (Resource strategy)
        for layout in (codes, codes.T):
            if values.size == codes.size and np.array_equal(values, layout.reshape(-1) * lsb):
                break
        else:
            continue
        x = np.loadtxt(project / "tb_data" / "inputs.txt", dtype=np.int64, ndmin=2)[:images]
        x = x.reshape(len(x), *spec.input_shape)
        base = golden.run(spec, x).output
        for k in range(values.size):
            changed = layout.copy()
            flat = changed.reshape(-1)
            step = 1 if flat[k] < stage.weight_t.max_code else -1
            flat[k] += step
            new = changed if layout is codes else changed.T
            if not np.array_equal(golden.run(spec.with_weights(layer, new, stage.bias_codes), x).output, base):
                values[k] += step * lsb
                path.write_text(",".join(f"{v:.7f}" for v in values))
                return k
        raise AssertionError(f"no single-LSB change of {layer}'s weights changes an output on {images} images")
    raise AssertionError(f"no weight file of {project} holds {layer}'s weights")


def mnist_subset(path: Path, n_train: int, n_test: int) -> Path:
    """The first ``n_train`` training and ``n_test`` test images of the MNIST file (``$HLSGEN_DATA``, else
    the shared one) written to ``path`` in Keras' mnist.npz layout; skips the test without the file."""
    import pytest

    source = Path(os.environ.get("HLSGEN_DATA") or SHARED / "data" / "mnist" / "mnist-10k.npz")
    if not source.exists():
        pytest.skip(f"no MNIST file at {source} (set HLSGEN_DATA)")
    with np.load(source) as npz:
        np.savez(path, x_train=npz["x_train"][:n_train], y_train=npz["y_train"][:n_train],
                 x_test=npz["x_test"][:n_test], y_test=npz["y_test"][:n_test])
    return path


def build_small_project(work: Path, images: int, n_train: int = 2000, n_test: int = 150) -> Path:
    """``hlsgen build`` of configs/mnist.yaml (1 epoch, io_stream) on an MNIST subset into ``work/prj`` with
    ``images`` test images; returns the project."""
    import subprocess
    import sys

    import yaml

    from hlsgen.config import quote_types

    data = mnist_subset(work / "mnist-small.npz", n_train, n_test)
    raw = yaml.safe_load(quote_types((Path(__file__).resolve().parents[1] / "configs" / "mnist.yaml").read_text()))
    raw["data"]["path"] = str(data)
    raw["train"]["epochs"] = 1
    raw["hls"]["io_type"] = "io_stream"
    (work / "cfg.yaml").write_text(yaml.safe_dump(raw))
    res = subprocess.run([sys.executable, "-m", "hlsgen.cli", "build", "cfg.yaml", "--output", "prj", "--images",
                          str(images)], cwd=work, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return work / "prj"


def emit_test_project(directory: Path, spec: HardwareSpec, codes: np.ndarray, labels: np.ndarray,
                      qkeras_labels: np.ndarray | None = None, io_type: str = "io_parallel") -> Path:
    """A real generated project of ``spec`` (hls4ml's firmware, hlsgen's testbench, Makefile, tb_data of the
    input ``codes``, the sealed manifest) in ``directory``, as ``hlsgen build`` writes it after training."""
    from hlsgen.hls.project import emit_project, normalize_project, seal_project, write_test_vectors
    from hlsgen.spec import HlsSettings

    directory.mkdir(parents=True, exist_ok=True)
    settings = HlsSettings(part="xc7z020clg400-1", clock_period=10.0, io_type=io_type)
    hls_model = emit_project(spec, settings, directory, len(codes))
    write_test_vectors(spec, directory, hls_model, codes, labels, qkeras_labels)
    normalize_project(spec, directory, directory)
    seal_project(spec, directory, len(codes))
    return directory


def tiny_search_config(root: Path, n_train: int, n_test: int, units: int, epochs: int) -> Path:
    """The reference network with ``units`` in fc1, trained ``epochs`` epochs (batch 64) on the first ``n_train``
    and ``n_test`` images, written as ``root/tiny.yaml`` (its data and output inside ``root``): the search tests'
    config."""
    import copy

    import yaml

    mnist_subset(root / "mnist.npz", n_train, n_test)
    raw = copy.deepcopy(REFERENCE)
    raw["model"]["layers"][3]["units"] = units
    raw["train"] = {"epochs": epochs, "batch_size": 64, "optimizer": "adadelta", "learning_rate": 1.0}
    raw["data"]["path"] = str(root / "mnist.npz")
    raw["output_dir"] = str(root / "build" / "tiny")
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
