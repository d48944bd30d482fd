"""The hardware spec: the single source of truth for the golden model, hls4ml and the reports.

A :class:`HardwareSpec` lists the stages the generated C++ computes, one per hls4ml layer and under
hls4ml's layer names (``conv1``, ``conv1_relu``, ``pool1``, ``fc2``, ``fc2_softmax``...), each with
its FixedTypes and, for Conv2D/Dense, the integer weight and bias *codes* (value = code * lsb).
It is written into every generated project as ``spec.json`` + ``weights.npz`` so a project can be
re-verified without TensorFlow.

Types per stage: a Conv2D/Dense whose Keras activation is ReLU becomes two stages, the linear
layer whose ``result_t`` is its (exact, derived) accumulator type, and the ReLU that casts to the
config's ``result``: one rounding, after the activation, exactly where QKeras puts its quantizer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from hlsgen.config import Config
from hlsgen.errors import ConfigError, HlsgenError
from hlsgen.fixed import FixedType, Overflow

SPEC_FORMAT = 1
_TYPE_FIELDS = ("input_t", "result_t", "weight_t", "bias_t", "accum_t")


@dataclass(frozen=True)
class Stage:
    """One hls4ml layer. ``kind`` is one of conv2d, dense, relu, linear, maxpool, avgpool,
    flatten, softmax. Weight codes use Keras' layout: (kh, kw, cin, cout) or (in, out)."""

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_t: FixedType
    result_t: FixedType
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    accum_t: FixedType | None = None
    weight_codes: np.ndarray | None = field(default=None, compare=False, repr=False)
    bias_codes: np.ndarray | None = field(default=None, compare=False, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # the config layer this stage comes from

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "source": self.source,
                               "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}
        for key in _TYPE_FIELDS:
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value)
        out["params"] = dict(self.params)
        return out


