#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need. Idempotent: it runs
# apt-get update and apt-get install only when a package is missing. Run as root (or with sudo).
# With --bench it also installs what the benchmarks under bench/ use (wrk, python3).
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev
  libjq-dev libssl-dev libyaml-cpp-dev libspdlog-dev zlib1g-dev
  # The asan-ubsan build and the fuzzers: clang 14 with its sanitizer and libFuzzer runtimes, and
  # llvm for llvm-symbolizer, which turns addresses in sanitizer reports into file:line.
  # clang-tidy for scripts/clang-tidy.sh.
  clang libclang-rt-14-dev llvm clang-tidy
  # The demo and the tests use these command-line tools.
  jq curl openssl procps bsdextrautils
)

if [ "${1:-}" = "--bench" ]; then
  packages+=(wrk python3)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
