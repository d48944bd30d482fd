# hlsgen top-level Makefile.
#   make setup          create .venv from the lock of the first supported Python found (docs/stacks.md):
#                       3.11 or 3.10 -> requirements.lock (primary), else 3.13 or 3.12 ->
#                       requirements-keras3.lock (Keras 3, qkeras-v3, numpy 2); force one with PYTHON=,
#                       e.g. make setup PYTHON=python3.13 VENV=.venv313, and the Keras 2 stack of 3.12
#                       with LOCK=requirements-py312.lock (make setup PYTHON=python3.12 VENV=.venv312 LOCK=...)
#                       then the RTL tools (tools/setup-rtl.sh): requirements-rtl.lock's into a Keras 2 venv;
#                       the Keras 3 lock holds its own (da4ml 0.6), checked and warmed
#   make setup-plan     print the Python and the lock `make setup` would use, and change nothing
#   make test           run the test suite (slow end-to-end tests use a small image subset)
#   make build          hlsgen build $(CONFIG)
#   make csim / synth / cosim / export / project / rtl   forward to the last built project's Makefile
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/mnist.yaml
PYTEST_ARGS ?=
# uv, where installed, fetches a Python when none is found (`uv python install`, needs the internet)
UV ?= uv
# The project built last (written by `hlsgen build`); override with PROJECT=dir. The path is never
# expanded by make or the shell: $(file <) and $(value) give its text as is, it reaches the recipe only
# through the environment ("$$HLSGEN_PROJECT"), and a path with a character outside
# [A-Za-z0-9._/+-] (what `hlsgen build` accepts) is refused before anything runs.
ifeq ($(origin PROJECT),undefined)
  HLSGEN_PROJECT := $(if $(wildcard .hlsgen-last-build),$(file <.hlsgen-last-build))
else
  HLSGEN_PROJECT := $(value PROJECT)
endif
export HLSGEN_PROJECT
HLSGEN_CONFIG := $(value CONFIG)
export HLSGEN_CONFIG
# PYTHON= (an interpreter, forced) and LOCK= (a lock, forced) reach the recipes the same way, unexpanded.
HLSGEN_PYTHON := $(value PYTHON)
export HLSGEN_PYTHON
HLSGEN_LOCK := $(value LOCK)
export HLSGEN_LOCK
# make would expand these (running any $(shell ...) in them) to put them in a recipe's environment.
unexport PROJECT CONFIG PYTHON LOCK

.PHONY: setup setup-venv setup-rtl setup-plan test test-fast lint build csim synth cosim export project rtl clean

# --- Python stacks (docs/stacks.md) -------------------------------------------------------------
# Each supported Python minor version and its locks, the first the default; the first candidate that
# runs one of them wins. The primary stack (3.11/3.10, TensorFlow 2.14) comes first, then the Keras 3
# stack (3.13/3.12: TensorFlow 2.21 + Keras 3 + qkeras-v3, numpy 2). Python 3.12 also has the Keras 2
# stack of requirements-py312.lock (TensorFlow 2.19 + tf_keras), chosen only with LOCK=.
# python3 last: the distribution's own Python, where it is one of these.
PY_CANDIDATES := python3.11 python3.10 python3.13 python3.12 python3
PY_UV_VERSION := 3.11
SUPPORTED_PY_MSG := Python 3.11 or 3.10 (requirements.lock: TensorFlow 2.14.1) or 3.13 or 3.12 (requirements-keras3.lock: TensorFlow 2.21.0 + Keras 3 + qkeras-v3; on 3.12 also requirements-py312.lock: TensorFlow 2.19.1 + tf_keras); Python 3.14 and newer are not supported (docs/stacks.md)
# Shell code shared by setup-venv and setup-plan. Sets py (the interpreter), ver (its X.Y) and lock.
# With PYTHON= only that interpreter is tried; with LOCK= only that lock (one of its Python's); an
# existing $(VENV) keeps its own Python and stack (the Keras 3 one where it has qkeras-v3 installed).
define select_python
locks_for() { case "$$1" in 3.10|3.11) echo requirements.lock;; 3.12) echo requirements-keras3.lock requirements-py312.lock;; 3.13) echo requirements-keras3.lock;; esac; }; \
lock_for() { set -- $$(locks_for "$$1"); echo "$${1:-}"; }; \
lock_ok() { case " $$(locks_for "$$1") " in *" $$2 "*) return 0;; esac; return 1; }; \
venv_lock() { if "$$1" -c 'from importlib import metadata; metadata.distribution("qkeras-v3")' >/dev/null 2>&1; then echo requirements-keras3.lock; \
  elif "$$1" -c 'from importlib import metadata; metadata.distribution("qkeras")' >/dev/null 2>&1; then \
    if [ "$$2" = 3.12 ]; then echo requirements-py312.lock; else lock_for "$$2"; fi; fi; }; \
