"""Lowering: a validated Config -> its weight-free :class:`~hlsgen.spec.Network` (once per Config), and with
the trained integer weight codes -> :class:`~hlsgen.spec.HardwareSpec`; the config's ``hls`` section ->
:class:`~hlsgen.spec.HlsSettings`.

Lives beside the spec, not inside it, so that the spec (and the golden model that reads it) never
imports the config package or PyYAML.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

import numpy as np

from hlsgen.config import Config
from hlsgen.derived_names import relu_stage, softmax_stage
from hlsgen.errors import ConfigError
from hlsgen.fixed import FixedType, Overflow
from hlsgen.hls_settings import HlsSettings
from hlsgen.spec.kinds import ConvParams, PoolParams, SoftmaxParams
from hlsgen.spec.model import HardwareSpec, Network, Stage


def lower(cfg: Config) -> Network:
    """The weight-free :class:`Network` of ``cfg``, lowered once per Config object (every later call returns
    the same Network): the stages hls4ml generates, their types and typed parameters."""
    hit = _LOWERED.get(id(cfg))
    if hit is not None and hit[0]() is cfg:
        return hit[1]
    network = _lower(cfg)
    key = id(cfg)
    _LOWERED[key] = (weakref.ref(cfg, lambda _ref: _LOWERED.pop(key, None)), network)
    return network


_LOWERED: dict[int, tuple[weakref.ref, Network]] = {}


def build_spec(cfg: Config, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> HardwareSpec:
    """The hardware spec of ``cfg`` with the integer ``codes`` {layer: (weight_codes, bias_codes)}
    of every Conv2D/Dense (BatchNormalization already folded in): ``lower(cfg).attach(codes)``."""
    return lower(cfg).attach(codes)


def _lower(cfg: Config) -> Network:
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
            kind = "conv2d" if layer.type == "Conv2D" else "dense"
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
                                prec.weight, prec.bias, prec.accum, params=params, source=layer.name))
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
    return Network(cfg.name, cfg.input_shape, cfg.input_type, tuple(stages))


def hls_settings(cfg: Config) -> HlsSettings:
    """The config's ``hls`` section: the settings the HLS writer and the estimate read (``cfg.hls`` itself)."""
    return cfg.hls


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


def lower_with_settings(cfg: Config) -> tuple[Network, HlsSettings]:
    """``(lower(cfg), hls_settings(cfg))``: what the estimate and the HLS writer read."""
    return lower(cfg), hls_settings(cfg)
