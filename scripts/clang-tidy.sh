#!/usr/bin/env bash
# Runs clang-tidy 14 with the checks in .clang-tidy over the library (src/ and include/) and
# fails when it reports anything. Extra arguments are file-name regexes that narrow the run,
# e.g. scripts/clang-tidy.sh src/http/server.cpp. --analyzer adds the Clang static analyzer's
# core and C++ checks, which take about three times as long; CI runs without them.
# It configures a clang tree without precompiled headers, so nothing has to be built first;
# OCEAN_TIDY_BUILD_DIR (default build-tidy) picks the tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${OCEAN_TIDY_BUILD_DIR:-$root/build-tidy}

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DOCEAN_BUILD_TESTS=OFF -DOCEAN_BUILD_SAMPLES=OFF -DOCEAN_BUILD_TOOLS=OFF >/dev/null

extra=()
if [ "${1:-}" = --analyzer ]; then
  extra=(-checks='clang-analyzer-core.*,clang-analyzer-cplusplus.*')
  shift
fi
files=("$root/src/")
if [ $# -gt 0 ]; then
  files=("$@")
fi

log=$build_dir/clang-tidy.log
# run-clang-tidy-14 always passes --use-color to clang-tidy, so sed strips the colour codes.
run-clang-tidy-14 -quiet -p "$build_dir" -j "$(nproc)" "${extra[@]}" "${files[@]}" 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g' >"$log" || true
# Keep each finding located in this checkout; drop the progress lines and the counts of
# suppressed warnings. The static analyzer can also end a path inside Boost.Asio's headers, which
# this project cannot change; those stay in the log.
if grep -E "^$root/.*: (warning|error): " "$log" | sort -u >"$build_dir/clang-tidy-findings.txt" &&
  [ -s "$build_dir/clang-tidy-findings.txt" ]; then
  cat "$build_dir/clang-tidy-findings.txt"
  echo "clang-tidy: $(wc -l <"$build_dir/clang-tidy-findings.txt") findings; full output in $log" >&2
  exit 1
fi
echo "clang-tidy: no findings in ${files[*]}"
