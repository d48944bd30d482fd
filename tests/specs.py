"""Small specs for tests: a tiny config and a spec with random weight codes (shared by several test folders)."""

from __future__ import annotations

import numpy as np

from hlsgen.config import config_from_dict
from hlsgen.spec import HardwareSpec
from hlsgen.spec.lower import build_spec


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
