#!/usr/bin/env bash
# Live-events benchmark. Runs the Port emulator and the live-events test integration on loopback and
# posts real-shaped signed item events with wrk (2 threads, 64 connections). It prints accepted
# events/s with the durable inbox and with the memory-only inbox, applied events/s end to end
# (from the first post until the inbox is empty), Port write requests per 1,000 applied events, and
# p50/p99 accept-to-applied latency estimated from the integration's histogram buckets.
# The last line is `port requests per 1000 events: N` (durable run).
# Usage: bench/live_events.sh [SECONDS of posting per run, default 8]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --bench >/dev/null
seconds=${1:-8}
build_dir=${OCEAN_BENCH_BUILD_DIR:-$root/build-bench}
connections=64
threads=2
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "live_events: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ -z "${OCEAN_BENCH_BUILD_DIR:-}" ]; then
  bash "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DOCEAN_BUILD_TESTS=ON \
    -DOCEAN_BUILD_SAMPLES=OFF -DOCEAN_BUILD_TOOLS=ON -- ocean-port-emulator ocean-live-events-test-app >/dev/null
fi
emulator_bin=$build_dir/tools/port_emulator/ocean-port-emulator
app_bin=$build_dir/tests/ocean-live-events-test-app
secret=bench-secret

# Real-shaped bodies: an item plus the nested objects and free text a GitHub issue event carries.
python3 - "$work/requests.tsv" "$secret" <<'PY'
import hashlib, hmac, json, sys
path, secret = sys.argv[1], sys.argv[2].encode()
with open(path, "w") as out:
    for i in range(320000):
        body = json.dumps({
            "id": f"bench-{i}", "action": "upsert", "title": f"Issue {i}: checkout latency above 2 s",
            "version": 1,
            "issue": {"number": i, "state": "open", "labels": [{"name": "bug"}, {"name": "p2"}],
                      "user": {"login": "example-user", "id": 100000 + i},
                      "body": "Steps to reproduce: open the cart, add three items, pay. " * 6},
            "repository": {"id": 700001, "full_name": "example-org/example-repo", "private": True},
            "sender": {"login": "example-user", "type": "User"},
        }, separators=(",", ":"))
        signature = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        out.write(f"{body}\t{signature}\tbench-delivery-{i}\n")
PY

wait_line() { # wait_line FILE PREFIX: prints the port of the first line starting with PREFIX
  for _ in $(seq 1 200); do
    if line=$(grep -m1 "^$2" "$1" 2>/dev/null); then
      echo "${line##*:}"
      return 0
    fi
    sleep 0.05
  done
  echo "live_events: no '$2' line in $1" >&2
  exit 1
}

metric() { # metric PORT NAME
  curl -s "http://127.0.0.1:$1/integration/_admin/metrics" | awk -v name="$2" '$1 == name { print $2 }'
}

