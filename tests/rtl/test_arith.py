"""Every ap_fixed conversion the RTL builds (hlsgen.rtl.arith), on every input code of small types,
against FixedType.cast (itself checked against the real ap_fixed headers in tests/fixed): first in
da4ml's own interpreter of the traced program (every mode pair, fast), then all of them in one module
built and simulated by Verilator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hlsgen.fixed import FixedType, Overflow, Rounding

SOURCES = [FixedType(7, 3), FixedType(6, 2, signed=False), FixedType(5, 5)]


def _targets() -> list[FixedType]:
    out = []
    for signed, r, o in itertools.product((True, False), Rounding, Overflow):
        out.append(FixedType(4, 1 if signed else 0, signed, r, o))
    out += [FixedType(4, 2, True, Rounding.RND_CONV, Overflow.WRAP, 2),  # WRAP with saturation bits
            FixedType(4, 1, False, Rounding.RND, Overflow.WRAP, 1),
            FixedType(3, 1, True, Rounding.RND_INF, Overflow.SAT_SYM),
            FixedType(1, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM),  # 1-bit signed: -1..0
            FixedType(8, 4, True, Rounding.RND_CONV, Overflow.SAT),      # wider than the source: no rounding
            FixedType(4, 6, True, Rounding.RND_ZERO, Overflow.SAT)]      # integer > width: LSB 4
    return out


def _codes(t: FixedType) -> np.ndarray:
    return np.arange(t.min_code, t.max_code + 1, dtype=np.int64)


def _trace(src: FixedType, targets: list[FixedType]):
    from da4ml.trace import comb_trace

    from hlsgen.rtl import arith
    from hlsgen.rtl.trace import input_array

    x = input_array(src, (1,))
    v = x._vars[0]
    outs = [arith.cast(v, src, dst, "test") for dst in targets]
    return comb_trace([v], outs, keep_dead_inputs=True)


def _values_to_codes(values: np.ndarray, targets: list[FixedType]) -> np.ndarray:
    out = np.empty(values.shape, dtype=np.int64)
    for j, dst in enumerate(targets):
        scaled = values[:, j] * 2.0**dst.frac
        assert np.array_equal(scaled, np.round(scaled)), dst
        out[:, j] = scaled.astype(np.int64)
    return out


def _expected(src: FixedType, targets: list[FixedType]) -> np.ndarray:
    return np.stack([dst.cast(_codes(src), src) for dst in targets], axis=1)


def _check(src, targets, got):
    want = _expected(src, targets)
    bad = [(str(dst), int(c), int(w), int(g)) for j, dst in enumerate(targets)
           for c, w, g in zip(_codes(src), want[:, j], got[:, j], strict=True) if w != g]
    assert not bad, f"{len(bad)} mismatches (target, source code, expected, got), first: {bad[:5]}"


@pytest.mark.parametrize("src", SOURCES, ids=str)
def test_every_mode_on_every_code_in_the_interpreter(rtl_tools, src):
    targets = _targets()
    comb = _trace(src, targets)
    values = np.array([comb([float(c) * src.lsb]) for c in _codes(src)], dtype=np.float64)
    _check(src, targets, _values_to_codes(values, targets))


def test_every_mode_on_every_code_in_verilator(rtl_tools, tmp_path):
    from da4ml.codegen import VerilogModel

    from hlsgen.rtl.verilate import compile_model

    src = SOURCES[0]
    targets = _targets()
    model = VerilogModel(_trace(src, targets), "casts", tmp_path / "casts")
    model.write()
    compile_model(model, "casts", 2)
    values = np.asarray(model.predict(_codes(src).astype(np.float64)[:, None] * src.lsb, n_threads=1), np.float64)
    _check(src, targets, _values_to_codes(values, targets))


def test_a_wide_saturate_to_zero_is_refused(rtl_tools):
    from hlsgen.rtl.arith import RtlRefusal

    src = FixedType(20, 10)
    with pytest.raises(RtlRefusal, match="AP_SAT_ZERO"):
        _trace(src, [FixedType(4, 1, True, Rounding.TRN, Overflow.SAT_ZERO)])
