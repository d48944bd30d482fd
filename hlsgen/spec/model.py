"""The network and the hardware spec: the single source of truth for every stage of the pipeline.

A :class:`Network` is the network as the FPGA computes it, without weights: stages, shapes, types and each
kind's typed parameters, with the figures derived from them (weight shape, fan-in, padding) as properties.
It is lowered once from the config (:func:`hlsgen.spec.lower.lower`) before anything is trained; the
estimate, training, the HLS writer and the proofs read it. Trained integer codes attach to it
(:meth:`Network.attach`): a :class:`HardwareSpec` is a Network with the codes of every Conv2D/Dense.

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

import hashlib
import json
import math
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen import geometry
from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.spec.kinds import StageKind, StageParams, params_json, parse_params
from hlsgen.spec.validate import MAX_VALUES, check_codes, check_spec  # noqa: F401  (check_codes: lowering's)

SPEC_FORMAT = 2  # 2: no HLS settings inside (they travel as HlsSettings); 1 is read too
_READABLE_FORMATS = (1, 2)
Codes = dict[str, tuple[np.ndarray, np.ndarray]]  # {Conv2D/Dense layer: (weight codes, bias codes)}
_TYPE_FIELDS = ("input_t", "result_t", "weight_t", "bias_t", "accum_t")


@dataclass(frozen=True)
class Stage:
    """One hls4ml layer: its :class:`StageKind`, shapes, types and the kind's typed parameters
    (``params`` may be given as a mapping with spec.json's keys; it is parsed into the typed form).
    Weight codes use Keras' layout: (kh, kw, cin, cout) or (in, out)."""

    name: str
    kind: StageKind
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_t: FixedType
    result_t: FixedType
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    accum_t: FixedType | None = None
    weight_codes: np.ndarray | None = field(default=None, compare=False, repr=False)
    bias_codes: np.ndarray | None = field(default=None, compare=False, repr=False)
    params: StageParams = None
    source: str = ""  # the config layer this stage comes from

    def __post_init__(self) -> None:
        kind = StageKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", parse_params(kind, self.params, self.name))
        for key in ("weight_codes", "bias_codes"):  # read-only copies: a spec's digest is computed once
            codes = getattr(self, key)
            if codes is not None and (not isinstance(codes, np.ndarray) or codes.flags.writeable):
                codes = np.array(codes)
                codes.flags.writeable = False
                object.__setattr__(self, key, codes)

    # ------------------------------------------------ figures derived from the kind, shapes and params
    @property
    def weight_shape(self) -> tuple[int, ...] | None:
        """A Conv2D/Dense's weight codes in Keras' layout (:func:`hlsgen.geometry.weight_shape`); None for
        the other kinds."""
        if not self.kind.weighted:
            return None
        kernel = self.params.kernel_size if self.kind is StageKind.CONV2D else None
        return geometry.weight_shape(kernel, self.input_shape[-1], self.output_shape[-1])

    @property
    def fan_in(self) -> int:
        """Products summed into one output (hls4ml's matrix-multiply ``n_in``) of a Conv2D/Dense."""
        return geometry.fan_in(self.weight_shape)

    @property
    def n_out(self) -> int:
        """Outputs of one matrix multiply of a Conv2D/Dense (hls4ml's ``n_out``): filters or units."""
        return self.output_shape[-1]

    @property
    def window(self) -> tuple[int, int] | None:
        """A Conv2D's kernel or a pooling window (height, width); None for the other kinds."""
        if self.kind is StageKind.CONV2D:
            return self.params.kernel_size
        return self.params.pool_size if self.kind.pooling else None

    @property
    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """A windowed stage's padding ``((top, bottom), (left, right))`` (Keras' rule,
        :func:`hlsgen.geometry.padding`); ``((0, 0), (0, 0))`` for the other kinds."""
        if self.window is None:
            return (0, 0), (0, 0)
        return tuple(geometry.padding(self.input_shape[i], self.window[i], self.params.strides[i], self.params.padding)
                     for i in (0, 1))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "source": self.source,
                               "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}
        for key in _TYPE_FIELDS:
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value)
        out["params"] = params_json(self.params)
        return out