@dataclass(frozen=True)
class HardwareSpec:
    """The network as the FPGA computes it: input type, stages in order, HLS settings."""

    name: str
    input_shape: tuple[int, ...]
    input_t: FixedType
    stages: tuple[Stage, ...]
    hls: Mapping[str, Any] = field(default_factory=dict)

    @property
    def output_t(self) -> FixedType:
        return self.stages[-1].result_t

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def with_weights(self, name: str, weight_codes: np.ndarray, bias_codes: np.ndarray) -> HardwareSpec:
        """A new spec with one stage's codes replaced (the input spec is not changed)."""
        stages = tuple(replace(s, weight_codes=weight_codes, bias_codes=bias_codes) if s.name == name else s
                       for s in self.stages)
        return replace(self, stages=stages)

    # --------------------------------------------------------------- files
    def save(self, directory: str | Path) -> None:
        """Write ``spec.json`` and ``weights.npz`` (int64 codes) into ``directory``; deterministic."""
        directory = Path(directory)
        doc = {"format": SPEC_FORMAT, "name": self.name, "input_shape": list(self.input_shape),
               "input_t": str(self.input_t), "hls": dict(self.hls), "stages": [s.to_json() for s in self.stages]}
        (directory / "spec.json").write_text(json.dumps(doc, indent=2) + "\n")
        arrays = {}
        for s in self.stages:
            if s.weight_codes is not None:
                arrays[f"{s.name}.weight"] = np.asarray(s.weight_codes, dtype=np.int64)
                arrays[f"{s.name}.bias"] = np.asarray(s.bias_codes, dtype=np.int64)
        _save_npz_deterministic(directory / "weights.npz", arrays)

    @classmethod
    def load(cls, directory: str | Path) -> HardwareSpec:
        """Read a spec written by :meth:`save`."""
        directory = Path(directory)
        try:
            doc = json.loads((directory / "spec.json").read_text())
            with np.load(directory / "weights.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as err:
            raise HlsgenError(f"{directory}: not a readable hlsgen project spec ({err})") from None
        if doc.get("format") != SPEC_FORMAT:
            raise HlsgenError(f"{directory / 'spec.json'}: spec format {doc.get('format')!r}, "
                              f"this hlsgen reads {SPEC_FORMAT}")
        stages = []
        for s in doc["stages"]:
            types = {k: FixedType.parse(s[k]) for k in _TYPE_FIELDS if k in s}
            stages.append(Stage(
                name=s["name"], kind=s["kind"], source=s.get("source", ""),
                input_shape=tuple(s["input_shape"]), output_shape=tuple(s["output_shape"]),
                weight_codes=arrays.get(f"{s['name']}.weight"), bias_codes=arrays.get(f"{s['name']}.bias"),
                params=MappingProxyType(s.get("params", {})), **types))
        return cls(doc["name"], tuple(doc["input_shape"]), FixedType.parse(doc["input_t"]), tuple(stages),
                   MappingProxyType(doc.get("hls", {})))


def _save_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez stamps the current time into the zip; write fixed timestamps so files are byte-identical."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, buf.getvalue())


def check_codes(name: str, t: FixedType, codes: np.ndarray, what: str) -> np.ndarray:
    """Integer codes of ``what`` in range of ``t``; raises naming the layer and the first bad value."""
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise HlsgenError(f"{name}.{what}: codes must be integers, got dtype {codes.dtype}")
    bad = (codes < t.min_code) | (codes > t.max_code)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise HlsgenError(f"{name}.{what}: code {int(codes[idx])} at {idx} is outside {t} "
                          f"[{t.min_code}, {t.max_code}]")
    return codes.astype(np.int64)


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
            params = {"reuse_factor": cfg.hls.reuse_factor[layer.name]}
            if layer.type == "Conv2D":
                params.update(kernel_size=list(layer.args["kernel_size"]), strides=list(layer.args["strides"]),
                              padding=layer.args["padding"])
            stages.append(Stage(layer.name, kind, layer.input_shape, layer.output_shape, prec.input, linear_t,
                                prec.weight, prec.bias, prec.accum, w, b, MappingProxyType(params), layer.name))
            if act == "relu":
                stages.append(Stage(f"{layer.name}_relu", "relu", layer.output_shape, layer.output_shape,
                                    linear_t, prec.result, source=layer.name))
            elif act == "softmax":
                _append_softmax(stages, cfg, layer, f"{layer.name}_softmax")
        elif layer.type == "Activation":
            if layer.activation == "softmax":
                _append_softmax(stages, cfg, layer, layer.name)
            else:
                stages.append(Stage(layer.name, layer.activation, layer.input_shape, layer.output_shape,
                                    prec.input, prec.result, source=layer.name))
        else:  # pooling
            kind = "maxpool" if layer.type == "MaxPooling2D" else "avgpool"
            params = {"pool_size": list(layer.args["pool_size"]), "strides": list(layer.args["strides"]),
                      "padding": layer.args["padding"]}
            stages.append(Stage(layer.name, kind, layer.input_shape, layer.output_shape, prec.input, prec.result,
                                accum_t=prec.accum, params=MappingProxyType(params), source=layer.name))
    hls = {"part": cfg.hls.part, "clock_period": cfg.hls.clock_period, "io_type": cfg.hls.io_type,
           "strategy": cfg.hls.strategy, "backend": cfg.hls.backend}
    return HardwareSpec(cfg.name, cfg.input_shape, cfg.input_type, tuple(stages), MappingProxyType(hls))


def _last_t(stages: list[Stage], cfg: Config) -> FixedType:
    return stages[-1].result_t if stages else cfg.input_type


def _append_softmax(stages: list[Stage], cfg: Config, layer, name: str) -> None:
    sm = cfg.softmax
    if sm.implementation == "none":
        return  # logits out
    logits_t = _last_t(stages, cfg)
    params: dict[str, Any] = {"implementation": sm.implementation}
    if sm.implementation in ("stable", "latency"):
        # hls4ml's default inp_norm_t, ap_ufixed<W-1,I-1> wrapping, wraps a difference max - x of
        # 2**(I-1) or more back to a small one. ap_ufixed<W,I> saturating holds every difference.
        norm_t = sm.inp_norm or FixedType.parse(f"ap_ufixed<{logits_t.width},{logits_t.integer},AP_TRN,AP_SAT>")
        addr_t = norm_t if sm.implementation == "stable" else logits_t
        params.update(
            exp_table_size=min(sm.table_size, 2**addr_t.width),  # the address is at most the type's bits
            inv_table_size=sm.table_size,
            exp_table_t=str(sm.exp_table), inv_table_t=str(sm.inv_table), accum_t=str(sm.accum),
            inv_inp_t=str(sm.inv_input),
        )
        if sm.implementation == "stable":
            params["inp_norm_t"] = str(norm_t)
    stages.append(Stage(name, "softmax", layer.output_shape, layer.output_shape, logits_t, sm.result,
                        params=MappingProxyType(params), source=layer.name))


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
