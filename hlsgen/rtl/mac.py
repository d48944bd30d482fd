"""The check design of a Conv2D or Dense stage: its sums as plain constant multiplications in Verilog loops,
then da4ml's traced cast, for an equality check in minutes instead of da4ml's adder-sharing solve.

da4ml's constant-matrix solve (:mod:`.trace`'s ``x @ W``) finds shared shift-and-add terms: it buys area, not
correctness, and on the reference network's fc1 (338x128) it took 17 minutes and 10 GB, and its 31,000
operations 169 s of Verilator build. The check design computes the same sums as

    acc[o] = B[o] + sum_i x[i] * W[i][o]      (for a convolution: over the window's cells and channels)

in one ``always @*`` block of ``for`` loops over constant arrays (Verilator keeps them as C++ loops: a
small model, built in seconds, simulated at about a nanosecond per multiply-add), every value a signed
integer code on one grid (``2^-F``, ``F`` = the accumulator's fraction bits) in ``AW`` bits, wide enough for
every partial sum: a partial sum is the bias plus a subset of the products, each product's interval holds 0
(every input type holds 0), so it lies inside [bias + sum of the products' minima, bias + sum of their
maxima], which ``AW`` covers. Verilog's signed arithmetic in ``AW`` bits is then exact.

The stage's program is a da4ml ``Pipeline`` of two: a *stub* ``CombLogic`` that only declares the MAC's
inputs (the stage's input type, as da4ml packs it) and outputs (one ``kif`` covering every sum), whose
Verilog module is replaced by :func:`verilog`; and the *post* program, traced by da4ml: the sum wrapped to
``accum_t`` where its range could be left, then cast to ``result_t`` (:func:`arith.cast_array`), exact for
every value of that ``kif``. Stages whose accumulator has fewer fraction bits than the products (each
product rounded first) are traced as before (:func:`applies`).
"""

from __future__ import annotations

import math

import numpy as np

from hlsgen.fixed import FixedType
from hlsgen.geometry import same_padding
from hlsgen.rtl import arith
from hlsgen.spec import Stage, StageKind

#: bump when the MAC Verilog or the stub changes (part of a unit's digest)
FORMAT = 2
#: the first comment of a MAC module's file (how a build finds the modules to compile optimised)
MARKER = "// hlsgen check design"


def applies(stage: Stage) -> bool:
    """Whether the check design of ``stage`` is the MAC: a Conv2D or Dense stage whose accumulator keeps
    every product exact (at least the products' fraction bits)."""
    if stage.kind not in (StageKind.CONV2D, StageKind.DENSE):
        return False
    return stage.accum_t.frac >= FixedType.product_type(stage.input_t, stage.weight_t).frac


class Geometry:
    """A Dense stage as a 1x1 convolution of a 1x1 map: one loop nest for both. Codes on the grid
    ``2^-frac``: ``w`` the weights (kh, kw, cin, cout) shifted onto it, ``b`` the biases."""

    def __init__(self, stage: Stage):
        acc = stage.accum_t
        self.frac = acc.frac
        shift = acc.frac - stage.input_t.frac - stage.weight_t.frac
        if stage.kind == StageKind.CONV2D:
            (self.kh, self.kw), (self.sy, self.sx) = stage.params.kernel_size, stage.params.strides
            self.h, self.wd, self.cin = stage.input_shape
            self.oh, self.ow, self.cout = stage.output_shape
            self.top = self.left = 0
            if stage.params.padding == "same":
                self.top = same_padding(self.h, self.kh, self.sy)[0]
                self.left = same_padding(self.wd, self.kw, self.sx)[0]
        else:
            self.kh = self.kw = self.sy = self.sx = self.h = self.wd = self.oh = self.ow = 1
            self.top = self.left = 0
            self.cin, self.cout = int(stage.input_shape[0]), int(stage.output_shape[0])
        self.w = np.asarray(stage.weight_codes, dtype=object).reshape(self.kh, self.kw, self.cin, self.cout)
        self.w = self.w * (1 << shift)
        self.b = [int(v) for v in acc.cast(stage.bias_codes, stage.bias_t)]
        self.x_min, self.x_max = int(stage.input_t.min_code), int(stage.input_t.max_code)

    def sum_range(self) -> tuple[int, int]:
        """The smallest and largest sum code over every output (Python integers: exact)."""
        lo_w = np.minimum(self.w * self.x_min, self.w * self.x_max)  # per weight, the product's range
        hi_w = np.maximum(self.w * self.x_min, self.w * self.x_max)
        lo = hi = None
        for oy in range(self.oh):
            ky = [k for k in range(self.kh) if 0 <= oy * self.sy + k - self.top < self.h]
            for ox in range(self.ow):
                kx = [k for k in range(self.kw) if 0 <= ox * self.sx + k - self.left < self.wd]
                cells = np.ix_(ky, kx)
                s_lo = lo_w[cells].reshape(-1, self.cout).sum(axis=0) if ky and kx else [0] * self.cout
                s_hi = hi_w[cells].reshape(-1, self.cout).sum(axis=0) if ky and kx else [0] * self.cout
                for co in range(self.cout):
                    a, z = self.b[co] + int(s_lo[co]), self.b[co] + int(s_hi[co])
                    lo = a if lo is None else min(lo, a)
                    hi = z if hi is None else max(hi, z)
        return int(lo), int(hi)

    @property
    def n_in(self) -> int:
        return self.h * self.wd * self.cin

    @property
    def n_out(self) -> int:
        return self.oh * self.ow * self.cout


