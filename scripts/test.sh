#!/usr/bin/env bash
# Installs dependencies, builds ocean-cpp with its tests, samples and tools, and runs every test
# through CTest. Then it builds a second tree with AddressSanitizer, UndefinedBehaviorSanitizer
# and LeakSanitizer (the asan-ubsan preset, clang), runs every test again there, and runs each
# libFuzzer target for OCEAN_FUZZ_SECONDS (default 60) seconds, one per core at a time, after a
# clang-tidy run over the library. Any test failure, sanitizer report, clang-tidy finding or
# fuzzer finding fails the script. OCEAN_SKIP_SANITIZERS=1 stops
# after the normal build's tests.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${OCEAN_BUILD_DIR:-$root/build-test}
asan_dir=${OCEAN_ASAN_BUILD_DIR:-$root/build-asan-ubsan}
fuzz_seconds=${OCEAN_FUZZ_SECONDS:-60}

step() {
  echo "== $* ($(date -u +%H:%M:%S))"
}

step "install dependencies"
bash "$root/scripts/install-deps.sh"

step "normal build (g++)"
# -g1 keeps line tables for backtraces. Full debug info made each translation unit about 1.5
# times slower to compile, which the CI time budget on two cores cannot afford.
bash "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
  -DOCEAN_BUILD_TESTS=ON -DOCEAN_BUILD_SAMPLES=ON -DOCEAN_BUILD_TOOLS=ON -DOCEAN_WARNINGS_AS_ERRORS=ON
step "tests"
# The summary is printed again at the end, so the run closes with CTest's own summary lines.
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
(cd "$build_dir" && ctest --output-on-failure --no-tests=error -j "$(nproc)") | tee "$summary"

if [ "${OCEAN_SKIP_SANITIZERS:-0}" = 1 ]; then
  exit 0
fi

step "asan-ubsan build (clang)"
bash "$root/scripts/build.sh" "$asan_dir" --preset asan-ubsan

# Reports go to files, one per process, so that a report from a child process (the emulator or a
# sample that a test starts) fails the run even when the test itself passes.
logs=$asan_dir/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# detect_stack_use_after_return: also catches a coroutine that keeps a pointer into a finished
# caller's stack frame. check_initialization_order and strict_init_order: static initialisation
# order bugs. The remaining options are the defaults, written out so the policy is visible.
# The asan-ubsan test preset in CMakePresets.json sets the same options; keep both in step.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:halt_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
# Only leaks inside third-party libraries are suppressed; the file names each one and why.
# print_suppressions=0 keeps the count of suppressed leaks out of the report files.
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan-suppressions.txt:print_suppressions=0"

step "tests under asan-ubsan"
status=0
# The find_package consumer test is left to the normal build: the consumer project is built
# without the sanitizer runtimes, so it cannot link an instrumented libocean.a.
(cd "$asan_dir" && ctest --output-on-failure --no-tests=error -j "$(nproc)" \
  -E '^samples\.cmake_consumer\.') || status=$?
if compgen -G "$logs/*" >/dev/null; then
  for report in "$logs"/*; do
    echo "---- sanitizer report $report"
    cat "$report"
  done
  echo "tests under asan-ubsan: sanitizer reports found (see above)" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  exit "$status"
fi
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

step "clang-tidy"
bash "$root/scripts/clang-tidy.sh"

step "fuzzing, $fuzz_seconds s per target"
OCEAN_FUZZ_SKIP_BUILD=1 OCEAN_ASAN_BUILD_DIR="$asan_dir" bash "$root/scripts/fuzz.sh" all "$fuzz_seconds"

step "done: sanitizers clean, fuzzers found nothing; CTest summary of the normal build"
sed -n '/tests passed/,$p' "$summary"
