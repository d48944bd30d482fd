# hlsgen top-level Makefile.
#   make setup          create .venv from requirements.lock (needs Python 3.11 or 3.10)
#   make test           run the test suite (slow end-to-end tests use a small image subset)
#   make build          hlsgen build $(CONFIG)
#   make csim / synth   forward to the last built project's own Makefile
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/mnist.yaml
PYTEST_ARGS ?=
# The project built last (written by `hlsgen build`); override with PROJECT=dir.
PROJECT ?= $(shell cat .hlsgen-last-build 2>/dev/null)

.PHONY: setup test test-fast lint build csim synth cosim export clean

setup:
	@py=""; for c in python3.11 python3.10; do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; assert sys.version_info[:2] in ((3,10),(3,11))' 2>/dev/null; then py=$$c; break; fi; \
	done; \
	if [ -z "$$py" ]; then echo "make setup: error: need Python 3.11 or 3.10 (tensorflow 2.14.1 supports no newer); none found on PATH" >&2; exit 3; fi; \
	echo "make setup: using $$($$py --version) ($$(command -v $$py))"; \
	[ -x $(PY) ] || $$py -m venv $(VENV); \
	$(PY) -m pip install -q -r requirements.lock && \
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . && \
	$(VENV)/bin/hlsgen --version

test:
	@[ -x $(PY) ] || { echo "make test: error: no $(VENV); run 'make setup' first" >&2; exit 2; }
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast:
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check hlsgen tests bench

build:
	$(VENV)/bin/hlsgen build $(CONFIG)

csim synth cosim export:
	@[ -n "$(PROJECT)" ] && [ -f "$(PROJECT)/Makefile" ] || { echo "make $@: error: no built project; run 'hlsgen build $(CONFIG)' first (or pass PROJECT=dir)" >&2; exit 2; }
	$(MAKE) -C "$(PROJECT)" $@

clean:
	rm -rf build .pytest_cache .hlsgen-last-build
