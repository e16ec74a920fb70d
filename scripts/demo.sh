#!/usr/bin/env bash
# The main job: starts ocean-port-emulator and ocean-sample-quickstart on free loopback ports,
# posts the real-shaped events of samples/quickstart/events/, prints the resulting catalog as a
# table, checks it, and stops the quickstart. Then it runs ocean-sample-third-party against
# ocean-fake-third-party: webhook registration at start, a full resync, signed live events, and a
# stale entity deleted by reconciliation. Exits 0 when every catalog is what the steps imply.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${OCEAN_BUILD_DIR:-$root/build}
work=$(mktemp -d)
emulator_pid=""
integration_pid=""
tracker_pid=""
sample_pid=""

cleanup() {
  for pid in $sample_pid $tracker_pid $integration_pid $emulator_pid; do
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
  -- ocean-port-emulator ocean-sample-quickstart ocean-sample-third-party ocean-fake-third-party

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

# Part 2: a full lifecycle against a fake third-party tracker.
# Prints the tracker entities in Port as sorted `blueprint/identifier` words. Called in command
# substitutions, so it reports a failure through its status instead of calling fail.
tracker_entities() {
  curl -fsS "$port_url/_emulator/entities" >"$work/entities.json" || return 1
  jq -r '[.[] | select(.blueprint | startswith("tracker")) | "\(.blueprint)/\(.identifier)"] | sort | join(" ")' \
    "$work/entities.json"
}

# Succeeds when Port contains the entity BLUEPRINT/IDENTIFIER.
tracker_has() {
  local entities
  entities=$(tracker_entities) || fail "cannot read the emulator's entities"
  [[ " $entities " == *" $1 "* ]]
}

echo "== starting ocean-fake-third-party (a project tracker with 3 projects and 10 tasks)"
"$build_dir/samples/third_party/ocean-fake-third-party" --listen 127.0.0.1:0 \
  >"$work/tracker.out" 2>"$work/tracker.log" &
tracker_pid=$!
tracker_url=$(wait_for_line "$work/tracker.out" "ocean-fake-third-party listening on" "$tracker_pid") ||
  fail "ocean-fake-third-party did not report that it was listening"
echo "   tracker at $tracker_url"

echo "== starting ocean-sample-third-party (POLLING every second, resync on start)"
# OCEAN__BASE_URL must name the port before the sample starts, so take one where no server listens.
sample_port=""
for candidate in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
    sample_port=$candidate
    break
  fi
done
[ -n "$sample_port" ] || fail "no free loopback port found for ocean-sample-third-party"
(
  cd "$root/samples/third_party"
  OCEAN__PORT__BASE_URL=$port_url \
  OCEAN__PORT__CLIENT_ID=local-client-id \
  OCEAN__PORT__CLIENT_SECRET=local-client-secret \
  OCEAN__INTEGRATION__IDENTIFIER=tracker-demo \
  OCEAN__INTEGRATION__TYPE=tracker \
  OCEAN__INTEGRATION__CONFIG__SERVICE_URL=$tracker_url \
  OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=demo-webhook-secret \
  OCEAN__INTEGRATION__CONFIG__PAGE_SIZE=4 \
  OCEAN__EVENT_LISTENER__TYPE=POLLING \
  OCEAN__EVENT_LISTENER__INTERVAL=1 \
  OCEAN__BASE_URL=http://127.0.0.1:$sample_port \
  APPLICATION__HOST=127.0.0.1 APPLICATION__PORT=$sample_port \
  exec "$build_dir/samples/third_party/ocean-sample-third-party"
) >"$work/third-party.out" 2>"$work/third-party.log" &
sample_pid=$!
sample_url=$(wait_for_line "$work/third-party.out" "ocean-sample-third-party listening on" "$sample_pid") ||
  fail "ocean-sample-third-party did not report that it was listening"

# Waits up to 10 s for COMMAND to succeed.
wait_until() {
  for _ in $(seq 1 200); do
    if eval "$1"; then
      return 0
    fi
    kill -0 "$sample_pid" 2>/dev/null || fail "ocean-sample-third-party exited"
    sleep 0.05
  done
  return 1
}

echo "== registration at start"
wait_until 'curl -fsS "$sample_url/health/ready" >/dev/null 2>&1' || fail "ocean-sample-third-party did not become ready"
hooks=$(curl -fsS "$tracker_url/api/webhooks" | jq -r '[.[].url] | join(" ")')
printf '   %-40s %s\n' "webhooks held by the tracker" "$hooks"
[ "$hooks" = "$sample_url/integration/webhook" ] || fail "the tracker should hold $sample_url/integration/webhook, holds [$hooks]"
blueprints=$(curl -fsS "$port_url/_emulator/blueprints" | jq -r '[.[].identifier | select(startswith("tracker"))] | sort | join(" ")')
printf '   %-40s %s\n' "default blueprints created" "$blueprints"
[ "$blueprints" = "trackerProject trackerTask" ] || fail "expected blueprints trackerProject and trackerTask, found [$blueprints]"

echo "== full resync on start"
wait_until '[ "$(tracker_entities | wc -w)" = 13 ]' || fail "expected 13 tracker entities after the first resync, found [$(tracker_entities)]"
wait_until '[ "$(curl -fsS "$port_url/_emulator/integrations" | jq -r ".[] | select(.identifier == \"tracker-demo\") | .resyncState.status")" = completed ]' ||
  fail "the first resync was not reported completed"
jq -r '
  ["BLUEPRINT", "IDENTIFIER", "TITLE", "PROPERTIES", "RELATIONS"],
  ([.[] | select(.blueprint | startswith("tracker"))] | sort_by(.blueprint, .identifier)[] |
    [.blueprint, .identifier, (.title // ""),
     ([.properties | to_entries[] | "\(.key)=\(.value)"] | join(" ")),
     ([.relations // {} | to_entries[] | "\(.key)->\(.value)"] | join(" "))])
  | @tsv' "$work/entities.json" | column -t -s $'\t' | sed 's/^/   /'
echo "   13 entities: 3 projects and 10 tasks, each task related to its project; resync state completed"

echo "== live events: the tracker signs and sends them to the integration"
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data '{"id": "TSK-2001", "title": "Write the release notes", "state": "open", "assignee": "Kenji Mori", "project_id": "PRJ-102"}' \
  "$tracker_url/api/tasks" >/dev/null || fail "creating task TSK-2001 in the tracker failed"
wait_until 'tracker_has trackerTask/TSK-2001' || fail "the live event did not create trackerTask/TSK-2001"
echo "   task TSK-2001 created in the tracker -> trackerTask/TSK-2001 in Port"
curl -fsS -X DELETE "$tracker_url/api/tasks/TSK-1002" >/dev/null || fail "deleting task TSK-1002 in the tracker failed"
wait_until '! tracker_has trackerTask/TSK-1002' || fail "the live event did not delete trackerTask/TSK-1002"
echo "   task TSK-1002 deleted in the tracker -> trackerTask/TSK-1002 deleted in Port"
printf '   %-40s %s\n' "unsigned POST /integration/webhook" \
  "$(curl -sS -X POST -H 'Content-Type: application/json' --data '{"action":"delete","kind":"task","item":{"id":"TSK-1004"}}' \
     -w ' (HTTP %{http_code})' "$sample_url/integration/webhook")"
tracker_has trackerTask/TSK-1004 || fail "an unsigned event must not delete trackerTask/TSK-1004"

echo "== reconciliation: a task removed at the source without an event"
curl -fsS -X DELETE "$tracker_url/api/tasks/TSK-1007?notify=false" >/dev/null || fail "removing task TSK-1007 failed"
sleep 1.5
tracker_has trackerTask/TSK-1007 || fail "trackerTask/TSK-1007 should stay until the next resync"
echo "   TSK-1007 removed silently; Port still holds trackerTask/TSK-1007"
curl -fsS -X POST -H 'Content-Type: application/json' --data '{"integration": "tracker-demo"}' \
  "$port_url/_emulator/resync-request" >/dev/null || fail "requesting a resync failed"
wait_until '! tracker_has trackerTask/TSK-1007' || fail "the resync did not delete the stale trackerTask/TSK-1007"
expected="trackerProject/PRJ-101 trackerProject/PRJ-102 trackerProject/PRJ-103 trackerTask/TSK-1001 trackerTask/TSK-1003 trackerTask/TSK-1004 trackerTask/TSK-1005 trackerTask/TSK-1006 trackerTask/TSK-1008 trackerTask/TSK-1009 trackerTask/TSK-1010 trackerTask/TSK-2001"
actual=$(tracker_entities) || fail "cannot read the emulator's entities"
[ "$actual" = "$expected" ] || fail "expected entities [$expected], found [$actual]"
echo "   resync requested in Port -> the stale trackerTask/TSK-1007 deleted by reconciliation; 12 entities remain"

echo "== stopping"
kill -TERM "$sample_pid"
wait "$sample_pid" || fail "ocean-sample-third-party exited with status $? after SIGTERM"
sample_pid=""
kill -TERM "$tracker_pid"
wait "$tracker_pid" || fail "ocean-fake-third-party exited with status $? after SIGTERM"
tracker_pid=""
kill -TERM "$emulator_pid"
wait "$emulator_pid" || fail "ocean-port-emulator exited with status $? after SIGTERM"
emulator_pid=""
echo "demo: OK"