@dataclass(frozen=True)
class Network:
    """The network as the FPGA computes it, weight-free: input type and shape, and the stages in order. How it
    is built (part, clock, io type, strategy, reuse factors) is not part of it: see :class:`HlsSettings`."""

    name: str
    input_shape: tuple[int, ...]
    input_t: FixedType
    stages: tuple[Stage, ...]

    @property
    def output_t(self) -> FixedType:
        return self.stages[-1].result_t

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.stages[-1].output_shape

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def weighted(self) -> tuple[Stage, ...]:
        """The Conv2D/Dense stages, in order."""
        return tuple(s for s in self.stages if s.kind.weighted)

    def attach(self, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> HardwareSpec:
        """The hardware spec of this network with the integer ``codes`` {stage: (weight codes, bias codes)} of
        every Conv2D/Dense stage: each of the stage's :attr:`Stage.weight_shape` and inside its types."""
        stages = []
        for s in self.stages:
            if s.kind.weighted:
                if s.name not in codes:
                    raise HlsgenError(f"{s.name}: no weight codes given for this {_KERAS_TYPE[s.kind]}")
                w, b = codes[s.name]
                w = check_codes(s.name, s.weight_t, w, "weight")
                b = check_codes(s.name, s.bias_t, b, "bias")
                want = s.weight_shape
                if w.shape != want or b.shape != (want[-1],):
                    raise HlsgenError(f"{s.name}: weight codes of shape {w.shape} and bias {b.shape}; "
                                      f"expected {want} and ({want[-1]},)")
                s = replace(s, weight_codes=w, bias_codes=b)
            stages.append(s)
        return HardwareSpec(self.name, self.input_shape, self.input_t, tuple(stages))


_KERAS_TYPE = {StageKind.CONV2D: "Conv2D", StageKind.DENSE: "Dense"}


@dataclass(frozen=True)
class HardwareSpec(Network):
    """A :class:`Network` with the integer weight and bias codes of every Conv2D/Dense stage: what the
    golden model runs, what ``spec.json`` + ``weights.npz`` hold."""

    def codes(self) -> Codes:
        """``{stage: (weight_codes, bias_codes)}`` of every Conv2D/Dense: what lowering takes back."""
        return {s.name: (s.weight_codes, s.bias_codes) for s in self.stages if s.weight_codes is not None}

    def with_weights(self, name: str, weight_codes: np.ndarray, bias_codes: np.ndarray) -> HardwareSpec:
        """A new spec with one stage's codes replaced (the input spec is not changed)."""
        stages = tuple(replace(s, weight_codes=weight_codes, bias_codes=bias_codes) if s.name == name else s
                       for s in self.stages)
        return replace(self, stages=stages)

    # --------------------------------------------------------------- files
    def _document(self) -> dict[str, Any]:
        return {"format": SPEC_FORMAT, "name": self.name, "input_shape": list(self.input_shape),
                "input_t": str(self.input_t), "stages": [s.to_json() for s in self.stages]}

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        for s in self.stages:
            if s.weight_codes is not None:
                arrays[f"{s.name}.weight"] = np.asarray(s.weight_codes, dtype=np.int64)
                arrays[f"{s.name}.bias"] = np.asarray(s.bias_codes, dtype=np.int64)
        return arrays

    def digest(self) -> str:
        """SHA-256 (hex) of everything the hardware computes: the stages, their types and parameters and
        every weight and bias code, independent of how ``spec.json`` is formatted. The one spec digest:
        a project's build id is its first 16 digits (:mod:`hlsgen.verify.evidence`), hls4ml's library
        stamp its first 8. Computed once per spec (a spec is immutable: its code arrays are read-only)."""
        cached = self.__dict__.get("_digest")
        if cached is not None:
            return cached
        h = hashlib.sha256(json.dumps(self._document(), sort_keys=True).encode())
        for key, a in sorted(self._arrays().items()):
            h.update(f"{key} {list(a.shape)}".encode())
            h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
        object.__setattr__(self, "_digest", h.hexdigest())
        return self._digest

    def save(self, directory: str | Path) -> None:
        """Write ``spec.json`` and ``weights.npz`` (int64 codes) into ``directory``; deterministic."""
        directory = Path(directory)
        (directory / "spec.json").write_text(json.dumps(self._document(), indent=2) + "\n")
        _save_npz_deterministic(directory / "weights.npz", self._arrays())

    @classmethod
    def load(cls, directory: str | Path) -> HardwareSpec:
        """Read a spec written by :meth:`save`."""
        directory = Path(directory)
        try:
            doc = json.loads(read_limited(directory / "spec.json", MAX_SPEC_BYTES))
            arrays = _read_npz(directory / "weights.npz")
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise HlsgenError(f"{directory}: not a readable hlsgen project spec ({str(err)[:120]})") from None
        if not isinstance(doc, dict):
            raise HlsgenError(f"{directory / 'spec.json'}: not a valid hlsgen spec (a JSON object is expected)")
        if doc.get("format") not in _READABLE_FORMATS:
            raise HlsgenError(f"{directory / 'spec.json'}: spec format {doc.get('format')!r}, "
                              f"this hlsgen reads {' and '.join(map(str, _READABLE_FORMATS))}")
        try:
            stages = []
            for s in doc["stages"]:
                types = {k: FixedType.parse(s[k]) for k in _TYPE_FIELDS if k in s}
                stages.append(Stage(
                    name=s["name"], kind=s["kind"], source=s.get("source", ""),
                    input_shape=tuple(s["input_shape"]), output_shape=tuple(s["output_shape"]),
                    weight_codes=arrays.get(f"{s['name']}.weight"), bias_codes=arrays.get(f"{s['name']}.bias"),
                    params=s.get("params") or None, **types))
            spec = cls(doc["name"], tuple(doc["input_shape"]), FixedType.parse(doc["input_t"]), tuple(stages))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise HlsgenError(f"{directory / 'spec.json'}: not a valid hlsgen spec ({type(err).__name__}: "
                              f"{str(err)[:80]})") from None
        names = {f"{s.name}.{what}" for s in spec.stages for what in ("weight", "bias")}
        extra = sorted(set(arrays) - names)
        if extra:
            raise HlsgenError(f"{directory / 'weights.npz'}: arrays {extra[:3]} belong to no stage of spec.json")
        check_spec(spec, str(directory / "spec.json"))
        return spec


#: spec.json is a few kB per stage; anything this large is not one hlsgen wrote.
MAX_SPEC_BYTES = 16 * 2**20


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing (ValueError) anything else (a FIFO, a device, a
    directory) and a file over ``limit`` bytes, without reading more than ``limit`` + 1 bytes."""
    with _open_regular(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path.name} is larger than {limit} bytes")
    return data


def _open_regular(path: Path):
    """``path`` opened for reading if it is a regular file, else ValueError: opened without blocking (a FIFO's
    open waits for a writer) and checked on the open descriptor (no race with a rename)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{path.name} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The int64 arrays of ``weights.npz``, each header read and bounded before its data is (a forged
    header may declare any shape)."""
    out: dict[str, np.ndarray] = {}
    with _open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.file_size > 8 * MAX_VALUES + 4096:
                raise ValueError(f"{path.name}: member {info.filename[:40]!r} is not a weight array")
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f"{path.name}: {info.filename[:40]}: .npy format {version}")
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(fh)
                if dtype != np.dtype("<i8") or fortran or math.prod(shape) > MAX_VALUES:
                    raise ValueError(f"{path.name}: {info.filename[:40]}: {dtype} {list(shape)[:4]}: not the "
                                     "int64 codes of at most 2^24 weights")
                data = fh.read(8 * math.prod(shape) + 1)
            if len(data) != 8 * math.prod(shape):
                raise ValueError(f"{path.name}: {info.filename[:40]}: {len(data)} bytes of data for shape "
                                 f"{list(shape)}")
            out[info.filename[:-4]] = np.frombuffer(data, dtype="<i8").reshape(shape).astype(np.int64)
    return out


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
