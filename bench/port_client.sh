#!/usr/bin/env bash
# Port client benchmark. Starts ocean-port-emulator on loopback, upserts generated entities through
# ocean::port::client (bench/port_client/main.cpp) and prints entities/s, the requests the
# emulator logged and how many of them got a 429 response.
# Usage: bench/port_client.sh [ENTITIES, default 100000] [EMULATOR OPTIONS...]
#   e.g. bench/port_client.sh 100000 --rate-limit 35000/300
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --bench >/dev/null
entities=${1:-100000}
shift || true
build_dir=${OCEAN_BENCH_BUILD_DIR:-$root/build-bench}
work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bash "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DOCEAN_BUILD_BENCH=ON \
  -DOCEAN_BUILD_TESTS=OFF -DOCEAN_BUILD_SAMPLES=OFF -DOCEAN_BUILD_TOOLS=ON \
  -- bench_port_client ocean-port-emulator >/dev/null

"$build_dir/tools/port_emulator/ocean-port-emulator" --listen 127.0.0.1:0 --log-level warn "$@" \
  >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
base_url=
for _ in $(seq 1 100); do
  if line=$(grep -m1 "^ocean-port-emulator listening on " "$work/emulator.out" 2>/dev/null); then
    base_url=${line#ocean-port-emulator listening on }
    break
  fi
  sleep 0.05
done
[ -n "$base_url" ] || { echo "port_client: the emulator did not start: $(cat "$work/emulator.err")" >&2; exit 1; }

echo "port client benchmark: $entities entities, emulator options: ${*:-none}, $(nproc) cores"
"$build_dir/bench/port_client/bench_port_client" "$base_url" "$entities"

curl -fsS "$base_url/_emulator/requests" >"$work/requests.json"
python3 - "$work/requests.json" <<'PY'
import json, sys
records = json.load(open(sys.argv[1]))
print(f"requests sent: {len(records)}")
print(f"bulk upserts: {sum(1 for r in records if r['path'].endswith('/entities/bulk'))}")
print(f"429 responses: {sum(1 for r in records if r['status'] == 429)}")
PY
