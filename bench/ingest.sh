#!/usr/bin/env bash
# Webhook ingest benchmark. Runs wrk on loopback against (a) a minimal Beast coroutine server (the
# baseline, bench/ingest/baseline_server.cpp), (b) the SDK's server parsing the JSON body, and
# (c) the SDK's server checking an HMAC-SHA256 signature and parsing the body; at 1, 16 and 64
# connections, each server on one io_context thread. Prints requests/s, latency percentiles and the
# ratios of (b) and (c) to (a). The last line is `ratio json/baseline at 64 connections: X.XX`.
# Usage: bench/ingest.sh [SECONDS per run, default 5]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-5}
build_dir=${OCEAN_BENCH_BUILD_DIR:-$root/build-bench}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$root/scripts/install-deps.sh" --bench >/dev/null
bash "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DOCEAN_BUILD_BENCH=ON \
  -DOCEAN_BUILD_TESTS=OFF -DOCEAN_BUILD_SAMPLES=OFF -DOCEAN_BUILD_TOOLS=OFF \
  -- bench_ingest_baseline bench_ingest_sdk >/dev/null

start() { # start NAME PROGRAM: runs it on a free port and sets started_port
  "$2" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if line=$(grep -m1 "^listening on" "$work/$1.out" 2>/dev/null); then
      started_port=${line##*:}
      return 0
    fi
    sleep 0.05
  done
  echo "ingest: $1 did not start: $(cat "$work/$1.err")" >&2
  exit 1
}

# A real-shaped GitHub issues event of 865 bytes.
body='{"action":"opened","issue":{"id":900001,"number":1,"title":"Checkout latency above 2 s","state":"open","labels":[{"id":1,"name":"bug","color":"d73a4a"},{"id":2,"name":"p1","color":"b60205"}],"user":{"login":"example-user","id":10001,"type":"User"},"body":"The checkout API answers slowly since the last deploy. Steps: open the cart, pay with a card, wait. Expected: under 300 ms. Actual: above 2 s for one request in five.","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","comments":0},"repository":{"id":700001,"name":"checkout","full_name":"example-org/checkout","private":false,"owner":{"login":"example-org","id":20001,"type":"Organization"},"html_url":"https://github.com/example-org/checkout","default_branch":"main","topics":["payments","api"],"stargazers_count":42,"open_issues_count":7},"sender":{"login":"example-user","id":10001}}'
signature="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac bench-secret -r | cut -d' ' -f1)"

make_script() { # make_script FILE PATH [SIGNATURE]
  {
    echo 'wrk.method = "POST"'
    echo "wrk.path = \"$2\""
    printf 'wrk.body = [==[%s]==]\n' "$body"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    [ -n "${3:-}" ] && echo "wrk.headers[\"X-Hub-Signature-256\"] = \"$3\""
    true
  } >"$1"
}
make_script "$work/plain.lua" /integration/webhook
make_script "$work/signed.lua" /integration/signed "$signature"

start baseline "$build_dir/bench/ingest/bench_ingest_baseline"
baseline_port=$started_port
start sdk "$build_dir/bench/ingest/bench_ingest_sdk"
sdk_port=$started_port

# Sanity: the signed route must accept the signature and the body must parse.
curl -fsS -X POST -H 'Content-Type: application/json' -H "X-Hub-Signature-256: $signature" --data-binary "$body" \
  "http://127.0.0.1:$sdk_port/integration/signed" >/dev/null || { echo "ingest: signed route rejected the request" >&2; exit 1; }

declare -A rps
run() { # run LABEL PORT SCRIPT CONNECTIONS
  local out
  out=$(wrk -t 1 -c "$4" -d "${seconds}s" --latency -s "$3" "http://127.0.0.1:$2" 2>&1)
  local r p50 p90 p99 errors
  r=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p90=$(awk '$1 == "90%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd ';' - || true)
  rps[$1/$4]=$r
  printf '%-34s %4s conns %12s req/s   p50 %-9s p90 %-9s p99 %-9s %s\n' "$1" "$4" "$r" "$p50" "$p90" "$p99" "$errors"
}

echo "ingest benchmark: ${seconds}s per run, wrk -t 1, one io_context thread per server, $(nproc) cores"
for c in 1 16 64; do
  run "(a) beast baseline" "$baseline_port" "$work/plain.lua" "$c"
  run "(b) ocean json" "$sdk_port" "$work/plain.lua" "$c"
  run "(c) ocean hmac+json" "$sdk_port" "$work/signed.lua" "$c"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for c in 1 16 64; do
  echo "ratio hmac+json/baseline at $c connections: $(ratio "${rps["(c) ocean hmac+json/$c"]}" "${rps["(a) beast baseline/$c"]}")"
done
for c in 1 16; do
  echo "ratio json/baseline at $c connections: $(ratio "${rps["(b) ocean json/$c"]}" "${rps["(a) beast baseline/$c"]}")"
done
echo "ratio json/baseline at 64 connections: $(ratio "${rps["(b) ocean json/64"]}" "${rps["(a) beast baseline/64"]}")"
