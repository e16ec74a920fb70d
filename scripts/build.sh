#!/usr/bin/env bash
# Configures and builds ocean-cpp with Ninja (and ccache when installed).
# Usage: scripts/build.sh BUILD_DIR [extra cmake arguments...] [-- ninja targets...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:?usage: scripts/build.sh BUILD_DIR [cmake args...] [-- targets...]}
shift

cmake_args=()
targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    targets=("$@")
    break
  fi
  cmake_args+=("$1")
  shift
done

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Precompiled headers need these to hit the cache.
  export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
  # Paths relative to the checkout, so clones in other folders share cached objects.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" "${cmake_args[@]}" >/dev/null
# Each Asio/Beast translation unit takes about 750 MB to compile; one job per core fits.
ninja -C "$build_dir" -j "$(nproc)" "${targets[@]}"
