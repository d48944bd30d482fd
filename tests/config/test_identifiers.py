"""The top name cannot collide with a name of the generated C++: the reserved set covers every identifier
of hlsgen's testbench template (a name added there must be added to hlsgen/config/identifiers.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hlsgen.config.identifiers import RESERVED_TOP_NAMES, check_top_name
from hlsgen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TESTBENCH = ROOT / "hlsgen" / "hls" / "templates" / "testbench.cpp"
GENERATOR = ROOT / "hlsgen" / "hls" / "testbench.py"  # the code it inserts into the template


def _identifiers(cpp: str) -> set[str]:
    cpp = re.sub(r"//[^\n]*", "", cpp)
    cpp = re.sub(r"/\*.*?\*/", "", cpp, flags=re.S)
    cpp = re.sub(r'"(\\.|[^"\\\n])*"', '""', cpp)
    cpp = re.sub(r"'(\\.|[^'\\\n])*'", "''", cpp)
    cpp = re.sub(r"\$\{?\w+\}?", "", cpp)  # template placeholders
    cpp = re.sub(r"#\s*include[^\n]*", "", cpp)
    return set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", cpp)) - {"include", "define", "ifdef", "ifndef",
                                                                 "endif", "else", "elif", "undef", "pragma"}


def test_every_testbench_identifier_is_reserved():
    names = _identifiers(TESTBENCH.read_text())
    missing = sorted(n for n in names if n not in RESERVED_TOP_NAMES and _accepted(n))
    assert not missing, f"add these testbench names to hlsgen/config/identifiers.py (_TESTBENCH): {missing}"


def test_locals_of_the_generated_testbench_code_are_reserved():
    """The C++ that testbench.py writes into main() (declare/feed/call/drain) declares ``word``, ``i``
    and ``c``; a top function of that name would be shadowed where main() calls it."""
    source = GENERATOR.read_text()
    for local in ("word", "i", "c"):
        assert re.search(rf"\b{local}\b", source), local
        assert local in RESERVED_TOP_NAMES


def _accepted(name: str) -> bool:
    try:
        check_top_name(name)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("name", ["main", "std", "nnet", "hls", "ap_fixed", "ap_ufixed", "input_t", "result_t",
                                  "N_IN", "N_OUT", "code_of", "read_line", "TRACED", "TracedLayer", "N_TRACED",
                                  "printf", "exit", "NULL", "layer12_out", "layer2_t", "conv1_accum_t", "b7",
                                  "config10", "softmax_config12", "parameters", "nnet_dense", "x_hls_utils",
                                  "INLINE", "WEIGHTS_DIR", "RTL_SIM", "input_1", "size_t", "int", "namespace"])
def test_reserved(name):
    with pytest.raises(ConfigError, match=r"^name: "):
        check_top_name(name)
