"""hlsgen's self-checking testbench for a spec (``hlsgen/hls/templates/testbench.cpp``) and the code files it reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hlsgen.hls.convert import hls4ml_io_names, traced_layers
from hlsgen.hls.templates import render
from hlsgen.spec import HardwareSpec


def testbench_source(spec: HardwareSpec, hls_model, *, images: int, build: str, axi: bool = False) -> str:
    """Our self-checking testbench for this spec, from hlsgen/hls/templates/testbench.cpp: it checks that
    tb_data holds exactly ``images`` well-formed lines per file, with codes inside the input and output
    types, and stamps its output with the ``build`` id (see the template's header for its exit status).
    With ``axi`` it drives the AXI4-Stream top ``<top>_axi`` instead (:func:`hlsgen.board.axi.testbench_parts`:
    each image packed into beats as the DMA moves them, the output beats and their TLAST checked)."""
    in_name, out_name = hls4ml_io_names(hls_model)
    n_in = int(np.prod(spec.input_shape))
    n_out = int(np.prod(spec.output_shape))
    traced = traced_layers(hls_model)
    trace_table = ",\n".join(f'    {{"{name}", {size}, {frac}}}' for name, size, frac in traced)
    if hls_model.config.get_config_value("IOType") == "io_parallel":
        declare = f"input_t {in_name}[N_IN];\n        result_t {out_name}[N_OUT];"
        feed = f"for (int i = 0; i < N_IN; i++) {in_name}[i].range() = in_codes[i];"
        call = f"{spec.name}({in_name}, {out_name});"
        drain = f"for (int j = 0; j < N_OUT; j++) out_codes[j] = code_of({out_name}[j]);"
    else:
        declare = (f'hls::stream<input_t> {in_name}("{in_name}");\n'
                   f'        hls::stream<result_t> {out_name}("{out_name}");')
        feed = (f"for (int i = 0; i < N_IN / (int)input_t::size; i++) {{\n"
                f"            input_t word;\n"
                f"            for (int c = 0; c < (int)input_t::size; c++) "
                f"word[c].range() = in_codes[i * input_t::size + c];\n"
                f"            {in_name}.write(word);\n        }}")
        call = f"{spec.name}({in_name}, {out_name});"
        drain = (f"for (int i = 0; i < N_OUT / (int)result_t::size; i++) {{\n"
                 f"            result_t word = {out_name}.read();\n"
                 f"            for (int c = 0; c < (int)result_t::size; c++) "
                 f"out_codes[i * result_t::size + c] = code_of(word[c]);\n        }}")
    if axi:
        from hlsgen.board.axi import testbench_parts

        parts = testbench_parts(spec.name)
        declare, feed, call, drain = parts["declare"], parts["feed"], parts["call"], parts["drain"]
    in_t, out_t = spec.input_t, spec.output_t
    text = render("testbench.cpp", top=spec.name, n_in=n_in, n_out=n_out, declare=declare, feed=feed,
                  call=call, drain=drain, trace_table=trace_table, n_traced=len(traced), n_images=images,
                  build=build, in_min=_cxx_code(in_t.min_code), in_max=_cxx_code(in_t.max_code), in_type=in_t,
                  out_min=_cxx_code(out_t.min_code), out_max=_cxx_code(out_t.max_code), out_type=out_t)
    if axi:  # the wrapper's header declares the beat type and includes the top's
        include = f'#include "firmware/{spec.name}.h"\n'
        assert text.count(include) == 1
        text = text.replace(include, f'#include "firmware/{spec.name}_axi.h"\n')
    return text


def _cxx_code(code: int) -> str:
    """A code as a C++ ``long long`` literal, clamped to 64 bits (wider types: every readable code is in range)."""
    code = max(-(2**63) + 1, min(2**63 - 1, int(code)))
    return f"{code}LL"


def write_codes(path: Path, codes: np.ndarray) -> None:
    """One image per line, integer codes separated by spaces (what the testbench reads). Each distinct code is
    spelled once (a table of at most 2^20 words; wider ranges spell every code): 10,000 images of 784 pixels
    took 20 s as one ``str`` per code, 4 s so (same bytes)."""
    flat = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    lo, hi = (int(flat.min()), int(flat.max())) if flat.size else (0, 0)
    with open(path, "w") as fh:
        if hi - lo < 2**20:
            words = np.array([str(v) for v in range(lo, hi + 1)], dtype=object)
            fh.writelines(" ".join(words[row]) + "\n" for row in flat - lo)
            return
        for row in flat:
            fh.write(" ".join(map(str, row.tolist())))
            fh.write("\n")
