#!/usr/bin/env bash
# The main job: starts ocean-port-emulator and ocean-sample-quickstart on free loopback ports,
# posts the real-shaped events of samples/quickstart/events/, prints the resulting catalog as a
# table, checks it, and stops both processes. Exits 0 when the catalog is what the events imply.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${OCEAN_BUILD_DIR:-$root/build}
work=$(mktemp -d)
emulator_pid=""
integration_pid=""

cleanup() {
  for pid in $integration_pid $emulator_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "demo: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [ -f "$log" ] || continue
    echo "----- last lines of $(basename "$log") -----" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

# Waits until FILE has a line starting with PREFIX and prints the URL at its end.
wait_for_line() {
  local file=$1 prefix=$2 pid=$3
  for _ in $(seq 1 200); do
    if line=$(grep -m1 "^$prefix" "$file" 2>/dev/null); then
      echo "${line##* }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

echo "== installing dependencies and building"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh" "$build_dir" -DOCEAN_BUILD_TESTS=OFF -DOCEAN_BUILD_SAMPLES=ON -DOCEAN_BUILD_TOOLS=ON \
  -- ocean-port-emulator ocean-sample-quickstart

echo "== starting ocean-port-emulator"
"$build_dir/tools/port_emulator/ocean-port-emulator" --listen 127.0.0.1:0 \
  >"$work/emulator.out" 2>"$work/emulator.log" &
emulator_pid=$!
port_url=$(wait_for_line "$work/emulator.out" "ocean-port-emulator listening on" "$emulator_pid") ||
  fail "ocean-port-emulator did not report that it was listening"
echo "   Port API emulator at $port_url"

echo "== starting ocean-sample-quickstart"
(
  cd "$root/samples/quickstart"
  OCEAN__PORT__BASE_URL=$port_url \
  OCEAN__PORT__CLIENT_ID=local-client-id \
  OCEAN__PORT__CLIENT_SECRET=local-client-secret \
  OCEAN__INTEGRATION__IDENTIFIER=quickstart-demo \
  OCEAN__INTEGRATION__TYPE=quickstart \
  OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY \
  APPLICATION__HOST=127.0.0.1 APPLICATION__PORT=0 \
  exec "$build_dir/samples/quickstart/ocean-sample-quickstart"
) >"$work/integration.out" 2>"$work/integration.log" &
integration_pid=$!
integration_url=$(wait_for_line "$work/integration.out" "ocean-sample-quickstart listening on" "$integration_pid") ||
  fail "ocean-sample-quickstart did not report that it was listening"
for _ in $(seq 1 200); do
  if curl -fsS "$integration_url/health/ready" >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$integration_pid" 2>/dev/null || fail "ocean-sample-quickstart exited during startup"
  sleep 0.05
done
[ "${ready:-0}" = 1 ] || fail "ocean-sample-quickstart did not become ready"
echo "   integration at $integration_url (ready)"

echo "== posting webhook events"
for event in "$root"/samples/quickstart/events/*.json; do
  status=$(curl -sS -o "$work/response.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary "@$event" "$integration_url/integration/webhook") ||
    fail "POST of $(basename "$event") failed"
  printf '   %-40s %s %s\n' "$(basename "$event")" "$status" "$(jq -c '{upserted, deleted}' "$work/response.json" 2>/dev/null)"
  [ "$status" = 200 ] || fail "POST of $(basename "$event") answered $status: $(cat "$work/response.json")"
done

echo "== the same endpoint rejects bad input with JSON errors"
printf '   %-40s %s\n' "body 'not json'" \
  "$(curl -sS -X POST -H 'Content-Type: application/json' --data 'not json' -w ' (HTTP %{http_code})' "$integration_url/integration/webhook")"
printf '   %-40s %s\n' "POST /integration/nope" \
  "$(curl -sS -X POST --data '{}' -w ' (HTTP %{http_code})' "$integration_url/integration/nope")"

echo "== catalog in the Port emulator"
curl -fsS "$port_url/_emulator/entities" >"$work/entities.json" || fail "cannot read the emulator's entities"
jq -r '
  ["BLUEPRINT", "IDENTIFIER", "TITLE", "KEY PROPERTIES", "RELATIONS"],
  (sort_by(.blueprint, .identifier)[] |
    [.blueprint, .identifier, (.title // ""),
     ([.properties | to_entries[] | select(.key == "status" or .key == "urgency" or .key == "escalationPolicy")
       | "\(.key)=\(.value)"] | join(" ")),
     ([.relations // {} | to_entries[] | "\(.key)->\(.value)"] | join(" "))])
  | @tsv' "$work/entities.json" | column -t -s $'\t' | sed 's/^/   /'

echo "== checking the catalog"
expected="oncallIncident/Q1INC100 oncallIncident/Q1INC101 oncallIncident/Q1INC103 oncallService/PSVC001 oncallService/PSVC002"
actual=$(jq -r '[.[] | "\(.blueprint)/\(.identifier)"] | sort | join(" ")' "$work/entities.json")
[ "$actual" = "$expected" ] || fail "expected entities [$expected], found [$actual]"
[ "$(jq -r '.[] | select(.identifier == "Q1INC100") | .properties.status' "$work/entities.json")" = resolved ] ||
  fail "incident Q1INC100 should be resolved after its updates"
[ "$(jq -r '.[] | select(.identifier == "Q1INC103") | .relations.service' "$work/entities.json")" = PSVC001 ] ||
  fail "incident Q1INC103 should relate to service PSVC001"
echo "   5 entities as expected: updates applied, PSVC003 and Q1INC102 deleted, relations set"

echo "== stopping"
kill -TERM "$integration_pid"
wait "$integration_pid" || fail "ocean-sample-quickstart exited with status $? after SIGTERM"
integration_pid=""
kill -TERM "$emulator_pid"
wait "$emulator_pid" || fail "ocean-port-emulator exited with status $? after SIGTERM"
emulator_pid=""
echo "demo: OK"
