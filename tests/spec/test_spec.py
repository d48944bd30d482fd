"""Hardware spec: stages from the config, code checks, and byte-identical save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hlsgen.config import load_config
from hlsgen.errors import HlsgenError
from hlsgen.spec import HardwareSpec, StageKind
from hlsgen.spec.lower import build_spec, hls_settings

MNIST_YAML = Path(__file__).resolve().parents[2] / "configs" / "mnist.yaml"


def mnist_codes(seed=0):
    cfg = load_config(MNIST_YAML)
    rng = np.random.default_rng(seed)
    shapes = {"conv1": ((3, 3, 1, 2), 2), "fc1": ((338, 128), 128), "fc2": ((128, 10), 10)}
    codes = {}
    for name, (wshape, n) in shapes.items():
        p = cfg.precision[name]
        codes[name] = (rng.integers(p.weight.min_code, p.weight.max_code + 1, wshape),
                       rng.integers(p.bias.min_code, p.bias.max_code + 1, n))
    return cfg, codes


def test_mnist_stages_follow_hls4ml_names():
    cfg, codes = mnist_codes()
    spec = build_spec(cfg, codes)
    assert [(s.name, s.kind) for s in spec.stages] == [
        ("conv1", "conv2d"), ("conv1_relu", "relu"), ("pool1", "maxpool"), ("flatten", "flatten"),
        ("fc1", "dense"), ("fc1_relu", "relu"), ("fc2", "dense"), ("fc2_softmax", "softmax")]
    conv = spec.stage("conv1")
    assert conv.result_t == conv.accum_t  # the linear part stays exact; the ReLU rounds once
    assert str(spec.stage("conv1_relu").result_t) == "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"
    assert str(spec.stage("fc2").result_t) == "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"
    assert str(spec.output_t) == "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"
    assert spec.stage("fc1").params is None and spec.stage("fc1").kind is StageKind.DENSE
    assert hls_settings(cfg).reuse("fc1") == 338  # HLS settings travel beside the spec, not in it


def test_out_of_range_and_misshapen_codes_name_the_layer():
    cfg, codes = mnist_codes()
    w, b = codes["fc1"]
    w = w.copy()
    w[3, 4] = 128  # ap_fixed<8,1> codes stop at 127
    with pytest.raises(HlsgenError, match=r"fc1\.weight: code 128 at \(3, 4\) is outside ap_fixed<8,1>"):
        build_spec(cfg, {**codes, "fc1": (w, b)})
    with pytest.raises(HlsgenError, match=r"fc2: weight codes of shape \(10, 128\)"):
        build_spec(cfg, {**codes, "fc2": (codes["fc2"][0].T, codes["fc2"][1])})
    with pytest.raises(HlsgenError, match="conv1: no weight codes"):
        build_spec(cfg, {k: v for k, v in codes.items() if k != "conv1"})


def test_save_load_round_trip_is_byte_identical(tmp_path):
    cfg, codes = mnist_codes()
    spec = build_spec(cfg, codes)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spec.save(tmp_path / "a")
    loaded = HardwareSpec.load(tmp_path / "a")
    assert loaded.stages == spec.stages  # types, shapes, params
    for s in spec.stages:
        if s.weight_codes is not None:
            np.testing.assert_array_equal(loaded.stage(s.name).weight_codes, s.weight_codes)
            np.testing.assert_array_equal(loaded.stage(s.name).bias_codes, s.bias_codes)
    loaded.save(tmp_path / "b")
    for name in ("spec.json", "weights.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_with_weights_returns_new_spec():
    cfg, codes = mnist_codes()
    spec = build_spec(cfg, codes)
    w, b = codes["fc2"]
    other = spec.with_weights("fc2", w + 0, b * 0)
    assert np.all(other.stage("fc2").bias_codes == 0)
    assert np.array_equal(spec.stage("fc2").bias_codes, b)
