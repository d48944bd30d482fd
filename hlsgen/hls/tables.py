"""The softmax lookup tables as constants in the firmware: one source for C simulation and synthesis.

hls4ml 1.3.0 fills the softmax tables at run time: ``init_exp_table`` / ``init_invert_table`` in
``nnet_utils/nnet_activation.h`` (used by ``nnet_activation_stream.h`` too) evaluate ``std::exp`` and
``1/x`` in float. C simulation runs that with the host's C library; synthesis evaluates the same
initialiser with Vitis HLS' own math library, so the two could read different bits (hls4ml issues
#1512 and #1523, PR #1531). hls4ml 1.3.0 has no table-file mechanism for its Vivado/Vitis backends
(only its Quartus/oneAPI writers emit table files).

hlsgen therefore writes the tables of the golden model (:func:`hlsgen.golden.softmax.exp_table`,
:func:`~hlsgen.golden.softmax.invert_table`) as constant arrays of the table types into
``firmware/hlsgen_tables.h`` (one ``nnet::softmax_tables<config>`` specialisation per table-based
softmax layer), includes it at the end of ``firmware/parameters.h`` (after the layer configs), and
replaces the bodies of the two ``init_*`` functions in the project's copy of ``nnet_activation.h`` by
copies from those constants. Everything else in hls4ml's softmax is unchanged. A softmax layer without
hlsgen tables does not compile (``softmax_tables`` has no primary definition).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.fixed import FixedType
from hlsgen.golden import softmax as golden_softmax
from hlsgen.hls.convert import hls4ml_type
from hlsgen.spec import HardwareSpec

HEADER = "hlsgen_tables.h"
_ACTIVATION = "nnet_utils/nnet_activation.h"
_MARK = "// hlsgen: softmax tables"

# hls4ml 1.3.0's two initialisers, exactly as in templates/vivado/nnet_utils/nnet_activation.h (the
# Vitis backend copies that file): the patch refuses to apply to anything else.
_ORIGINAL_EXP = """\
template <class data_T, typename CONFIG_T>
void init_exp_table(typename CONFIG_T::exp_table_t table_out[CONFIG_T::exp_table_size], bool negative = false) {
    // The template data_T is the data type used to address the table
    for (unsigned i = 0; i < CONFIG_T::exp_table_size; i++) {
        // Slicing bits for address is going to round towards 0, so take the central value
        float x = softmax_real_val_from_idx<data_T, CONFIG_T::exp_table_size>(i) * CONFIG_T::exp_scale;
        if (negative) {
            // for normalized inputs, we keep the normalization values positive (x_bar = x_max - x)
            // so we need to negate the input (exp(-x_bar) = exp(x - x_max))
            x = -x;
        }
        typename CONFIG_T::exp_table_t exp_x = exp_fcn_float(x);
        table_out[i] = exp_x;
    }
}
"""
_ORIGINAL_INV = """\
template <class data_T, typename CONFIG_T>
void init_invert_table(typename CONFIG_T::inv_table_t table_out[CONFIG_T::inv_table_size]) {
    // The template data_T is the data type used to address the table
    for (unsigned i = 0; i < CONFIG_T::inv_table_size; i++) {
        float x = softmax_real_val_from_idx<data_T, CONFIG_T::inv_table_size>(i);
        typename CONFIG_T::inv_table_t inv_x = 1 / x;
        table_out[i] = inv_x;
    }
}
"""
_PATCHED = f"""\
{_MARK}: hls4ml's init_exp_table/init_invert_table evaluated std::exp and 1/x here, in C simulation
// with the host's C library and in synthesis with Vitis HLS' own; hlsgen copies the golden model's
// tables instead, constants in firmware/{HEADER} (one specialisation per softmax layer), so that C
// simulation and synthesis read identical bits. No specialisation, no compile: never a silent table.
template <typename CONFIG_T> struct softmax_tables;

