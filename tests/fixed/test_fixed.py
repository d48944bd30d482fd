"""hlsgen.fixed against the real ap_fixed headers: one g++-compiled oracle, thousands of cases.

Every type the differential tests use is listed at import time (seeded), the oracle source is generated
from that list (C++ types are template arguments) and compiled once per session. The program reads
commands on stdin -- doubles as raw 64-bit patterns, codes as raw bits -- and prints raw codes.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hlsgen.fixed import FixedType, Overflow, Rounding, rounding

T = FixedType.parse
ROUNDINGS, OVERFLOWS = list(Rounding), list(Overflow)


def _ap_types_dir() -> Path | None:
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        return None
    d = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    return d if (d / "ap_fixed.h").is_file() else None


# ------------------------------------------------------------------ the types under test (seeded)

def _random_type(rng: np.random.Generator, q: Rounding, o: Overflow, signed: bool, n: int | None = None,
                 max_w: int = 32) -> FixedType:
    w = int(rng.integers(1, max_w + 1))
    i = int(rng.integers(-6, w + 7))  # negative I and I > W included
    n = 0 if o is not Overflow.WRAP else min(int(rng.integers(0, 3)) if n is None else n, w)
    return FixedType(w, i, signed, q, o, n)


def _build_types() -> tuple[list[FixedType], list[tuple[FixedType, FixedType]]]:
    """One pool of types, quantized into and cast among: each new C++ type costs ~50 ms of compile,
    a cast between two already-instantiated types ~15 ms."""
    rng = np.random.default_rng(20240611)
    pool: list[FixedType] = []
    for q, o, s in itertools.product(ROUNDINGS, OVERFLOWS, (True, False)):
        for n in ((0, 1, 2) if o is Overflow.WRAP else (0,)):
            pool.append(_random_type(rng, q, o, s, n))
    for (o, s), q in zip(itertools.product(OVERFLOWS, (True, False)), itertools.cycle(ROUNDINGS)):
        # hand-chosen corners: 1-bit types, I far outside 0..W, the full 62 bits, beyond a double's 53
        r = ROUNDINGS[(ROUNDINGS.index(q) + 3) % 7]
        pool += [FixedType(1, 1, s, q, o), FixedType(1, -3, s, r, o), FixedType(2, 5, s, q, o),
                 FixedType(62, 10, s, r, o), FixedType(62, -2, s, q, o), FixedType(55, 20, s, r, o)]
    pool += [T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>"), T("ap_ufixed<8,0>"), T("ap_fixed<18,8,AP_RND,AP_SAT>"),
             T("ap_fixed<4,2,AP_TRN,AP_WRAP,4>"), T("ap_ufixed<4,2,AP_TRN,AP_WRAP,4>"),
             T("ap_fixed<24,-8,AP_RND_INF,AP_SAT_SYM>"), T("ap_fixed<5,40,AP_RND_MIN_INF,AP_SAT>"),
             T("ap_fixed<8,3,AP_RND_CONV,AP_WRAP,2>"), T("ap_ufixed<8,3,AP_RND_ZERO,AP_WRAP,1>"),
             T("ap_fixed<16,6>"), T("ap_fixed<32,12>")]
    pool = list(dict.fromkeys(pool))
    pairs: list[tuple[FixedType, FixedType]] = []
    for dst in pool:
        finer = [t for t in pool if t.frac > dst.frac]      # rounding happens
        coarser = [t for t in pool if t.frac <= dst.frac]   # exact left shift, only overflow
        other = [t for t in pool if t.signed != dst.signed]
        wider = [t for t in pool if t.integer > dst.integer and t.frac >= dst.frac]  # wide-to-narrow
        for group in (finer, finer, coarser, other, wider):
            if group:
                pairs.append((dst, group[int(rng.integers(len(group)))]))
    return pool, list(dict.fromkeys(pairs))


def _build_products() -> list[tuple[FixedType, FixedType]]:
    rng = np.random.default_rng(7)
    small = [t for t in QUANT_TYPES if t.width <= 31]
    out = []
    for sa, sb in itertools.product((True, False), repeat=2):
        a_s, b_s = [t for t in small if t.signed == sa], [t for t in small if t.signed == sb]
        out += [(a_s[int(rng.integers(len(a_s)))], b_s[int(rng.integers(len(b_s)))]) for _ in range(4)]
    return out


def _build_sums() -> list[tuple[FixedType, int]]:
    rng = np.random.default_rng(11)
    small = [t for t in QUANT_TYPES if t.width <= 20]
    return [(small[int(rng.integers(len(small)))], n) for n in (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000)]


QUANT_TYPES, CAST_PAIRS = _build_types()
PRODUCTS = _build_products()
SUMS = _build_sums()


# ------------------------------------------------------------------ the oracle

def _cpp_source() -> str:
    out = ["#include <ap_fixed.h>", "#include <cstdio>", "#include <cstring>",
           "typedef long long i64; typedef unsigned long long u64;",
           "template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>",
           "i64 code(const ap_fixed_base<W, I, S, Q, O, N>& v) {  // raw W bits, sign-extended",
           "  u64 m = (1ull << W) - 1, b = v.bits_to_uint64() & m;",
           "  if (S && ((b >> (W - 1)) & 1)) b |= ~m;",
           "  return (i64)b;", "}",
           "template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>",
           "void info(const ap_fixed_base<W, I, S, Q, O, N>&) {",
           '  printf("%d %d %d %d %d %d\\n", W, I, (int)S, (int)(Q == AP_TRN), (int)(O == AP_WRAP), N);', "}"]
    qs, cs, ms, ps, ss = [], [], [], [], []
    for k, t in enumerate(QUANT_TYPES):
        out.append(f"static i64 q{k}(double d) {{ {t} v = d; return code(v); }}")
        qs.append(f"q{k}")
    for k, (dst, src) in enumerate(CAST_PAIRS):
        out.append(f"static i64 c{k}(u64 b) {{ {src} s; s.setBits(b); {dst} d = s; return code(d); }}")
        cs.append(f"c{k}")
    for k, (a, b) in enumerate(PRODUCTS):
        out.append(f"static i64 m{k}(u64 x, u64 y) {{ {a} a; a.setBits(x); {b} b; b.setBits(y); "
                   "return code(a * b); }")
        out.append(f"static void p{k}() {{ {a} a; {b} b; info(a * b); }}")
        ms.append(f"m{k}")
        ps.append(f"p{k}")
    for k, (t, _) in enumerate(SUMS):
        s = FixedType.sum_type(t, _)
        narrow = f"ap_{'' if s.signed else 'u'}fixed<{max(s.width - 1, 1)},{s.integer - 1}>"
        out.append(f"static void s{k}(int n, u64 hi, u64 lo) {{ {t} h, l; h.setBits(hi); l.setBits(lo); "
                   f"{s} a = 0, b = 0; {narrow} c = 0, d = 0; "
                   "for (int i = 0; i < n; i++) { a += h; b += l; c += h; d += l; } "
                   'printf("%lld %lld %lld %lld\\n", code(a), code(b), code(c), code(d)); }')
        ss.append(f"s{k}")
    for sig, fns in (("i64 (*QF[])(double)", qs), ("i64 (*CF[])(u64)", cs), ("i64 (*MF[])(u64, u64)", ms),
                     ("void (*PF[])()", ps), ("void (*SF[])(int, u64, u64)", ss)):
        out.append(f"static {sig} = {{{', '.join(fns + ['0'])}}};")
    out.append("""
