# make bench / make bench-smoke: the benchmark scripts of bench/ (docs/benchmarks.md); included by the
# top-level Makefile, whose $(PY) and $(VENV) they use.
#   make bench        every benchmark, one JSON per script in bench/results/ (machine, date, versions, command,
#                     load, figures), then docs/benchmarks.md's current tables regenerated from them
#                     (bench/tables.py). bench-build builds the reference project (configs/mnist.yaml) into
#                     BENCH_OUT (default build/bench) and the others run on it (BENCH_PROJECT= another built
#                     project). Long: the RTL of the reference fc1 alone takes 17+ min and 10 GB.
#                     One at a time: make bench-build / bench-golden / bench-rtl / bench-import / bench-search,
#                     then make bench-docs.
#   make bench-smoke  every script of bench/ on a tiny network and data subset (bench/smoke.yaml), results in
#                     SMOKE_OUT (default build/bench-smoke), never in bench/results or the docs: CI runs it, so
#                     a script broken by an API change fails CI. Needs $HLSGEN_DATA, g++ and the RTL tools.
# The paths are never expanded by make or the shell: $(value) gives their text, it reaches the recipes only
# through the environment, and a path with a character outside [A-Za-z0-9._/+-] is refused first.

BENCH_OUT ?= build/bench
SMOKE_OUT ?= build/bench-smoke
HLSGEN_BENCH_OUT := $(value BENCH_OUT)
HLSGEN_SMOKE_OUT := $(value SMOKE_OUT)
HLSGEN_BENCH_PROJECT := $(if $(filter undefined,$(origin BENCH_PROJECT)),$(value BENCH_OUT)/mnist_cnn,$(value BENCH_PROJECT))
export HLSGEN_BENCH_OUT HLSGEN_SMOKE_OUT HLSGEN_BENCH_PROJECT
unexport BENCH_OUT SMOKE_OUT BENCH_PROJECT
BENCH_RESULTS := bench/results

define bench_check_paths
for v in "$$HLSGEN_BENCH_OUT" "$$HLSGEN_SMOKE_OUT" "$$HLSGEN_BENCH_PROJECT"; do \
  case "$$v" in ""|*[!A-Za-z0-9._/+-]*|-*) echo "make $@: error: refusing the path '$$v' (BENCH_OUT, SMOKE_OUT, BENCH_PROJECT): use characters of [A-Za-z0-9._/+-]" >&2; exit 2;; esac; \
done; \
[ -x $(PY) ] || { echo "make $@: error: no $(VENV); run 'make setup' first" >&2; exit 2; }
endef

.PHONY: bench bench-build bench-golden bench-rtl bench-import bench-search bench-docs bench-smoke

bench:
	@$(bench_check_paths)
	$(MAKE) --no-print-directory bench-build
	$(MAKE) --no-print-directory bench-golden
	$(MAKE) --no-print-directory bench-rtl
	$(MAKE) --no-print-directory bench-import
	$(MAKE) --no-print-directory bench-search
	$(MAKE) --no-print-directory bench-docs

bench-build:
	@$(bench_check_paths)
	$(PY) bench/bench_build.py --output "$$HLSGEN_BENCH_OUT/mnist_cnn" --results $(BENCH_RESULTS)

bench-golden:
	@$(bench_check_paths)
	$(PY) bench/bench_golden.py "$$HLSGEN_BENCH_PROJECT" --repeat 10 --results $(BENCH_RESULTS)

bench-rtl:
	@$(bench_check_paths)
	$(PY) bench/bench_rtl.py "$$HLSGEN_BENCH_PROJECT" --whole --cold --edit --results $(BENCH_RESULTS)

bench-import:
	@$(bench_check_paths)
	$(PY) bench/bench_import.py --output "$$HLSGEN_BENCH_OUT/import" --results $(BENCH_RESULTS)

bench-search:
	@$(bench_check_paths)
	$(PY) bench/bench_search.py --out "$$HLSGEN_BENCH_OUT/search" --results $(BENCH_RESULTS)

bench-docs:
	$(PY) bench/tables.py --results $(BENCH_RESULTS)

# Every script of bench/ (tests/test_bench.py checks that each one is named here), in one shell so that the
# total time is printed; the first failure stops it.
bench-smoke:
	@$(bench_check_paths)
	@set -e; start=$$(date +%s); s="$$HLSGEN_SMOKE_OUT"; r="$$s/results"; rm -rf "$$r"; \
	step() { t=$$(date +%s); echo "bench-smoke: $$*"; "$$@"; echo "bench-smoke: $$(( $$(date +%s) - t )) s"; }; \
	step $(PY) bench/bench_build.py --smoke --output "$$s/smoke_cnn" --results "$$r"; \
	step $(PY) bench/bench_golden.py "$$s/smoke_cnn" --config "$$s/smoke.yaml" --smoke --results "$$r"; \
	step $(PY) bench/bench_rtl.py "$$s/smoke_cnn" --smoke --results "$$r"; \
	step $(PY) bench/bench_import.py --smoke --output "$$s/import" --results "$$r"; \
	step $(PY) bench/bench_search.py --smoke --out "$$s/search" --results "$$r"; \
	CONFIG="$$s/smoke.yaml" N=20 HLSGEN=$(VENV)/bin/hlsgen step bash bench/compare_builds.sh "$$s/compare"; \
	step $(PY) bench/tables.py --results "$$r" --output "$$s/benchmarks.md"; \
	echo "bench-smoke: every script of bench/ ran, in $$(( $$(date +%s) - start )) s (results in $$r)"