# run MODE (durable|memory): starts a fresh emulator and integration, posts for $seconds, waits for
# the inbox to drain, and sets the result_* variables.
run() {
  local mode=$1
  "$emulator_bin" --listen 127.0.0.1:0 >"$work/emulator-$mode.out" 2>"$work/emulator-$mode.err" &
  pids+=($!)
  local emulator_port
  emulator_port=$(wait_line "$work/emulator-$mode.out" "ocean-port-emulator listening on")
  local durable=true
  [ "$mode" = memory ] && durable=false
  OCEAN__PORT__BASE_URL=http://127.0.0.1:$emulator_port OCEAN__PORT__CLIENT_ID=local-client-id \
  OCEAN__PORT__CLIENT_SECRET=local-client-secret OCEAN__INTEGRATION__IDENTIFIER=bench-$mode \
  OCEAN__INTEGRATION__TYPE=live-events-bench \
  OCEAN__RESOURCES_PATH=$root/tests/integration/live_events_app/.port/resources \
  APPLICATION__HOST=127.0.0.1 APPLICATION__PORT=0 APPLICATION__LOG_LEVEL=warning \
  LIVE_EVENTS_TEST_SECRET=$secret OCEAN__LIVE_EVENTS__DURABLE=$durable \
  OCEAN__LIVE_EVENTS__INBOX_PATH=$work/inbox-$mode.log OCEAN__LIVE_EVENTS__DISK_THREADS=1 \
  OCEAN__LIVE_EVENTS__WORKERS=8 OCEAN__LIVE_EVENTS__INBOX_CAPACITY=400000 \
    "$app_bin" >"$work/app-$mode.out" 2>"$work/app-$mode.err" &
  local app_pid=$!
  pids+=($app_pid)
  local port
  port=$(wait_line "$work/app-$mode.out" "ocean-live-events-test-app listening on")
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] && break
    sleep 0.05
  done

  local started
  started=$(date +%s.%N)
  LIVE_EVENTS_REQUESTS=$work/requests.tsv LIVE_EVENTS_THREADS=$threads \
    wrk -t$threads -c$connections -d"${seconds}s" -s "$root/bench/live_events.lua" "http://127.0.0.1:$port" \
    >"$work/wrk-$mode.out"
  for _ in $(seq 1 1200); do
    [ "$(metric "$port" ocean_live_events_inbox_depth)" = 0 ] && break
    sleep 0.1
  done
  local finished
  finished=$(date +%s.%N)

  local result
  result=$(grep '^wrk-result' "$work/wrk-$mode.out")
  local accepted wrk_seconds
  accepted=$(sed -E 's/.*accepted=([0-9]+).*/\1/' <<<"$result")
  wrk_seconds=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$result")
  result_accept_rate=$(awk -v a="$accepted" -v s="$wrk_seconds" 'BEGIN { printf "%.0f", a / s }')
  result_other=$(sed -E 's/.*other=([0-9]+).*/\1/' <<<"$result")
  result_accepted=$accepted

  local applied
  applied=$(metric "$port" ocean_live_events_accept_to_applied_seconds_count)
  result_applied_rate=$(awk -v a="$applied" -v s="$started" -v f="$finished" 'BEGIN { printf "%.0f", a / (f - s) }')
  local writes
  writes=$(curl -s "http://127.0.0.1:$emulator_port/_emulator/requests" |
    python3 -c 'import json, sys; print(sum(1 for r in json.load(sys.stdin) if "/entities" in r["path"]))')
  result_port_per_1000=$(awk -v w="$writes" -v a="$applied" 'BEGIN { printf "%.1f", (a > 0) ? (w * 1000 / a) : 0 }')
  # Quantiles from the cumulative histogram, interpolating linearly inside the bucket.
  read -r result_p50 result_p99 < <(curl -s "http://127.0.0.1:$port/integration/_admin/metrics" | python3 -c '
import re, sys
buckets = []
for line in sys.stdin:
    m = re.match(r"ocean_live_events_accept_to_applied_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)", line)
    if m:
        buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), float(m.group(2))))
total = buckets[-1][1]
def quantile(q):
    rank, lower, below = q * total, 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1)
        lower, below = bound, count
    return lower
print("%.0f %.0f" % (quantile(0.5) * 1000, quantile(0.99) * 1000))')
  kill "$app_pid" 2>/dev/null || true
}

run durable
durable_accept=$result_accept_rate durable_accepted=$result_accepted durable_other=$result_other
durable_applied=$result_applied_rate durable_port=$result_port_per_1000
durable_p50=$result_p50 durable_p99=$result_p99
run memory

echo "posting: wrk -t$threads -c$connections -d${seconds}s, ~1 KB signed bodies, 8 workers"
echo "durable inbox:     accepted $durable_accept events/s ($durable_accepted accepted, $durable_other rejected)"
echo "memory-only inbox: accepted $result_accept_rate events/s ($result_accepted accepted, $result_other rejected)"
echo "applied end to end (durable): $durable_applied events/s"
echo "applied end to end (memory-only): $result_applied_rate events/s"
echo "accept-to-applied latency (durable): p50 ${durable_p50} ms, p99 ${durable_p99} ms"
echo "accept-to-applied latency (memory-only): p50 ${result_p50} ms, p99 ${result_p99} ms"
echo "port requests per 1000 events: $durable_port"