int main() {
  char op; int f;
  while (scanf(" %c %d", &op, &f) == 2) {
    u64 a = 0, b = 0; int n = 0;
    if (op == 'q') { double d; scanf("%llx", &a); memcpy(&d, &a, 8); printf("%lld\\n", QF[f](d)); }
    else if (op == 'c') { scanf("%llx", &a); printf("%lld\\n", CF[f](a)); }
    else if (op == 'm') { scanf("%llx %llx", &a, &b); printf("%lld\\n", MF[f](a, b)); }
    else if (op == 'p') PF[f]();
    else if (op == 's') { scanf("%d %llx %llx", &n, &a, &b); SF[f](n, a, b); }
    else return 2;
  }
  return 0;
}""")
    return "\n".join(out) + "\n"


class Oracle:
    def __init__(self, exe: Path) -> None:
        self.exe = exe

    def run(self, lines: list[str]) -> list[str]:
        res = subprocess.run([str(self.exe)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                             check=True, timeout=120)
        out = res.stdout.splitlines()
        assert len(out) == len(lines), f"oracle answered {len(out)} of {len(lines)}: {res.stderr[-500:]}"
        return out

    def codes(self, lines: list[str]) -> np.ndarray:
        return np.array([int(v) for v in self.run(lines)], dtype=np.int64)


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    gxx, inc = shutil.which("g++"), _ap_types_dir()
    if gxx is None:
        pytest.skip("g++ not found: cannot compile the ap_fixed oracle")
    if inc is None:
        pytest.skip("hls4ml's ap_types headers not found: cannot compile the ap_fixed oracle")
    d = tmp_path_factory.mktemp("ap_oracle")
    (d / "oracle.cpp").write_text(_cpp_source())
    # -O0: the program runs for milliseconds, the compile is what costs
    # -DNDEBUG: ap_private asserts when a cast discards more bits than the source has (reading the
    # rounding bit beyond its MSB, though the value is then not used) -- the C simulation aborts there
    cmd = [gxx, "-std=c++14", "-O0", "-w", "-DNDEBUG", f"-I{inc}", "oracle.cpp", "-o", "oracle"]
    res = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"oracle failed to compile:\n{res.stderr[-3000:]}"
    return Oracle(d / "oracle")


def _hex(v: np.ndarray) -> list[str]:
    return [format(int(b), "x") for b in np.asarray(v).astype(np.int64).view(np.uint64)]


def _assert_same(what: str, labels: list[str], inputs: list[str], expected: np.ndarray,
                 got: np.ndarray) -> None:
    bad = np.flatnonzero(expected != got)
    first = "\n".join(f"  {labels[i]}  input {inputs[i]}: expected {expected[i]}, got {got[i]}"
                      for i in bad[:8])
    assert bad.size == 0, f"{what}: {bad.size} of {expected.size} codes differ from the C++ headers:\n{first}"


# ------------------------------------------------------------------ differential tests

def _doubles(t: FixedType, rng: np.random.Generator) -> np.ndarray:
    lsb, lo, hi = t.lsb, t.min_value, t.max_value
    span = hi - lo + lsb
    k = rng.integers(t.min_code, t.max_code, 12, endpoint=True).astype(np.float64)
    mags = np.ldexp(rng.uniform(0.5, 1.0, 16), rng.integers(-t.frac - 6, t.integer + 6, 16))
    return np.concatenate([
        rng.uniform(lo - span, hi + span, 24),                 # in and around the range
        mags * rng.choice([-1.0, 1.0], 16),                     # full 53-bit mantissas, every scale
        k * lsb, (k + 0.5) * lsb, (k - 0.5) * lsb,               # exact codes and exact ties
        np.array([0.5, 1.5, 2.5, 0.25, 0.75, 1.0, -0.5, -1.5, -2.5, -0.25, -0.75, -1.0]) * lsb,
        [hi, lo, hi + lsb, lo - lsb, hi + lsb / 2, lo - lsb / 2, hi - lsb / 2, lo + lsb / 2,  # boundaries
         hi + lsb / 4, lo - lsb / 4, 2 * hi + 2 * lsb, 2 * lo - 2 * lsb, np.ldexp(1.0, t.integer + 9),
         -np.ldexp(1.0, t.integer + 9), 1e300, -1e300, 1e-300, -1e-300, 5e-324, -5e-324, 0.0, -0.0,
         np.inf, -np.inf, np.nan, -np.nan],
    ])


def test_quantize_matches_headers(oracle: Oracle) -> None:
    rng = np.random.default_rng(1)
    lines, labels, inputs, got = [], [], [], []
    for k, t in enumerate(QUANT_TYPES):
        x = _doubles(t, rng)
        got.append(t.quantize(x))
        lines += [f"q {k} {h}" for h in _hex(x.view(np.int64))]
        labels += [str(t)] * x.size
        inputs += [float(v).hex() for v in x]
    got_all = np.concatenate(got)
    assert got_all.size > 15000
    _assert_same("quantize", labels, inputs, oracle.codes(lines), got_all)


def _src_codes(dst: FixedType, src: FixedType, rng: np.random.Generator) -> np.ndarray:
    lo, hi = src.min_code, src.max_code
    d = src.frac - dst.frac  # source codes per target LSB: 2**d
    special = [lo, lo + 1, -2, -1, 0, 1, 2, hi - 1, hi]
    for edge in (dst.min_code, dst.max_code, -dst.max_code):  # target range edges, in source codes
        e = edge << d if d >= 0 else edge >> -d
        special += [e - 2, e - 1, e, e + 1, e + 2]
    special = [min(max(v, lo), hi) for v in special]  # Python ints: clip before they meet int64
    c = [rng.integers(lo, hi, 40, endpoint=True), np.array(special, dtype=np.int64)]
    if 0 < d <= 62:  # exact ties on the target grid, and their neighbours
        base = rng.integers(lo >> d, (hi >> d) + 1, 10) << d
        half = 1 << (d - 1)
        c += [base + half, base + half - 1, base + half + 1, base - half]
    return np.clip(np.concatenate(c), lo, hi).astype(np.int64)


def test_cast_matches_headers(oracle: Oracle) -> None:
    rng = np.random.default_rng(2)
    lines, labels, inputs, got = [], [], [], []
    for k, (dst, src) in enumerate(CAST_PAIRS):
        c = _src_codes(dst, src, rng)
        got.append(dst.cast(c, src))
        lines += [f"c {k} {h}" for h in _hex(c)]
        labels += [f"{dst} = {src}"] * c.size
        inputs += [str(v) for v in c]
    got_all = np.concatenate(got)
    assert got_all.size > 30000
    _assert_same("cast", labels, inputs, oracle.codes(lines), got_all)


def test_product_type_and_values_match_headers(oracle: Oracle) -> None:
    rng = np.random.default_rng(3)
    infos = oracle.run([f"p {k}" for k in range(len(PRODUCTS))])
    lines, expected, labels, inputs = [], [], [], []
    for k, (a, b) in enumerate(PRODUCTS):
        p = FixedType.product_type(a, b)
        # W I signed, then the default modes AP_TRN, AP_WRAP, N=0 (as FixedType's defaults)
        cpp = [int(v) for v in infos[k].split()]
        assert cpp == [p.width, p.integer, int(p.signed), 1, 1, 0], f"{a} * {b}: C++ {cpp}, ours {p}"
        assert (p.rounding, p.overflow, p.sat_bits) == (Rounding.TRN, Overflow.WRAP, 0)
        ca = np.append(rng.integers(a.min_code, a.max_code, 20, endpoint=True), [a.min_code, a.max_code])
        cb = np.append(rng.integers(b.min_code, b.max_code, 20, endpoint=True), [b.max_code, b.min_code])
        lines += [f"m {k} {x} {y}" for x, y in zip(_hex(ca), _hex(cb), strict=True)]
        expected.append(ca * cb)  # the product type holds every product exactly
        labels += [f"{a} * {b}"] * ca.size
        inputs += [f"{x}*{y}" for x, y in zip(ca, cb, strict=True)]
    _assert_same("product", labels, inputs, np.concatenate(expected), oracle.codes(lines))


def test_sum_type_matches_headers(oracle: Oracle) -> None:
    lines = [f"s {k} {n} {_hex(np.array([t.max_code]))[0]} {_hex(np.array([t.min_code]))[0]}"
             for k, (t, n) in enumerate(SUMS)]
    for (t, n), line in zip(SUMS, oracle.run(lines), strict=True):
        s = FixedType.sum_type(t, n)
        a, b, c, d = (int(v) for v in line.split())
        assert (s.frac, s.signed, s.rounding, s.overflow) == (t.frac, t.signed, Rounding.TRN, Overflow.WRAP)
        assert (a, b) == (n * t.max_code, n * t.min_code), f"{s} overflows summing {n} x {t}"
        if s.width > 1:  # one bit fewer must overflow for one of the extremes
            assert (c, d) != (n * t.max_code, n * t.min_code), f"{s} is not the narrowest for {n} x {t}"


# ------------------------------------------------------------------ hand-worked cases

def test_rounding_modes_by_hand() -> None:
    x = np.array([2.5, -2.5, 3.5, -3.5, 2.75, -2.75, 2.25, -2.25])
    expected = {
        "AP_TRN": [2, -3, 3, -4, 2, -3, 2, -3], "AP_TRN_ZERO": [2, -2, 3, -3, 2, -2, 2, -2],
        "AP_RND": [3, -2, 4, -3, 3, -3, 2, -2], "AP_RND_ZERO": [2, -2, 3, -3, 3, -3, 2, -2],
        "AP_RND_MIN_INF": [2, -3, 3, -4, 3, -3, 2, -2], "AP_RND_INF": [3, -3, 4, -4, 3, -3, 2, -2],
        "AP_RND_CONV": [2, -2, 4, -4, 3, -3, 2, -2],
    }
    for mode, codes in expected.items():
        assert T(f"ap_fixed<8,8,{mode}>").quantize(x).tolist() == codes, mode


def test_result_type_by_hand() -> None:
    t = T("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")  # LSB 1/32, codes -128..127
    assert (t.lsb, t.frac, t.min_code, t.max_code, t.min_value, t.max_value) == (1 / 32, 5, -128, 127, -4.0,
                                                                                 127 / 32)
    x = np.append(np.array([0.5, 1.5, 2.5, -0.5, -1.5]) / 32,
                  [3.96875, 3.98, 4.0, 100.0, -4.0, -4.02, -100.0])
    assert t.quantize(x).tolist() == [0, 2, 2, 0, -2, 127, 127, 127, 127, -128, -128, -128]
    sym = T("ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>")
    assert sym.quantize(np.array([-4.0, -100.0, 100.0])).tolist() == [-127, -127, 127]
    sat0 = T("ap_fixed<8,3,AP_TRN,AP_SAT_ZERO>")
    assert sat0.quantize(np.array([4.0, -4.0, -4.1])).tolist() == [0, -128, 0]
    assert T("ap_fixed<8,3>").quantize(np.array([4.0, -4.03125, 5.0])).tolist() == [-128, 127, -96]
    # WRAP with N=1: the sign bit follows the source, the other bits wrap: 5.0 = code 160 = 0b1010_0000
    assert T("ap_fixed<8,3,AP_TRN,AP_WRAP,1>").quantize(np.array([5.0, -5.0])).tolist() == [32, -32]
    # N=2: additionally bit W-2 := not sign
    assert T("ap_fixed<8,3,AP_TRN,AP_WRAP,2>").quantize(np.array([5.0, -5.0])).tolist() == [96, -96]
    # unsigned, N=2: the top two bits are set for overflow *and* underflow
    wrap2 = T("ap_ufixed<4,4,AP_TRN,AP_WRAP,2>")
    assert wrap2.quantize(np.array([20.0, -1.0, -4.0])).tolist() == [12, 15, 12]
    # scalars in, 0-d arrays out; float views
    assert int(t.quantize(0.3)) == 10 and t.to_float(np.array([10, -128])).tolist() == [0.3125, -4.0]


def test_cast_by_hand_and_overflow_mask() -> None:
    src = T("ap_fixed<10,4>")  # LSB 1/64
    dst = T("ap_fixed<6,3,AP_RND_CONV,AP_SAT>")  # LSB 1/8, codes -32..31
    # ties at 0.5, 1.5 LSB (both signs), 0.625 LSB, 31.875, 32, 63.875 LSB, -64 LSB, -32.5 LSB (tie to -32)
    c = np.array([4, 12, -4, -12, 5, 255, 256, 511, -512, -260])
    out, over = dst.cast(c, src, return_overflow=True)
    assert out.tolist() == [0, 2, 0, -2, 1, 31, 31, 31, -32, -32]
    assert over.tolist() == [False] * 5 + [True, True, True, True, False]
    assert np.array_equal(dst.cast(c, src), out)
    sym = T("ap_fixed<6,3,AP_RND_CONV,AP_SAT_SYM>")
    out, over = sym.cast(c, src, return_overflow=True)
    assert out[-2:].tolist() == [-31, -31] and over[-2:].tolist() == [True, True]
    # identical types copy bits in C++ (implicit copy ctor): min_code survives AP_SAT_SYM only then
    assert sym.cast(np.array([-32, 5]), sym).tolist() == [-32, 5]
    assert sym.cast(np.array([-32, 5]), T("ap_fixed<6,3,AP_RND_CONV,AP_SAT>")).tolist() == [-31, 5]
    # narrow-to-wide is exact
    wide = T("ap_fixed<20,8>")
    assert wide.cast(c, src).tolist() == (c * 2**6).tolist()


def test_overflow_mask_is_range_check_after_rounding() -> None:
    rng = np.random.default_rng(4)
    # the reference rounds into a 62-bit type with dst's LSB: only pairs where that cannot overflow
    pairs = [(dst, src) for dst, src in CAST_PAIRS if src.integer + 2 <= 62 - dst.frac]
    assert len(pairs) > 200
    for dst, src in pairs:
        c = _src_codes(dst, src, rng)
        _, over = dst.cast(c, src, return_overflow=True)
        exact = FixedType(62, 62 - dst.frac, True, dst.rounding).cast(c, src)  # same rounding, no overflow
        sym = dst.signed and dst.overflow is Overflow.SAT_SYM and dst.width > 1 and src != dst  # copy: no SYM
        lo = -dst.max_code if sym else dst.min_code
        assert np.array_equal(over, (exact < lo) | (exact > dst.max_code)), (dst, src)


# ------------------------------------------------------------------ spelling

@pytest.mark.parametrize(("text", "canonical"), [
    ("ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
    ("fixed<8,3,RND_CONV,SAT>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
    ("fixed<8,3,RND_CONV,SAT,0>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
    ("fixed<16,6,TRN,WRAP,0>", "ap_fixed<16,6>"),
    ("ufixed<8,0>", "ap_ufixed<8,0>"), ("ap_ufixed<8,0>", "ap_ufixed<8,0>"),
    ("ap_int<8>", "ap_fixed<8,8>"), ("ap_uint<4>", "ap_ufixed<4,4>"), ("uint<1>", "ap_ufixed<1,1>"),
    (" ap_fixed < 8 , 3 , AP_RND > ", "ap_fixed<8,3,AP_RND>"),
    ("ap_fixed<8,3,AP_TRN,AP_SAT>", "ap_fixed<8,3,AP_TRN,AP_SAT>"),
    ("ap_fixed<8,3,AP_RND,AP_WRAP,0>", "ap_fixed<8,3,AP_RND>"),
    ("ap_ufixed<16,-2,AP_TRN,AP_WRAP,2>", "ap_ufixed<16,-2,AP_TRN,AP_WRAP,2>"),
    ("ap_fixed<4,9,ap_rnd_inf,ap_sat_sym>", "ap_fixed<4,9,AP_RND_INF,AP_SAT_SYM>"),
])
def test_parse_and_str(text: str, canonical: str) -> None:
    t = T(text)
    assert str(t) == canonical
    assert T(str(t)) == t and T(t.hls4ml) == t


def test_fields_and_hls4ml_spelling() -> None:
    t = T("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>")
    assert (t.width, t.integer, t.signed, t.rounding, t.overflow, t.sat_bits, t.frac) == (
        8, 0, False, Rounding.RND_CONV, Overflow.SAT, 0, 8)
    assert t.hls4ml == "ufixed<8,0,RND_CONV,SAT,0>"
    assert T("ap_fixed<8,3>").hls4ml == "fixed<8,3,TRN,WRAP,0>"
    assert FixedType(8, 3) == T("ap_fixed<8,3>") and hash(FixedType(8, 3)) == hash(T("fixed<8,3>"))


def test_hls4ml_agrees_on_spelling() -> None:
    fpga = pytest.importorskip("hls4ml.backends.fpga.fpga_backend")
    for t in QUANT_TYPES[::5]:
        for text in (t.hls4ml, str(t)):
            p = fpga.FPGABackend.convert_precision_string(text)
            assert str(p) == t.hls4ml, text
            assert (p.width, p.integer, p.signed, p.rounding_mode.name, p.saturation_mode.name,
                    p.saturation_bits) == (t.width, t.integer, t.signed, t.rounding.name, t.overflow.name,
                                           t.sat_bits)


@pytest.mark.parametrize(("text", "message"), [
    ("ap_fixed<0,0>", "width must be >= 1"),
    ("ap_fixed<8>x", "trailing junk 'x'"),
    ("ap_fixed<8>", "I has no default"),
    ("ap_fixed<8,3,AP_FOO>", "unknown rounding mode 'AP_FOO' (valid: AP_TRN, AP_TRN_ZERO"),
    ("ap_fixed<8,3,AP_RND,AP_WRAP_SM>", "unknown overflow mode 'AP_WRAP_SM'"),
    ("ap_fixed<8,3,AP_RND,AP_SAT,0,1>", "2 to 5 arguments"),
    ("ap_int<8,3>", "exactly 1 argument"),
    ("ap_fixed<63,3>", "codes are held in int64"),
    ("ap_fixed<8,x>", "integer bits I must be an integer, got 'x'"),
    ("ap_fixed<8,3,AP_TRN,AP_WRAP,9>", "saturation bits N must be in 0..8"),
    ("ap_fixed<8,3,AP_TRN,AP_WRAP,>", "saturation bits N must be an integer"),
    ("ap_float<8,3>", "unknown type name 'ap_float'"),
    ("ap_fixed", "expected e.g."),
    ("", "expected e.g."),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="type .*" + message.replace("(", r"\(").replace(")", r"\)")):
        T(text)


def test_constructor_and_result_type_errors() -> None:
    with pytest.raises(ValueError, match="int64"):
        FixedType.product_type(T("ap_fixed<40,4>"), T("ap_fixed<30,2>"))
    with pytest.raises(ValueError, match="positive"):
        FixedType.sum_type(T("ap_fixed<8,3>"), 0)
    with pytest.raises(TypeError):
        FixedType(8, 3, True, "RND")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        T("ap_fixed<8,3>").cast(np.array([1]), "ap_fixed<8,3>")  # type: ignore[arg-type]


def test_narrow_integer_inputs_cast_like_int64() -> None:
    """Codes given in int32/int16 arrays take a 32-bit path for the common narrowing casts: it must give
    the codes and overflow masks of the int64 path (which the header comparison above checks)."""
    rng = np.random.default_rng(5)
    fast = 0
    for dst, src in CAST_PAIRS:
        c = _src_codes(dst, src, rng)
        want, want_over = dst.cast(c, src, return_overflow=True)
        for dtype in (np.int32, np.int16, np.uint16):
            info = np.iinfo(dtype)
            if c.min() < info.min or c.max() > info.max:
                continue
            got, got_over = dst.cast(c.astype(dtype), src, return_overflow=True)
            np.testing.assert_array_equal(got, want, err_msg=f"{dst} = {src} from {dtype.__name__}")
            np.testing.assert_array_equal(got_over, want_over, err_msg=f"{dst} = {src} from {dtype.__name__}")
            fast += rounding.cast_int32(dst, c.astype(dtype), src.frac - dst.frac) is not None
    assert fast >= 50  # the 32-bit path was exercised, across the modes of CAST_PAIRS


def test_cast_into_matches_cast_and_its_overflow_count() -> None:
    """``cast_into`` (the golden model's cast: in-range codes, straight into the output array) gives the codes
    of :meth:`FixedType.cast` and the number of values its overflow mask flags; ``nonnegative`` gives those of
    ``cast(max(codes, 0))``, as a ReLU."""
    rng = np.random.default_rng(9)
    narrowing = 0
    for dst, src in CAST_PAIRS:
        c = _src_codes(dst, src, rng)
        narrowing += rounding.clips(dst) and 0 <= src.frac - dst.frac <= 30 and dst.width <= 31 and src.width <= 30
        for relu in (False, True):
            exact = np.maximum(c, 0) if relu else c
            want, want_over = dst.cast(exact, src, return_overflow=True)
            for dtype in (np.int64, np.int32, np.int16):
                info = np.iinfo(dtype)
                if c.min() < info.min or c.max() > info.max:
                    continue
                out = np.empty(c.shape, dtype=np.int64)
                count = dst.cast_into(out, c.astype(dtype), src, nonnegative=relu)
                where = f"{dst} = {'relu ' if relu else ''}{src} from {dtype.__name__}"
                np.testing.assert_array_equal(out, want, err_msg=where)
                assert count == np.count_nonzero(want_over), where
    assert narrowing >= 20  # the 32-bit clip path was exercised
