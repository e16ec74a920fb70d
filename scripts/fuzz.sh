#!/usr/bin/env bash
# Builds the libFuzzer targets in the asan-ubsan tree and runs them.
# Usage: scripts/fuzz.sh TARGET|all SECONDS
#   TARGET is a file name in tests/fuzz without .cpp (http_request, emulator_requests, ...);
#   "all" runs every target, OCEAN_FUZZ_JOBS (default: the number of cores) at a time.
# New inputs go to BUILD_DIR/fuzz/corpus/TARGET; the seeds in tests/fuzz/corpus/TARGET are only
# read. A crash leaves its input in BUILD_DIR/fuzz/artifacts/TARGET and makes the script fail.
# OCEAN_ASAN_BUILD_DIR (default build-asan-ubsan) picks the tree; OCEAN_FUZZ_SKIP_BUILD=1 skips
# the build when the caller has just built it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: scripts/fuzz.sh TARGET|all SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET|all SECONDS}
build_dir=${OCEAN_ASAN_BUILD_DIR:-$root/build-asan-ubsan}
jobs=${OCEAN_FUZZ_JOBS:-$(nproc)}

all_targets=()
for file in "$root"/tests/fuzz/*.cpp; do
  all_targets+=("$(basename "$file" .cpp)")
done
if [ "$target" = all ]; then
  targets=("${all_targets[@]}")
elif [ -f "$root/tests/fuzz/$target.cpp" ]; then
  targets=("$target")
else
  echo "fuzz.sh: unknown target '$target'; expected all or one of: ${all_targets[*]}" >&2
  exit 2
fi

if [ "${OCEAN_FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/build.sh" "$build_dir" --preset asan-ubsan -- "${targets[@]/#/fuzz_}"
fi
# ASan runs with its defaults, and libFuzzer checks each input for leaks (-detect_leaks=1 is its
# default). UBSan prints stacks. LeakSanitizer skips the third-party leaks in the suppression file.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan-suppressions.txt}

# Runs one target, prints a summary line (and the log's tail after a finding), and returns
# libFuzzer's exit status.
run_one() {
  local name=$1
  local corpus=$build_dir/fuzz/corpus/$name
  local artifacts=$build_dir/fuzz/artifacts/$name
  local log=$build_dir/fuzz/$name.log
  mkdir -p "$corpus" "$artifacts"
  local status=0
  # -timeout: one input running longer than 25 s counts as a hang finding.
  "$build_dir/tests/fuzz/fuzz_$name" "$corpus" "$root/tests/fuzz/corpus/$name" \
    -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    echo "fuzz $name: no finding in $seconds s ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs)"
  else
    echo "fuzz $name: FINDING (exit $status); input in $artifacts, log $log"
    tail -n 60 "$log"
  fi
  return "$status"
}

failed=0
running=0
pids=()
for name in "${targets[@]}"; do
  run_one "$name" &
  pids+=($!)
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