py_ver() { "$$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }; \
py=""; ver=""; lock=""; \
case "$$HLSGEN_LOCK" in ""|requirements.lock|requirements-keras3.lock|requirements-py312.lock) ;; \
  *) echo "make setup: error: LOCK=$$HLSGEN_LOCK: not a lock of hlsgen (requirements.lock, requirements-keras3.lock, requirements-py312.lock)" >&2; exit 2;; esac; \
if [ -n "$$HLSGEN_PYTHON" ]; then \
  command -v "$$HLSGEN_PYTHON" >/dev/null 2>&1 || { echo "make setup: error: PYTHON=$$HLSGEN_PYTHON: no such interpreter" >&2; exit 3; }; \
  ver=$$(py_ver "$$HLSGEN_PYTHON"); lock=$$(lock_for "$$ver"); \
  if [ -z "$$ver" ]; then why=$$("$$HLSGEN_PYTHON" -c pass 2>&1); echo "make setup: error: PYTHON=$$HLSGEN_PYTHON does not run: $${why%%$$'\n'*}" >&2; exit 3; fi; \
  [ -n "$$lock" ] || { echo "make setup: error: PYTHON=$$HLSGEN_PYTHON is Python $$ver; hlsgen needs $(SUPPORTED_PY_MSG)" >&2; exit 3; }; \
  py=$$HLSGEN_PYTHON; \
fi; \
if [ -x $(PY) ]; then \
  vver=$$(py_ver $(PY)); \
  [ -n "$$(lock_for "$$vver")" ] || { echo "make setup: error: $(VENV) is not a venv of a supported Python ($${vver:-its python does not run}); remove it, or pass VENV=another-dir" >&2; exit 2; }; \
  if [ -n "$$py" ] && [ "$$vver" != "$$ver" ]; then echo "make setup: error: $(VENV) is Python $$vver, PYTHON=$$py is $$ver; pass VENV=another-dir (e.g. VENV=.venv$${ver/./}) or remove $(VENV)" >&2; exit 2; fi; \
  py=$(PY); ver=$$vver; lock=$$(venv_lock $(PY) "$$vver"); \
  if [ -n "$$HLSGEN_LOCK" ] && [ -n "$$lock" ] && [ "$$HLSGEN_LOCK" != "$$lock" ]; then echo "make setup: error: $(VENV) holds the stack of $$lock, LOCK=$$HLSGEN_LOCK is another; pass VENV=another-dir or remove $(VENV)" >&2; exit 2; fi; \
  lock=$${lock:-$$(lock_for "$$vver")}; \
fi; \
if [ -z "$$py" ]; then \
  for c in $(PY_CANDIDATES); do \
    command -v $$c >/dev/null 2>&1 || continue; \
    v=$$(py_ver $$c); l=$$(lock_for "$$v"); \
    [ -z "$$HLSGEN_LOCK" ] || { lock_ok "$$v" "$$HLSGEN_LOCK" && l=$$HLSGEN_LOCK || l=""; }; \
    if [ -n "$$l" ]; then py=$$c; ver=$$v; lock=$$l; break; fi; \
  done; \
  if [ -z "$$py" ] && [ -n "$$HLSGEN_LOCK" ]; then echo "make setup: error: LOCK=$$HLSGEN_LOCK: no Python it is for was found (tried $(PY_CANDIDATES)); name one with PYTHON=" >&2; exit 3; fi; \
elif [ -n "$$HLSGEN_LOCK" ]; then \
  lock_ok "$$ver" "$$HLSGEN_LOCK" || { echo "make setup: error: LOCK=$$HLSGEN_LOCK is not a lock for Python $$ver (its locks: $$(locks_for "$$ver"))" >&2; exit 2; }; \
  lock=$$HLSGEN_LOCK; \
fi
endef
# The one message when no supported Python is found (exit 3).
define no_python
{ echo "make setup: error: no supported Python found (tried $(PY_CANDIDATES)$${uv_note}). hlsgen needs $(SUPPORTED_PY_MSG). Get one with pyenv ('pyenv install 3.11', then 'pyenv shell 3.11'), uv ('uv python install 3.11'; needs the internet) or your distribution's packages ('apt install python3.11', 'apt install python3.12 python3.12-venv', 'dnf install python3.11'), then run 'make setup' again, or name it: 'make setup PYTHON=/path/to/python3.11'" >&2; exit 3; }
endef

# `make setup` builds every environment hlsgen needs, each its own target, in this order.
setup: setup-venv setup-rtl
	@$(VENV)/bin/hlsgen --version

# The Python venv: $(VENV) from the selected lock, hlsgen installed editable.
setup-venv:
	@$(select_python); \
	uv_note=""; \
	if [ -z "$$py" ] && command -v $(UV) >/dev/null 2>&1; then \
	  echo "make setup: no supported Python on PATH; trying '$(UV) python install $(PY_UV_VERSION)' (downloads Python: needs the internet)"; \
	  if $(UV) python install $(PY_UV_VERSION) && c=$$($(UV) python find $(PY_UV_VERSION)) && [ -n "$$(lock_for "$$(py_ver "$$c")")" ]; then \
	    py=$$c; ver=$$(py_ver "$$c"); lock=$$(lock_for "$$ver"); \
	  else uv_note="; '$(UV) python install $(PY_UV_VERSION)' failed: it downloads Python and needs the internet"; fi; \
	fi; \
	[ -n "$$py" ] || $(no_python); \
	echo "make setup: using $$("$$py" --version 2>&1) ($$(command -v "$$py")) with $$lock in $(VENV)"; \
	[ -x $(PY) ] || "$$py" -m venv $(VENV) || exit $$?; \
	$(PY) -m pip install -q -r "$$lock" && \
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .

# The RTL tools of `hlsgen rtl` in $(VENV), after setup-venv: requirements-rtl.lock (da4ml 0.5.2) into a Keras 2
# stack; the Keras 3 stack's lock already holds them (da4ml 0.6.0): checked and warmed (tools/setup-rtl.sh).
setup-rtl: setup-venv
	bash tools/setup-rtl.sh $(VENV)

# What setup-venv would use: "PYTHON X.Y LOCK" on one line, nothing installed (uv is not tried).
setup-plan:
	@$(select_python); \
	uv_note=""; \
	[ -n "$$py" ] || $(no_python); \
	echo "$$py $$ver $$lock"

test:
	@[ -x $(PY) ] || { echo "make test: error: no $(VENV); run 'make setup' first" >&2; exit 2; }
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast:
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check hlsgen tests bench

build:
	$(VENV)/bin/hlsgen build "$$HLSGEN_CONFIG"

csim synth cosim export project rtl:
	@p="$$HLSGEN_PROJECT"; \
	case "$$p" in \
	  "") echo "make $@: error: no built project; run 'hlsgen build CONFIG' first (or pass PROJECT=dir)" >&2; exit 2;; \
	  *[!A-Za-z0-9._/+-]*|-*) echo "make $@: error: refusing the project path in .hlsgen-last-build (or PROJECT): it contains a character outside [A-Za-z0-9._/+-]; rebuild with 'hlsgen build' (or pass PROJECT=dir)" >&2; exit 2;; \
	esac; \
	[ -f "$$p/Makefile" ] || { echo "make $@: error: $$p is not a built project (no Makefile); run 'hlsgen build CONFIG' first (or pass PROJECT=dir)" >&2; exit 2; }; \
	echo "$(MAKE) -C $$p $@"; \
	$(MAKE) -C "$$p" $@

clean:
	rm -rf build .pytest_cache .hlsgen-last-build

# make bench / make bench-smoke (bench/bench.mk, docs/benchmarks.md)
include $(dir $(abspath $(lastword $(filter %Makefile,$(MAKEFILE_LIST)))))bench/bench.mk
