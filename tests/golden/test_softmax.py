"""Softmax: hlsgen.softmax against hls4ml's own nnet_activation.h compiled with g++."""

from __future__ import annotations

import shutil
import subprocess
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from hlsgen.fixed import FixedType
from hlsgen.fixed.bits import ceillog2
from hlsgen.golden.softmax import reduce_tree, softmax

T = FixedType.parse


def _hls4ml_templates() -> Path | None:
    spec = find_spec("hls4ml")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent / "templates" / "vivado"
    return root if (root / "nnet_utils" / "nnet_activation.h").exists() else None


CASES = {
    # name: (input type, result type, implementation, table size, exp, inv, accum, inv_inp, inp_norm)
    "stable_mnist": ("ap_fixed<8,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", "stable", 1024,
                     "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_fixed<18,8,AP_RND,AP_SAT>",
                     "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_ufixed<8,4,AP_TRN,AP_SAT>"),
    "stable_hls4ml_norm": ("ap_fixed<10,4>", "ap_ufixed<10,0,AP_RND,AP_SAT>", "stable", 512,
                           "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<14,4,AP_RND_CONV,AP_SAT>",
                           "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_ufixed<14,7>", "ap_ufixed<9,3>"),
    "latency": ("ap_fixed<8,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", "latency", 256,
                "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_fixed<18,8,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_TRN,AP_WRAP>",
                "ap_fixed<18,8,AP_RND,AP_SAT>", None),
    "argmax": ("ap_fixed<8,4>", "ap_ufixed<8,1>", "argmax", 1024, "ap_fixed<18,8>", "ap_fixed<18,8>",
               "ap_fixed<18,8>", "ap_fixed<18,8>", None),
}
N_CLASSES = 10


def _params(case) -> dict:
    in_t, _, impl, size, exp_t, inv_t, acc_t, inv_inp, norm = case
    addr = T(norm) if impl == "stable" else T(in_t)
    params = {"implementation": impl, "exp_table_size": min(size, 2**addr.width), "inv_table_size": size,
              "exp_table_t": exp_t, "inv_table_t": inv_t, "accum_t": acc_t, "inv_inp_t": inv_inp}
    if norm:
        params["inp_norm_t"] = norm
    return params


def _cpp_source(name: str, case) -> str:
    in_t, res_t, impl, _, exp_t, inv_t, acc_t, inv_inp, norm = case
    p = _params(case)
    return f"""
#include <cstdio>
#include "nnet_utils/nnet_activation.h"
struct cfg_{name} : nnet::activ_config {{
    static const unsigned n_in = {N_CLASSES};
    static const unsigned n_slice = {N_CLASSES};
    static const unsigned n_outer = 1;
    static const unsigned n_inner = 1;
    static const unsigned parallelization_factor = -1;
    static const unsigned exp_table_size = {p['exp_table_size']};
    static const unsigned inv_table_size = {p['inv_table_size']};
    static const unsigned io_type = nnet::io_parallel;
    static const unsigned reuse_factor = 1;
    static const unsigned axis = -1;
    static const nnet::softmax_implementation implementation = nnet::softmax_implementation::{impl};
    static constexpr float exp_scale = 1.0;
    typedef {exp_t} exp_table_t;
    typedef {inv_t} inv_table_t;
    typedef {acc_t} accum_t;
    typedef {inv_inp} inv_inp_t;
    typedef {norm or 'ap_fixed<1,0>'} inp_norm_t;
}};
int run_{name}() {{
    long long code;
    {in_t} x[{N_CLASSES}];
    {res_t} y[{N_CLASSES}];
    while (true) {{
        for (int i = 0; i < {N_CLASSES}; i++) {{
            if (scanf("%lld", &code) != 1) return 0;
            x[i].range() = code;
        }}
        nnet::softmax<{in_t}, {res_t}, cfg_{name}>(x, y);
        for (int i = 0; i < {N_CLASSES}; i++) printf("%lld ", (long long)y[i].range().to_int64());
        printf("\\n");
    }}
}}
"""


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    templates = _hls4ml_templates()
    if templates is None or shutil.which("g++") is None:
        pytest.skip("needs g++ and hls4ml's nnet_utils headers")
    work = tmp_path_factory.mktemp("softmax_oracle")
    body = "\n".join(_cpp_source(n, c) for n, c in CASES.items())
    dispatch = "\n".join(f'    if (std::string(argv[1]) == "{n}") return run_{n}();' for n in CASES)
    (work / "oracle.cpp").write_text(f"#include <string>\n{body}\nint main(int argc, char** argv) {{\n"
                                     f"{dispatch}\n    return 2;\n}}\n")
    exe = work / "oracle"
    subprocess.run(["g++", "-O1", "-std=c++14", "-w", f"-I{templates}", f"-I{templates / 'ap_types'}",
                    str(work / "oracle.cpp"), "-o", str(exe)], check=True, capture_output=True, timeout=300)

    def run(name: str, x: np.ndarray) -> np.ndarray:
        text = "\n".join(" ".join(map(str, row)) for row in x) + "\n"
        out = subprocess.run([str(exe), name], input=text, capture_output=True, text=True, check=True)
        return np.array([[int(v) for v in line.split()] for line in out.stdout.splitlines()], dtype=np.int64)

    return run


def _inputs(in_t: FixedType, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    full = rng.integers(in_t.min_code, in_t.max_code + 1, (400, N_CLASSES))
    peaked = rng.integers(in_t.min_code // 4, in_t.max_code // 4 + 1, (200, N_CLASSES))
    peaked[np.arange(200), rng.integers(0, N_CLASSES, 200)] = in_t.max_code  # differences beyond 2**(I-1)
    edge = np.array([[0] * N_CLASSES, [in_t.max_code] * N_CLASSES, [in_t.min_code] * N_CLASSES,
                     [in_t.min_code] * 9 + [in_t.max_code], list(range(N_CLASSES)), [5, 5] + [0] * 8])
    return np.concatenate([full, peaked, edge]).astype(np.int64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_softmax_matches_hls4ml_cpp(oracle, name):
    case = CASES[name]
    in_t, res_t = T(case[0]), T(case[1])
    x = _inputs(in_t, seed=len(name))
    expected = oracle(name, x)
    got = softmax(x, in_t, res_t, _params(case))
    bad = np.argwhere(got != expected)
    assert bad.size == 0, (f"{len(np.unique(bad[:, 0]))} of {len(x)} vectors differ; first (row, col, expected, got): "
                           f"{[(int(r), int(c), int(expected[r, c]), int(got[r, c])) for r, c in bad[:5]]}")


def test_helpers_match_hls4ml_definitions():
    assert [ceillog2(n) for n in (1, 2, 3, 4, 5, 1024, 1025)] == [1, 1, 2, 2, 3, 10, 11]
    cols = [np.array([v]) for v in range(5)]
    order = []
    reduce_tree(cols, lambda a, b: order.append((int(a[0]), int(b[0]))) or a + b)
    assert order == [(0, 1), (2, 3), (1, 5), (6, 4)]  # split 4 + 1, as nnet::reduce
