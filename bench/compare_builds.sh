#!/usr/bin/env bash
# Build configs/mnist.yaml and save every command's output into DIR, to diff two trees of hlsgen:
#   bench/compare_builds.sh /tmp/before   (on the old commit)
#   bench/compare_builds.sh /tmp/after    (on the new one)
#   diff -r /tmp/before /tmp/after
# Needs the data set ($HLSGEN_DATA) and g++; writes only into DIR.
set -euo pipefail
out=$(realpath -m "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
hlsgen=${HLSGEN:-$repo/.venv/bin/hlsgen}
rm -rf "$out" && mkdir -p "$out"
cd "$out"
"$hlsgen" build "$repo/configs/mnist.yaml" --output "$out/mnist_cnn" | grep -v " in [0-9.]* s\| [0-9.]* s$" > build.txt
"$hlsgen" check "$repo/configs/mnist.yaml" > check.txt
"$hlsgen" estimate "$repo/configs/mnist.yaml" > estimate.txt
"$hlsgen" estimate --json "$repo/configs/mnist.yaml" > estimate.json
for f in "${REPORTS:-$repo/../shared/reports}"/*.xml; do "$hlsgen" report "$f" --json; "$hlsgen" report "$f"; done > reports.txt 2>&1
(cd mnist_cnn && HLS_TOOL=gxx make --no-print-directory csim N=200 2>&1 | grep -v "^g++\|^  \|csim: g++" > ../csim.txt)
rm -rf mnist_cnn/build mnist_cnn/train/*.h5   # compiled binary, HDF5 files with timestamps
sed -i "s#$out#OUT#g" build.txt
