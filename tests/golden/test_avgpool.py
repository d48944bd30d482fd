"""Average pooling over windows whose size is not a power of two (3x3, and the 6- and 4-cell windows
``same`` padding leaves), where the division by the window size is inexact.

What hls4ml 1.3.0 computes (Vitis templates, the same arithmetic as the Vivado ones):

- io_parallel, ``nnet_pooling.h`` ``avg()``: ``accum_t y = 0; y += x[i] ...; y /= length;`` with
  ``length`` an ``unsigned`` (the window's non-padding cells: ``count_pad`` is false).
- io_stream, ``nnet_pooling_stream.h`` ``reduce_pool()``: each input cast to ``accum_t``, summed with
  ``Op_add<accum_t>`` (``nnet::reduce``), then ``sum / N`` with ``N`` an ``int``.

``ap_fixed / int`` (``ap_fixed_base.h``, ``AF_BIN_OP_WITH_INT`` -> ``operator/``) turns the integer into
``ap_fixed<32,32>`` and divides the raw codes with ``sdiv`` -- C++ integer division, which truncates
toward zero -- into a type with the accumulator's fraction bits; assigning that back to ``accum_t`` is
exact. So the average is ``trunc(acc_code / n)`` in accumulator LSBs, then cast to ``result_t``. Not a
floor, not a rounding, not a multiplication by a reciprocal.

Hand-worked cases, and hls4ml's own pooling headers compiled with g++ as the oracle.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from hlsgen.config.precision import avgpool_accum
from hlsgen.fixed import FixedType
from hlsgen.golden import layers as nnet
from hlsgen.spec import Stage

T = FixedType.parse


def pool_stage(in_t: FixedType, acc_t: FixedType, res_t: FixedType, in_shape, out_shape, pool, strides,
               padding: str = "valid") -> Stage:
    return Stage("a", "avgpool", tuple(in_shape), tuple(out_shape), in_t, res_t, accum_t=acc_t,
                 params={"pool_size": list(pool), "strides": list(strides), "padding": padding})


def windows_image(windows: list[list[int]]) -> np.ndarray:
    """A (1, 3, 3*k, 1) image whose k side-by-side 3x3 windows hold the given 9 codes each (row-major)."""
    blocks = [np.array(w).reshape(3, 3) for w in windows]
    return np.concatenate(blocks, axis=1).reshape(1, 3, 3 * len(windows), 1)


# ------------------------------------------------------------------------------ by hand

def test_avgpool_3x3_truncates_toward_zero_in_accumulator_lsbs():
    """An accumulator with the input's fraction bits (allowed by the config) and a result type of the
    same LSB: the output codes are the accumulator quotients themselves."""
    in_t, acc_t, res_t = T("ap_fixed<8,3>"), T("ap_fixed<12,7>"), T("ap_fixed<8,3>")  # all LSB 1/32
    x = windows_image([[-2, -2, -2, -2, -2, -2, -2, -1, -1],   # sum -16
                       [-2, -1, -1, -1, -1, -1, -1, -1, -1],   # sum -10
                       [3, -4, 0, 0, 0, 0, 0, 0, 0],           # sum -1
                       [2, 2, 2, 2, 2, 2, 2, 2, 0]])           # sum +16
    stage = pool_stage(in_t, acc_t, res_t, (3, 12, 1), (1, 4, 1), (3, 3), (3, 3))
    out, overflow = nnet.STAGE_FUNCTIONS["avgpool"](stage, x)
    #   sum   sum/9     trunc (C++ sdiv)   floor   nearest
    #   -16   -1.778    -1                 -2      -2
    #   -10   -1.111    -1                 -2      -1
    #    -1   -0.111     0                 -1       0
    #   +16   +1.778    +1                 +1      +2
    assert out.reshape(-1).tolist() == [-1, -1, 0, 1]  # floor would give [-2, -2, -1, 1], nearest [-2, -1, 0, 2]
    assert overflow == 0


def test_avgpool_3x3_derived_accumulator_then_rounding_result():
    """The derived accumulator (4 extra fraction bits for a 9-cell window) and a result that rounds
    half to even: a truncated quotient lands exactly on a tie, a floored or rounded one does not."""
    in_t = T("ap_fixed<8,3>")                                      # LSB 1/32
    acc_t = avgpool_accum(in_t, 9)
    assert acc_t.frac == in_t.frac + 4                              # LSB 1/512: codes = 16 * input codes
    res_t = T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")                   # LSB 1/32 = 16 accumulator LSBs
    x = windows_image([[-1, -1, -1, -1, -1, 0, 0, 0, 0],            # sum -5
                       [-3, -3, -3, -3, -3, -3, -3, -2, 0],         # sum -23
                       [1, 1, 1, 1, 1, 0, 0, 0, 0]])                # sum +5
    stage = pool_stage(in_t, acc_t, res_t, (3, 9, 1), (1, 3, 1), (3, 3), (3, 3))
    out, overflow = nnet.STAGE_FUNCTIONS["avgpool"](stage, x)
    # acc code = 16*sum; quotient q of acc/9; result = q/16 result LSBs, ties to even:
    #   sum   acc    acc/9     trunc q -> result      floor q -> result      nearest q -> result
    #   -5    -80    -8.889    -8  -0.5    -> 0       -9  -0.5625 -> -1      -9  -> -1
    #   -23   -368   -40.889   -40 -2.5    -> -2      -41 -2.5625 -> -3      -41 -> -3
    #   +5    +80    +8.889    +8  +0.5    -> 0       +8  +0.5    -> 0       +9  +0.5625 -> 1
    assert out.reshape(-1).tolist() == [0, -2, 0]   # floor would give [-1, -3, 0], nearest [-1, -3, 1]
    assert overflow == 0


def test_avgpool_same_padding_divides_by_the_cells_inside_the_image():
    """5x5 input, 3x3 pool, stride 3, ``same``: Keras pads one column and one row at the bottom/right,
    so the windows hold 9, 6, 6 and 4 image cells; hls4ml (count_pad = false) divides by those."""
    in_t, acc_t, res_t = T("ap_fixed<8,3>"), T("ap_fixed<12,7>"), T("ap_fixed<8,3>")
    x = np.array([[-3, -2, -2, -1, -2],
                  [-2, -2, -2, -1, -1],
                  [-2, -2, -3, -1, -1],     # window (0,0): rows 0-2, cols 0-2: sum -20, 9 cells
                  [-2, -2, -2, 1, 2],       # window (0,1): rows 0-2, cols 3-4: sum -7, 6 cells
                  [-1, -1, -3, 1, 2]]       # window (1,0): rows 3-4, cols 0-2: sum -11, 6 cells
                 ).reshape(1, 5, 5, 1)      # window (1,1): rows 3-4, cols 3-4: sum +6, 4 cells
    stage = pool_stage(in_t, acc_t, res_t, (5, 5, 1), (2, 2, 1), (3, 3), (3, 3), "same")
    out, overflow = nnet.STAGE_FUNCTIONS["avgpool"](stage, x)
    #   sum  cells  sum/cells  trunc  floor  nearest   (sum/9, counting the padding: trunc)
    #   -20  9      -2.222     -2     -3     -2        -2
    #   -7   6      -1.167     -1     -2     -1        0
    #   -11  6      -1.833     -1     -2     -2        -1
    #   +6   4      +1.5       +1     +1     +2        0
    assert out[0, :, :, 0].tolist() == [[-2, -1], [-1, 1]]  # floor [[-3, -2], [-2, 1]]
    assert overflow == 0


# ------------------------------------------------------------------------------ hls4ml's C++ as the oracle

# name: (input type, accumulator (None: hlsgen's derived one), result type, (H, W, C), pool, strides,
#        padding, io types). io_stream needs pool == strides and no padding (asserted in the header).
CASES = {
    "derived_rnd_conv": ("ap_fixed<8,3>", None, "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", (9, 12, 2), (3, 3), (3, 3),
                         "valid", ("parallel", "stream")),
    "input_lsb_acc_trn": ("ap_fixed<8,3>", "ap_fixed<12,7>", "ap_fixed<8,3>", (10, 9, 3), (3, 3), (3, 3),
                          "valid", ("parallel", "stream")),
    "wrapping_acc_rnd": ("ap_fixed<6,2>", "ap_fixed<8,3>", "ap_fixed<6,2,AP_RND,AP_SAT>", (6, 9, 2), (3, 3),
                         (3, 3), "valid", ("parallel", "stream")),
    "derived_rnd_zero_wide": ("ap_fixed<12,5>", None, "ap_fixed<15,5,AP_RND_ZERO,AP_SAT>", (9, 9, 1), (3, 3),
                              (3, 3), "valid", ("parallel", "stream")),
    "same_overlap_rnd_inf": ("ap_fixed<8,2>", None, "ap_fixed<8,2,AP_RND_INF,AP_SAT>", (7, 8, 2), (3, 3), (2, 2),
                             "same", ("parallel",)),
    "same_3x2_rnd_min_inf": ("ap_fixed<7,1>", None, "ap_fixed<9,1,AP_RND_MIN_INF,AP_SAT>", (8, 7, 2), (3, 2),
                             (3, 2), "same", ("parallel",)),
}
N_IMAGES = 60


def _geometry(case):
    _, _, _, (h, w, _), pool, strides, padding, _ = case
    pads = []
    for size, k, s in ((h, pool[0], strides[0]), (w, pool[1], strides[1])):
        if padding == "same":
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads.append((out, total // 2, total - total // 2))
        else:
            pads.append(((size - k) // s + 1, 0, 0))
    return pads


def _types(case) -> tuple[FixedType, FixedType, FixedType]:
    in_t, acc, res_t = T(case[0]), case[1], T(case[2])
    acc_t = T(acc) if acc else avgpool_accum(in_t, case[4][0] * case[4][1])
    return in_t, acc_t, res_t


def _cpp_source(name: str, case) -> str:
    in_t, acc_t, res_t = _types(case)
    (h, w, c), pool, strides = case[3], case[4], case[5]
    (oh, top, bottom), (ow, left, right) = _geometry(case)
    out = [f"""
