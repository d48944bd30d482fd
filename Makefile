# hlsgen top-level Makefile.
#   make setup          create .venv from requirements.lock (needs Python 3.11 or 3.10), then the RTL
#                       tools of requirements-rtl.lock (tools/setup-rtl.sh)
#   make test           run the test suite (slow end-to-end tests use a small image subset)
#   make build          hlsgen build $(CONFIG)
#   make csim / synth / cosim / export / project / rtl   forward to the last built project's Makefile
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/mnist.yaml
PYTEST_ARGS ?=
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
# make would expand these (running any $(shell ...) in them) to put them in a recipe's environment.
unexport PROJECT CONFIG

.PHONY: setup test test-fast lint build csim synth cosim export project rtl clean

setup:
	@py=""; for c in python3.11 python3.10; do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; assert sys.version_info[:2] in ((3,10),(3,11))' 2>/dev/null; then py=$$c; break; fi; \
	done; \
	if [ -z "$$py" ]; then echo "make setup: error: need Python 3.11 or 3.10 (tensorflow 2.14.1 supports no newer); none found on PATH" >&2; exit 3; fi; \
	echo "make setup: using $$($$py --version) ($$(command -v $$py))"; \
	[ -x $(PY) ] || $$py -m venv $(VENV); \
	$(PY) -m pip install -q -r requirements.lock && \
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . && \
	bash tools/setup-rtl.sh $(VENV) && \
	$(VENV)/bin/hlsgen --version

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