template <class data_T, typename CONFIG_T>
void init_exp_table(typename CONFIG_T::exp_table_t table_out[CONFIG_T::exp_table_size], bool negative = false) {{
    (void)negative; // the constants were computed for this layer's implementation (stable: exp(-x))
    for (unsigned i = 0; i < CONFIG_T::exp_table_size; i++) {{
        table_out[i] = softmax_tables<CONFIG_T>::exp_table[i];
    }}
}}

template <class data_T, typename CONFIG_T>
void init_invert_table(typename CONFIG_T::inv_table_t table_out[CONFIG_T::inv_table_size]) {{
    for (unsigned i = 0; i < CONFIG_T::inv_table_size; i++) {{
        table_out[i] = softmax_tables<CONFIG_T>::invert_table[i];
    }}
}}
"""


def softmax_config_name(layer) -> str:
    """hls4ml's config struct of a softmax layer: ``{activation}_config{index}``
    (``softmax_config_template`` in hls4ml 1.3.0's ``backends/vivado/passes/core_templates.py``)."""
    return f"{layer.get_attr('activation')}_config{layer.index}"


def layer_tables(spec: HardwareSpec) -> list[tuple[str, str, FixedType, int, FixedType, bool, np.ndarray, np.ndarray]]:
    """(stage, implementation, exp address type, exp size, inv address type, negative, exp codes, inv codes)
    of every table-based softmax stage, computed by the golden model."""
    out = []
    for s in spec.stages:
        p = s.params
        if s.kind != "softmax" or p.exp_table_t is None:
            continue
        negative = p.implementation == "stable"
        addr_t = p.inp_norm_t if negative else s.input_t
        exp = golden_softmax.exp_table(addr_t, p.exp_table_size, p.exp_table_t, negative)
        inv = golden_softmax.invert_table(p.inv_inp_t, p.inv_table_size, p.inv_table_t)
        out.append((s.name, p.implementation, addr_t, p.exp_table_size, p.inv_inp_t, negative, exp, inv))
    return out


def _literal(code: int, t: FixedType) -> str:
    """The value ``code * 2**-frac`` as a C++ double literal that converts to exactly that value."""
    value = float(int(code)) * 2.0 ** -t.frac
    return repr(value)


def _array(decl: str, codes: np.ndarray, t: FixedType) -> str:
    values = [_literal(c, t) for c in codes]
    rows = [", ".join(values[i:i + 8]) for i in range(0, len(values), 8)]
    return f"{decl} = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def tables_header(spec: HardwareSpec, hls_model) -> str:
    """``firmware/hlsgen_tables.h`` for this spec (its hls4ml model names the config structs)."""
    layers = {layer.name: layer for layer in hls_model.get_layers()}
    parts = [f"// Softmax lookup tables of {spec.name}, generated by hlsgen (do not edit: `hlsgen build` "
             "rewrites it).\n"
             "// The golden model's tables (hlsgen/golden/softmax.py: exp_table, invert_table), exact values of the\n"
             "// table types; included at the end of parameters.h and read by init_exp_table/init_invert_table in\n"
             "// nnet_utils/nnet_activation.h, so C simulation and synthesis use identical bits.\n"
             "#ifndef HLSGEN_TABLES_H_\n#define HLSGEN_TABLES_H_\n\nnamespace nnet {\n"]
    for name, impl, addr_t, exp_size, inv_addr_t, negative, exp, inv in layer_tables(spec):
        stage = spec.stage(name)
        p = stage.params
        layer = layers.get(name)
        if layer is None:
            raise HlsgenError(f"{name}: softmax layer missing from the hls4ml model")
        for key, want in (("exp_table_t", p.exp_table_t), ("inv_table_t", p.inv_table_t)):
            got = layer.get_attr(key)
            got = hls4ml_type(got.precision) if got is not None else None
            if got != want:
                raise HlsgenError(f"{name}.{key}: hls4ml has {got}, the spec says {want}")
        for t in (p.exp_table_t, p.inv_table_t):
            if t.width > 53:
                raise HlsgenError(f"{name}: softmax table type {t} is wider than 53 bits; its constants would not "
                                  "be exact as C++ double literals")
        cfg = "::" + softmax_config_name(layer)
        exp_what = "exp(-x) for x = max - input" if negative else "exp(x)"
        parts.append(
            f"\n// {name} ({impl}): exp table, {exp_what}, addressed by the top bits of {addr_t}, {exp_size} "
            f"entries of {p.exp_table_t};\n// inverse table, 1/x, addressed by the top bits of {inv_addr_t}, "
            f"{len(inv)} entries of {p.inv_table_t}.\n"
            f"static_assert({cfg}::exp_table_size == {exp_size} && {cfg}::inv_table_size == {len(inv)}, "
            f"\"{name}: hls4ml's table sizes differ from hlsgen's\");\n"
            f"static_assert({cfg}::exp_table_t::width == {p.exp_table_t.width} && "
            f"{cfg}::exp_table_t::iwidth == {p.exp_table_t.integer} && "
            f"{cfg}::inv_table_t::width == {p.inv_table_t.width} && {cfg}::inv_table_t::iwidth == "
            f"{p.inv_table_t.integer}, \"{name}: hls4ml's table types differ from hlsgen's\");\n"
            f"template <> struct softmax_tables<{cfg}> {{\n"
            f"    static const {cfg}::exp_table_t exp_table[{exp_size}];\n"
            f"    static const {cfg}::inv_table_t invert_table[{len(inv)}];\n}};\n"
            + _array(f"const {cfg}::exp_table_t softmax_tables<{cfg}>::exp_table[{exp_size}]", exp, p.exp_table_t)
            + _array(f"const {cfg}::inv_table_t softmax_tables<{cfg}>::invert_table[{len(inv)}]", inv,
                     p.inv_table_t))
    parts.append("\n} // namespace nnet\n\n#endif\n")
    return "".join(parts)


def write_softmax_tables(spec: HardwareSpec, hls_model, project: Path) -> None:
    """Write ``firmware/hlsgen_tables.h``, include it from ``parameters.h`` and make hls4ml's
    ``init_exp_table``/``init_invert_table`` copy from it (raises if hls4ml's files are not the
    expected 1.3.0 text)."""
    firmware = project / "firmware"
    (firmware / HEADER).write_text(tables_header(spec, hls_model))
    activation = firmware / _ACTIVATION
    text = activation.read_text()
    if text.count(_ORIGINAL_EXP) != 1 or text.count(_ORIGINAL_INV) != 1:
        raise HlsgenError(f"{activation}: hls4ml's init_exp_table/init_invert_table are not the 1.3.0 code "
                          "hlsgen replaces by constant tables; update hlsgen/hls/tables.py for this hls4ml")
    text = text.replace(_ORIGINAL_EXP, _PATCHED).replace(_ORIGINAL_INV, "")
    activation.write_text(text)
    params = firmware / "parameters.h"
    text = params.read_text()
    head, sep, tail = text.rpartition("#endif")
    if not sep or tail.strip():
        raise HlsgenError(f"{params}: does not end with '#endif' as hls4ml 1.3.0 writes it")
    params.write_text(f'{head}{_MARK} of every softmax layer (after the configs they name)\n'
                      f'#include "{HEADER}"\n\n{sep}{tail}')


def read_header_values(path: Path) -> dict[str, list[float]]:
    """The arrays of a generated tables header as written: ``{"<config>::exp_table": [values], ...}``."""
    import re

    text = path.read_text()
    out: dict[str, list[float]] = {}
    for m in re.finditer(r"const ::(\w+)::\w+ softmax_tables<::\w+>::(\w+)\[\d+\] = \{(.*?)\};", text, re.S):
        config, array, body = m.groups()
        out[f"{config}::{array}"] = [float(v) for v in body.split(",") if v.strip()]
    return out