struct cfg_{name} : nnet::pooling2d_config {{
    static const unsigned in_height = {h};
    static const unsigned in_width = {w};
    static const unsigned n_filt = {c};
    static const unsigned stride_height = {strides[0]};
    static const unsigned stride_width = {strides[1]};
    static const unsigned pool_height = {pool[0]};
    static const unsigned pool_width = {pool[1]};
    static const unsigned filt_height = pool_height;
    static const unsigned filt_width = pool_width;
    static const unsigned n_chan = n_filt;
    static const unsigned out_height = {oh};
    static const unsigned out_width = {ow};
    static const unsigned pad_top = {top};
    static const unsigned pad_bottom = {bottom};
    static const unsigned pad_left = {left};
    static const unsigned pad_right = {right};
    static const bool count_pad = false;
    static const nnet::Pool_Op pool_op = nnet::Average;
    static const nnet::conv_implementation implementation = nnet::conv_implementation::linebuffer;
    static const unsigned reuse_factor = 1;
    typedef {acc_t} accum_t;
}};"""]
    n_in, n_out = h * w * c, oh * ow * c
    if "parallel" in case[7]:
        out.append(f"""
int parallel_{name}() {{
    {in_t} x[{n_in}];
    {res_t} y[{n_out}];
    long long v;
    while (true) {{
        for (int i = 0; i < {n_in}; i++) {{
            if (scanf("%lld", &v) != 1) return 0;
            x[i].setBits((unsigned long long)v);
        }}
        nnet::pooling2d_cl<{in_t}, {res_t}, cfg_{name}>(x, y);
        for (int i = 0; i < {n_out}; i++) printf("%lld ", code(y[i]));
        printf("\\n");
    }}
}}""")
    if "stream" in case[7]:
        out.append(f"""
