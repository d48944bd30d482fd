"""Lowering: a validated Config plus integer weight codes -> :class:`~hlsgen.spec.HardwareSpec`.

Lives beside the spec, not inside it, so that the spec (and the golden model that reads it) never
imports the config package or PyYAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from hlsgen.config import Config
from hlsgen.errors import ConfigError, HlsgenError
from hlsgen.fixed import FixedType, Overflow
from hlsgen.names import relu_stage, softmax_stage
from hlsgen.spec.kinds import ConvParams, PoolParams, SoftmaxParams
from hlsgen.spec.model import HardwareSpec, Stage, check_codes
from hlsgen.spec.settings import HlsSettings


def build_spec(cfg: Config, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> HardwareSpec:
    """The hardware spec of ``cfg`` with the integer ``codes`` {layer: (weight_codes, bias_codes)}
    of every Conv2D/Dense (BatchNormalization already folded in)."""
    stages: list[Stage] = []
    for layer in cfg.layers:
        if layer.type in ("Dropout", "BatchNormalization"):
            continue  # inference: dropout is identity; batch norm is folded into the previous layer
        if layer.type == "Flatten":
            stages.append(Stage(layer.name, "flatten", layer.input_shape, layer.output_shape,
                                _last_t(stages, cfg), _last_t(stages, cfg), source=layer.name))
            continue
        prec = cfg.precision.get(layer.name)
        if layer.has_weights:
            if layer.name not in codes:
                raise HlsgenError(f"{layer.name}: no weight codes given for this {layer.type}")
            w, b = codes[layer.name]
            w = check_codes(layer.name, prec.weight, w, "weight")
            b = check_codes(layer.name, prec.bias, b, "bias")
            kind = "conv2d" if layer.type == "Conv2D" else "dense"
            _check_weight_shape(layer, w, b)
            if prec.accum.overflow is not Overflow.WRAP:
                raise ConfigError(f"precision.layers.{layer.name}.accum: {prec.accum} saturates; a saturating "
                                  "accumulator depends on summation order, which hls4ml does not fix: use AP_WRAP")
            act = layer.activation
            linear_t = prec.result if act == "linear" else (prec.accum if act == "relu" else prec.result)
            params = None
            if layer.type == "Conv2D":
                params = ConvParams(tuple(layer.args["kernel_size"]), tuple(layer.args["strides"]),
                                    layer.args["padding"])
            stages.append(Stage(layer.name, kind, layer.input_shape, layer.output_shape, prec.input, linear_t,
                                prec.weight, prec.bias, prec.accum, w, b, params, layer.name))
            if act == "relu":
                stages.append(Stage(relu_stage(layer.name), "relu", layer.output_shape, layer.output_shape,
                                    linear_t, prec.result, source=layer.name))
            elif act == "softmax":
                _append_softmax(stages, cfg, layer, softmax_stage(layer.name))
        elif layer.type == "Activation":
            if layer.activation == "softmax":
                _append_softmax(stages, cfg, layer, layer.name)
            else:
                stages.append(Stage(layer.name, layer.activation, layer.input_shape, layer.output_shape,
                                    prec.input, prec.result, source=layer.name))
        else:  # pooling
            kind = "maxpool" if layer.type == "MaxPooling2D" else "avgpool"
            params = PoolParams(tuple(layer.args["pool_size"]), tuple(layer.args["strides"]), layer.args["padding"])
            stages.append(Stage(layer.name, kind, layer.input_shape, layer.output_shape, prec.input, prec.result,
                                accum_t=prec.accum, params=params, source=layer.name))
    return HardwareSpec(cfg.name, cfg.input_shape, cfg.input_type, tuple(stages))


def hls_settings(cfg: Config) -> HlsSettings:
    """The config's ``hls`` section as the settings the HLS writer and the estimate read."""
    return HlsSettings(part=cfg.hls.part, clock_period=cfg.hls.clock_period, io_type=cfg.hls.io_type,
                       strategy=cfg.hls.strategy, backend=cfg.hls.backend,
                       reuse_factor=MappingProxyType({layer.name: int(cfg.hls.reuse_factor[layer.name])
                                                      for layer in cfg.layers if layer.has_weights}))


def _last_t(stages: list[Stage], cfg: Config) -> FixedType:
    return stages[-1].result_t if stages else cfg.input_type


def _append_softmax(stages: list[Stage], cfg: Config, layer, name: str) -> None:
    sm = cfg.softmax
    if sm.implementation == "none":
        return  # logits out
    logits_t = _last_t(stages, cfg)
    params = SoftmaxParams(sm.implementation)
    # argmax never reads the tables, but hls4ml's softmax compiles every implementation's code, so the
    # firmware holds tables for it too (hlsgen/hls/tables.py): the latency ones, stated here like any other
    if sm.implementation in ("stable", "latency", "argmax"):
        # hls4ml's default inp_norm_t, ap_ufixed<W-1,I-1> wrapping, wraps a difference max - x of
        # 2**(I-1) or more back to a small one. ap_ufixed<W,I> saturating holds every difference.
        norm_t = sm.inp_norm or FixedType(logits_t.width, logits_t.integer, False, overflow=Overflow.SAT)
        addr_t = norm_t if sm.implementation == "stable" else logits_t
        params = SoftmaxParams(
            sm.implementation,
            exp_table_size=min(sm.table_size, 2**addr_t.width),  # the address is at most the type's bits
            inv_table_size=sm.table_size,
            exp_table_t=sm.exp_table, inv_table_t=sm.inv_table, accum_t=sm.accum, inv_inp_t=sm.inv_input,
            inp_norm_t=norm_t if sm.implementation == "stable" else None)
    stages.append(Stage(name, "softmax", layer.output_shape, layer.output_shape, logits_t, sm.result,
                        params=params, source=layer.name))


def _check_weight_shape(layer, w: np.ndarray, b: np.ndarray) -> None:
    cin = layer.input_shape[-1]
    if layer.type == "Conv2D":
        kh, kw = layer.args["kernel_size"]
        want = (kh, kw, cin, layer.args["filters"])
    else:
        want = (cin, layer.args["units"])
    if w.shape != want or b.shape != (want[-1],):
        raise HlsgenError(f"{layer.name}: weight codes of shape {w.shape} and bias {b.shape}; "
                          f"expected {want} and ({want[-1]},)")
