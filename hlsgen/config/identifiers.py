"""Names that must not collide: the top name becomes a C++ function and file names next to hls4ml's
firmware and hlsgen's testbench; layer names become Keras layer names and hls4ml's C++ type names.

The reserved sets below were collected from hlsgen/hls/templates/testbench.cpp, hls4ml 1.3.0's
generated firmware (``myproject.cpp/.h``, ``defines.h``, ``parameters.h``, ``myproject_bridge.cpp``,
``nnet_utils``, ``ap_types``) and the C/C++ standard; ``tests/config/test_names.py`` checks that
every identifier of the testbench template is in :data:`RESERVED_TOP_NAMES`.
"""

from __future__ import annotations

import re

from hlsgen.config.checks import show
from hlsgen.derived_names import DERIVED_SUFFIXES
from hlsgen.errors import ConfigError

#: Longest top or layer name: the top name also names files (``<name>_prj``, ``<name>_test.cpp``).
MAX_NAME_LENGTH = 64
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

C_KEYWORDS = frozenset(
    # C++20 keywords and alternative tokens, C keywords
    "alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t "
    "class compl concept const consteval constexpr constinit const_cast continue co_await co_return "
    "co_yield decltype default delete do double dynamic_cast else enum explicit export extern false float "
    "for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq "
    "private protected public register reinterpret_cast requires return short signed sizeof static "
    "static_assert static_cast struct switch template this thread_local throw true try typedef typeid "
    "typename union unsigned using virtual void volatile wchar_t while xor xor_eq restrict final override "
    "import module".split()
)

# Global names of the C and C++ standard libraries the testbench and firmware include (<cstdio>,
# <cstdlib>, <cmath>, <cstring>, <iostream>, ...), and their macros.
_STD = (
    "main std printf fprintf sprintf snprintf vprintf scanf fscanf sscanf puts fputs putchar getchar fgets "
    "fgetc fputc getc putc fopen fclose fread fwrite fflush fseek ftell rewind feof ferror perror remove "
    "rename tmpfile exit abort atexit quick_exit atoi atol atoll atof strtol strtoll strtoul strtoull strtod "
    "strtof malloc calloc realloc free getenv system rand srand qsort bsearch abs labs llabs div ldiv memcpy "
    "memset memmove memcmp strlen strcpy strncpy strcmp strncmp strcat strchr strrchr strstr strdup exp exp2 "
    "expm1 log log2 log10 log1p pow sqrt cbrt sin cos tan asin acos atan atan2 sinh cosh tanh floor ceil "
    "round lround llround rint lrint trunc fmod remainder fabs fmin fmax fma ldexp frexp modf scalbn isnan "
    "isinf isfinite isnormal signbit copysign hypot erf erfc tgamma lgamma nan time clock assert errno "
    "stdin stdout stderr EOF NULL NAN INFINITY ERANGE EDOM FILE BUFSIZ RAND_MAX EXIT_SUCCESS EXIT_FAILURE "
    "INT_MAX INT_MIN LONG_MAX LONG_MIN CHAR_BIT offsetof cout cerr cin endl string vector map pair tuple "
    "array size_t ptrdiff_t"
)
# hls4ml firmware and the Vitis HLS headers: namespaces, types, generated names, macros of nnet_utils
# and ap_types that are not caught by the prefixes below.
_HLS = (
    "nnet hls ap_fixed ap_ufixed ap_int ap_uint half input_t result_t model_default_t input_1 "
    "loaded_weights trace_enabled trace_outputs trace_type_size trace_data allocate_trace_storage "
    "free_trace_storage collect_trace_output DATA_PACK_PRAGMA DATA_PACK_TXT DIV_ROUNDUP EXPAND_STRING "
    "STRINGIFY INLINE MAX MIN MAX_MODE BIAS CTOR BIT_WIDTH_UPPER_LIMIT PRAGMA_DATA_PACK WEIGHTS_DIR "
    "RTL_SIM defines parameters"
)
# hlsgen's testbench (hlsgen/hls/templates/testbench.cpp and hlsgen/hls/testbench.py): globals,
# locals of main() (they would shadow the top function where main calls it) and members.
_TESTBENCH = (
    "BAD_EVIDENCE BUILD_ID CodeFile KIND a rtl_sim "
    "IN_MAX IN_MIN IN_TYPE MAX_MISMATCH_STATUS N_IMAGES N_IN N_OUT N_TRACED "
    "OUTPUT_FILE OUT_MAX OUT_MIN OUT_TYPE T TRACED TracedLayer arg argc argv assign bad bad_evidence "
    "bad_images bits buffers c c_str check_length code_of codes count data digits end evidence excerpt "
    "exp_codes fexp file fin find_first_not_of fout frac ftrace getline hex hi i ifstream images in in_codes j "
    "k l limit line lo n name npos ok out out_codes path pos range read read_line remove requested_images "
    "run_id s shown size storage substr text to_string to_uint64 token trace_images type v what width word"
)
RESERVED_TOP_NAMES = frozenset(f"{_STD} {_HLS} {_TESTBENCH}".split()) | C_KEYWORDS
# Prefixes of the ap_types, hls_stream, nnet_utils and Vitis HLS names and header guards (the top's
# header guard is NAME_H_); compared case-insensitively.
_RESERVED_PREFIXES = ("ap_", "af_", "sc_", "hls_", "nnet_", "ssdm", "x_hls", "op_", "ref_", "all_op", "apfx_")
# Names hls4ml generates in the firmware: layer outputs and their types, weight arrays, layer configs.
_GENERATED = re.compile(r"layer\d+_\w*|[a-z]\d+|(\w+_)?config\d+(_\w+)?|\w*_t", re.ASCII)