int stream_{name}() {{
    typedef nnet::array<{in_t}, {c}> in_pack;
    typedef nnet::array<{res_t}, {c}> out_pack;
    long long v;
    while (true) {{
        hls::stream<in_pack> x;
        hls::stream<out_pack> y;
        for (int p = 0; p < {h * w}; p++) {{
            in_pack pack;
            for (int ch = 0; ch < {c}; ch++) {{
                if (scanf("%lld", &v) != 1) return 0;
                pack[ch].setBits((unsigned long long)v);
            }}
            x.write(pack);
        }}
        nnet::pooling2d_cl<in_pack, out_pack, cfg_{name}>(x, y);
        for (int p = 0; p < {oh * ow}; p++) {{
            out_pack pack = y.read();
            for (int ch = 0; ch < {c}; ch++) printf("%lld ", code(pack[ch]));
        }}
        printf("\\n");
    }}
}}""")
    return "\n".join(out)


def _nnet_utils() -> tuple[Path, Path, Path] | None:
    """hls4ml's Vivado nnet_utils with the Vitis backend's files on top (as its Vitis writer copies
    them into a project), and the ap_types directory."""
    spec = find_spec("hls4ml")
    if spec is None or spec.origin is None:
        return None
    templates = Path(spec.origin).parent / "templates"
    vivado, vitis = templates / "vivado" / "nnet_utils", templates / "vitis" / "nnet_utils"
    ap_types = templates / "vivado" / "ap_types"
    if not (vivado / "nnet_pooling.h").is_file() or not (vitis / "nnet_pooling_stream.h").is_file():
        return None
    return vivado, vitis, ap_types


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    found = _nnet_utils()
    if found is None or shutil.which("g++") is None:
        pytest.skip("needs g++ and hls4ml's nnet_utils headers")
    vivado, vitis, ap_types = found
    work = tmp_path_factory.mktemp("avgpool_oracle")
    headers = work / "nnet_utils"
    shutil.copytree(vivado, headers)
    shutil.copytree(vitis, headers, dirs_exist_ok=True)
    names = [(io, n) for n, c in CASES.items() for io in c[7]]
    body = "\n".join(_cpp_source(n, c) for n, c in CASES.items())
    dispatch = "\n".join(f'    if (std::string(argv[1]) == "{io}_{n}") return {io}_{n}();' for io, n in names)
    (work / "oracle.cpp").write_text(f"""#include <cstdio>
