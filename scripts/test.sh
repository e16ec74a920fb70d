#!/usr/bin/env bash
# Installs dependencies, builds ocean-cpp with its tests, samples and tools, and runs every test
# through CTest. The last lines are CTest's summary.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${OCEAN_BUILD_DIR:-$root/build-test}

bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOCEAN_BUILD_TESTS=ON -DOCEAN_BUILD_SAMPLES=ON -DOCEAN_BUILD_TOOLS=ON -DOCEAN_WARNINGS_AS_ERRORS=ON

cd "$build_dir"
ctest --output-on-failure --no-tests=error -j "$(nproc)"