def _bits(lo: int, hi: int) -> int:
    """Two's complement width holding every integer of [lo, hi]."""
    return max(max(-lo - 1, hi, 0).bit_length(), 1) + 1


def sum_kif(stage: Stage) -> tuple[int, int, int]:
    """``(k, i, f)`` of the MAC's outputs: one type holding every sum of the stage (on its grid)."""
    g = Geometry(stage)
    lo, hi = g.sum_range()
    # codes of k + i + f bits: [-2^(i+f), 2^(i+f) - 1] signed, [0, 2^(i+f) - 1] unsigned; at least one bit
    n = max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length(), 1)
    return int(lo < 0), n - g.frac, g.frac


def programs(stage: Stage, input_t: FixedType):
    """``(stub, post)``: the stage's two da4ml programs (see the module docstring)."""
    from da4ml.trace import FixedVariableArray

    from hlsgen.rtl import da4ml_api as da

    CombLogic, Op, QInterval = da.CombLogic, da.Op, da.QInterval

    g = Geometry(stage)
    k, i, f = sum_kif(stage)
    sums = FixedVariableArray.from_kif(np.full(g.n_out, k), np.full(g.n_out, i), np.full(g.n_out, f))
    qint = sums._vars.ravel()[0]
    qint = QInterval(float(qint.low), float(qint.high), float(qint.step))
    ki, ii, fi = arith.kif(input_t)
    x = FixedVariableArray.from_kif(np.full(g.n_in, ki), np.full(g.n_in, ii), np.full(g.n_in, fi))
    v = x._vars.ravel()[0]
    in_q = QInterval(float(v.low), float(v.high), float(v.step))
    ops = [Op(n, -1, -1, 0, in_q, 0.0, 0.0) for n in range(g.n_in)]
    ops.append(Op(-1, -1, 5, 0, qint, 0.0, 0.0))  # stands for every sum: the module is replaced
    stub = CombLogic((g.n_in, g.n_out), [0] * g.n_in, [g.n_in] * g.n_out, [0] * g.n_out, [False] * g.n_out, ops,
                     -1, -1, None)
    y = sums
    if not (stage.accum_t.min_value <= qint.min and qint.max <= stage.accum_t.max_value):
        from hlsgen.rtl.trace import wrap_array

        y = wrap_array(y, stage.accum_t)
    y = arith.cast_array(y, stage.accum_t, stage.result_t, stage.name)
    post = da.comb_trace(sums.ravel(), y.ravel())
    return stub, post