#include <string>
#include "ap_fixed.h"
#include "ap_int.h"
#include "nnet_utils/nnet_types.h"
#include "nnet_utils/nnet_pooling.h"
#include "nnet_utils/nnet_pooling_stream.h"
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
long long code(const ap_fixed_base<W, I, S, Q, O, N>& v) {{  // raw W bits, sign-extended
    unsigned long long m = (1ull << W) - 1, b = v.bits_to_uint64() & m;
    if (S && ((b >> (W - 1)) & 1)) b |= ~m;
    return (long long)b;
}}
{body}
int main(int argc, char** argv) {{
{dispatch}
    return 2;
}}
""")
    exe = work / "oracle"
    res = subprocess.run(["g++", "-O1", "-std=c++14", "-w", f"-I{work}", f"-I{headers}", f"-I{ap_types}",
                          str(work / "oracle.cpp"), "-o", str(exe)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]

    def run(io: str, name: str, x: np.ndarray) -> np.ndarray:
        text = "\n".join(" ".join(map(str, img.reshape(-1))) for img in x) + "\n"
        out = subprocess.run([str(exe), f"{io}_{name}"], input=text, capture_output=True, text=True, check=True,
                             timeout=60)
        return np.array([[int(v) for v in line.split()] for line in out.stdout.splitlines()], dtype=np.int64)

    return run


def _inputs(in_t: FixedType, shape, seed: int) -> np.ndarray:
    """Small signed codes (sums near zero, both signs, the inexact quotients that tell truncation from
    floor and rounding), full-range codes (wrapping accumulators) and the extremes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(-6, 4, (N_IMAGES // 2, *shape))
    full = rng.integers(in_t.min_code, in_t.max_code + 1, (N_IMAGES // 2 - 2, *shape))
    edges = np.stack([np.full(shape, in_t.min_code), np.full(shape, in_t.max_code)])
    return np.concatenate([small, full, edges]).astype(np.int64)


@pytest.mark.parametrize("io,name", [(io, n) for n, c in CASES.items() for io in c[7]])
def test_avgpool_matches_hls4ml_cpp(oracle, io, name):
    case = CASES[name]
    in_t, acc_t, res_t = _types(case)
    (oh, _, _), (ow, _, _) = _geometry(case)
    x = _inputs(in_t, case[3], seed=len(name) + len(io))
    stage = pool_stage(in_t, acc_t, res_t, case[3], (oh, ow, case[3][2]), case[4], case[5], case[6])
    got, _ = nnet.STAGE_FUNCTIONS["avgpool"](stage, x)
    got = got.reshape(len(x), -1).astype(np.int64)
    expected = oracle(io, name, x)
    assert expected.shape == got.shape
    bad = np.argwhere(got != expected)
    assert bad.size == 0, (f"{len(bad)} of {got.size} outputs differ; first (image, index, expected, got): "
                           f"{[(int(i), int(j), int(expected[i, j]), int(got[i, j])) for i, j in bad[:5]]}")


def test_oracle_inputs_exercise_inexact_negative_windows():
    """The random inputs are worth something: many 9-cell windows have negative sums not divisible by 9
    (where truncation toward zero and floor differ)."""
    case = CASES["input_lsb_acc_trn"]
    x = _inputs(_types(case)[0], case[3], seed=1)[:, :9, :9]
    sums = x.reshape(len(x), 3, 3, 3, 3, -1).sum(axis=(2, 4))
    assert np.count_nonzero((sums < 0) & (sums % 9 != 0)) > 100
