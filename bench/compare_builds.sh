#!/usr/bin/env bash
# Build a config and save every command's output into DIR, to diff two trees of hlsgen:
#   bench/compare_builds.sh /tmp/before   (on the old commit)
#   bench/compare_builds.sh /tmp/after    (on the new one)
#   diff -r /tmp/before /tmp/after
# Needs the data set ($HLSGEN_DATA) and g++; writes only into DIR. Settings (environment):
#   CONFIG   the config (default configs/mnist.yaml)        N        csim images (default 200)
#   HLSGEN   the hlsgen command (default .venv/bin/hlsgen)  REPORTS  Vitis reports for `hlsgen report`
#                                                                    (default $HLSGEN_SHARED/reports, else ../shared/reports)
# make bench-smoke runs it on bench/smoke.yaml with N=20.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bench/compare_builds.sh DIR" >&2; exit 2; }
out=$(realpath -m "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
hlsgen=$(realpath -m "${HLSGEN:-$repo/.venv/bin/hlsgen}")
config=$(realpath -m "${CONFIG:-$repo/configs/mnist.yaml}")
images=${N:-200}
reports=${REPORTS:-${HLSGEN_SHARED:-$repo/../shared}/reports}
rm -rf "$out" && mkdir -p "$out"
cd "$out"
"$hlsgen" build "$config" --output "$out/project" | grep -v " in [0-9.]* s\| [0-9.]* s$" > build.txt
"$hlsgen" check "$config" > check.txt
"$hlsgen" estimate "$config" > estimate.txt
"$hlsgen" estimate --json "$config" > estimate.json
for f in "$reports"/*.xml; do "$hlsgen" report "$f" --json; "$hlsgen" report "$f"; done > reports.txt 2>&1
(cd project && make --no-print-directory csim N="$images" HLSGEN="$hlsgen" 2>&1 | grep -v "^g++\|^  \|csim: g++\|HLSGEN_RUN_ID=" > ../csim.txt)
rm -rf project/build project/train/*.h5   # compiled binary, HDF5 files with timestamps
sed -i "s#$out#OUT#g" build.txt
echo "compare_builds: outputs in $out"