def verilog(stage: Stage, input_t: FixedType, module: str) -> str:
    """The MAC module ``module`` of ``stage``: ``model_inp`` packed as da4ml packs ``input_t`` codes (element
    0 at bit 0), ``model_out`` the sums packed in :func:`sum_kif` (two's complement codes of ``2^-f``)."""
    g = Geometry(stage)
    lo, hi = g.sum_range()
    k, i, f = sum_kif(stage)
    w_out = k + i + f
    ki, ii, fi = arith.kif(input_t)
    w_in = ki + ii + fi
    w_max = max((abs(int(v)) for v in g.w.ravel()), default=0)
    aw = max(_bits(min(lo, g.x_min), max(hi, g.x_max)), _bits(-w_max, w_max), w_out, w_in + 1) + 1
    pad = aw - w_in
    ext = (lambda s: f"{{{{{pad}{{{s}[{w_in - 1}]}}}}, {s}}}") if ki else (lambda s: f"{{{pad}'d0, {s}}}")
    weights = ",\n        ".join(", ".join(_lit(aw, int(v)) for v in row)
                                 for row in np.asarray(g.w).reshape(-1, g.cout))
    biases = ", ".join(_lit(aw, v) for v in g.b)
    n_w = g.kh * g.kw * g.cin * g.cout
    return f"""`timescale 1 ns / 1 ps

// hlsgen check design of {stage.name} ({stage.kind}): plain constant multiplications, exact in {aw}-bit
// signed codes of 2^-{g.frac} (hlsgen/rtl/mac.py); outputs packed as {w_out}-bit codes
module {module} (
    input [{g.n_in * w_in - 1}:0] model_inp,
    output [{g.n_out * w_out - 1}:0] model_out
);
    // its own C++ class and files, which verilate.py compiles optimised (the loops), the rest at -O0
    /* verilator no_inline_module */
    localparam logic signed [{aw - 1}:0] W [0:{n_w - 1}] = '{{
        {weights}}};
    localparam logic signed [{aw - 1}:0] B [0:{g.cout - 1}] = '{{{biases}}};
    wire signed [{aw - 1}:0] x [0:{g.n_in - 1}];
    reg signed [{aw - 1}:0] acc [0:{g.n_out - 1}];
    reg signed [{aw - 1}:0] s;
    integer oy, ox, co, ky, kx, ci, yy, xx;

    genvar n;
    generate
        for (n = 0; n < {g.n_in}; n = n + 1) begin : unpack
            wire [{w_in - 1}:0] code = model_inp[n * {w_in} +: {w_in}];
            assign x[n] = {ext('code')};
        end
        for (n = 0; n < {g.n_out}; n = n + 1) begin : pack
            /* verilator lint_off UNUSEDSIGNAL */
            wire [{aw - 1}:0] value = acc[n];
            /* verilator lint_on UNUSEDSIGNAL */
            assign model_out[n * {w_out} +: {w_out}] = value[{w_out - 1}:0];
        end
    endgenerate

    // the loop indices are 32-bit integers, narrower array indices: every index is in range (the window's
    // cells are checked against the map), so the truncation Verilator would warn about drops no bit
    /* verilator lint_off WIDTHTRUNC */
    always @* begin
        for (oy = 0; oy < {g.oh}; oy = oy + 1)
            for (ox = 0; ox < {g.ow}; ox = ox + 1)
                for (co = 0; co < {g.cout}; co = co + 1) begin
                    s = B[co];
                    for (ky = 0; ky < {g.kh}; ky = ky + 1)
                        for (kx = 0; kx < {g.kw}; kx = kx + 1) begin
                            yy = oy * {g.sy} + ky - {g.top};
                            xx = ox * {g.sx} + kx - {g.left};
                            if (yy >= 0 && yy < {g.h} && xx >= 0 && xx < {g.wd})
                                for (ci = 0; ci < {g.cin}; ci = ci + 1)
                                    s = s + x[(yy * {g.wd} + xx) * {g.cin} + ci]
                                          * W[((ky * {g.kw} + kx) * {g.cin} + ci) * {g.cout} + co];
                        end
                    acc[(oy * {g.ow} + ox) * {g.cout} + co] = s;
                end
    end
    /* verilator lint_on WIDTHTRUNC */
endmodule
"""


def _lit(width: int, value: int) -> str:
    return f"-{width}'sd{-value}" if value < 0 else f"{width}'sd{value}"


def operations(stage: Stage) -> int:
    """Multiply-adds of the MAC (for the log: the check design has no da4ml operations for them)."""
    g = Geometry(stage)
    return int(math.prod((g.oh, g.ow, g.cout, g.kh, g.kw, g.cin)))
