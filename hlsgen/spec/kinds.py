"""What a stage is: its kind (an enum) and the typed parameters each kind carries.

In the spirit of da4ml's immutable NamedTuples: a stage's parameters are frozen dataclasses with
FixedType fields, parsed once when a spec is built or loaded, never strings re-parsed per call.
``spec.json`` spells them with the same keys (``kernel_size``, ``pool_size``, ``exp_table_t`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType


class StageKind(str, Enum):
    """The operations the generated C++ performs, one per hls4ml layer. A ``str`` enum: it compares
    equal to (and hashes like) its value, which is how ``spec.json`` spells it."""

    CONV2D = "conv2d"
    DENSE = "dense"
    RELU = "relu"
    LINEAR = "linear"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    FLATTEN = "flatten"
    SOFTMAX = "softmax"

    __str__ = str.__str__
    __format__ = str.__format__
    __hash__ = str.__hash__

    @property
    def weighted(self) -> bool:
        """Conv2D and Dense: stages with weight and bias codes."""
        return self in (StageKind.CONV2D, StageKind.DENSE)

    @property
    def pooling(self) -> bool:
        return self in (StageKind.MAXPOOL, StageKind.AVGPOOL)


@dataclass(frozen=True)
class ConvParams:
    """A Conv2D's window: kernel (kh, kw), strides (sh, sw), Keras padding ``valid`` | ``same``."""

    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str


@dataclass(frozen=True)
class PoolParams:
    """A pooling window: pool (ph, pw), strides (sh, sw), Keras padding ``valid`` | ``same``."""

    pool_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str


@dataclass(frozen=True)
class SoftmaxParams:
    """hls4ml's softmax: ``implementation`` (stable | latency | argmax) and, for the table-based ones,
    the table sizes and every type of its arithmetic (``inp_norm_t`` for ``stable`` only)."""

    implementation: str
    exp_table_size: int | None = None
    inv_table_size: int | None = None
    exp_table_t: FixedType | None = None
    inv_table_t: FixedType | None = None
    accum_t: FixedType | None = None
    inv_inp_t: FixedType | None = None
    inp_norm_t: FixedType | None = None


StageParams = ConvParams | PoolParams | SoftmaxParams | None
#: Each kind's parameter class (None: the kind has none). A per-kind table: every StageKind has an entry
#: (tests/spec/test_kind_tables.py checks this table and every other one).
PARAMS: dict[StageKind, type | None] = {
    StageKind.CONV2D: ConvParams, StageKind.DENSE: None, StageKind.RELU: None, StageKind.LINEAR: None,
    StageKind.MAXPOOL: PoolParams, StageKind.AVGPOOL: PoolParams, StageKind.FLATTEN: None,
    StageKind.SOFTMAX: SoftmaxParams}
_IGNORED = {"reuse_factor"}  # spec format 1 carried the HLS reuse factor here (now HlsSettings)


def parse_params(kind: StageKind, raw: Mapping[str, Any] | StageParams, where: str) -> StageParams:
    """The typed parameters of a ``kind`` stage from a mapping with ``spec.json``'s keys (types as
    strings or FixedTypes, windows as lists); typed parameters are returned as they are."""
    cls = PARAMS[kind]
    if raw is None or not isinstance(raw, Mapping):
        if cls is not None and not isinstance(raw, cls):
            raise HlsgenError(f"{where}: a {kind} stage needs {cls.__name__}, got {raw!r}")
        return raw
    extra = set(raw) - {f.name for f in fields(cls)} - _IGNORED if cls else set(raw) - _IGNORED
    if extra:
        raise HlsgenError(f"{where}: unknown parameter(s) {sorted(extra)} for a {kind} stage")
    if cls is None:
        return None
    values = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name.endswith("_t") and value is not None:
            value = value if isinstance(value, FixedType) else FixedType.parse(value)
        elif isinstance(value, list | tuple):
            value = tuple(int(v) for v in value)
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError as err:
        raise HlsgenError(f"{where}: {kind} parameters: {err}") from None


def params_json(params: StageParams) -> dict[str, Any]:
    """``spec.json``'s spelling: types as C++ strings, windows as lists, unset fields left out."""
    if params is None:
        return {}
    out: dict[str, Any] = {}
    for f in fields(params):
        value = getattr(params, f.name)
        if value is None:
            continue
        out[f.name] = str(value) if isinstance(value, FixedType) else list(value) if isinstance(value, tuple) else value
    return out