#: Names the layers of the Keras models take besides the config's own (hlsgen/train, hlsgen/hls/convert).
RESERVED_LAYER_NAMES = frozenset({"input", "input_1", "input_q"})


def _identifier(where: str, name: object, what: str) -> str:
    if not isinstance(name, str) or not _C_IDENT.match(name):
        raise ConfigError(f"{where}: {show(name)} is not a C identifier ({what})")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"{where}: {name[:20]!r}... is {len(name)} characters long; at most "
                          f"{MAX_NAME_LENGTH} are allowed ({what})")
    if name in C_KEYWORDS:
        raise ConfigError(f"{where}: {name!r} is a C/C++ keyword ({what})")
    return name


def check_top_name(name: object) -> str:
    """The config's ``name``: a C identifier of at most MAX_NAME_LENGTH characters that collides with
    nothing in the generated C++ (the firmware, hls4ml's generated names, the testbench, the C/C++
    standard library) nor with hls4ml's file names. Returns it."""
    where, what = "name", "it names the HLS top function and the project's files"
    _identifier(where, name, what)
    assert isinstance(name, str)
    low = name.lower()
    if (name in RESERVED_TOP_NAMES or low in {"defines", "parameters"} or low.startswith(_RESERVED_PREFIXES)
            or _GENERATED.fullmatch(name)):
        raise ConfigError(f"{where}: {name!r} collides with a name in the generated C++ (hls4ml's firmware, "
                          "hlsgen's testbench or the C++ library); choose another, e.g. 'mnist_cnn'")
    if name.startswith("_") or "__" in name:
        raise ConfigError(f"{where}: {name!r}: names starting with '_' or containing '__' are reserved in C++")
    return name


def check_layer_name(where: str, name: object) -> str:
    """One layer's ``name``: a C identifier of at most MAX_NAME_LENGTH characters, not a Keras input
    name. Returns it; :func:`check_layer_collisions` checks the names against each other."""
    _identifier(where, name, "layer names become Keras and C++ names")
    assert isinstance(name, str)
    if name in RESERVED_LAYER_NAMES:
        raise ConfigError(f"{where}: {name!r} collides with the input layer's name in the Keras and hls4ml "
                          "models; choose another")
    return name


def check_layer_collisions(top: str, names: list[str]) -> None:
    """No layer is named like the top function or like a layer hlsgen/hls4ml derive from another one
    (``<layer>_relu``, ``_softmax``, ``_linear``, ``_q``)."""
    derived = {f"{n}{suffix}": n for n in names for suffix in DERIVED_SUFFIXES}
    for i, name in enumerate(names):
        where = f"model.layers[{i}].name"
        if name == top:
            raise ConfigError(f"{where}: {name!r} is also the top name (name); choose another")
        if name in derived:
            raise ConfigError(f"{where}: {name!r} collides with the name derived from layer "
                              f"'{derived[name]}' (hlsgen and hls4ml add {', '.join(DERIVED_SUFFIXES)} "
                              "layers after a layer); choose another")
