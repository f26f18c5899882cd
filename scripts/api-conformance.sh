#!/usr/bin/env bash
# The API does what its OpenAPI document says (issue 19). First the document is validated against
# the OpenAPI 3.1 specification (openapi-spec-validator); then Schemathesis, a property-based API
# tester, runs all its checks and all its phases (examples, coverage, fuzzing, stateful) against
# the real relay (debug build, embedded SQLite, the simulator as the Graph API, loopback ports
# chosen at run time), once with an admin's token and once with an agent's, each on a fresh
# relay; with SWITCHBOARD_TEST_PG_URL set, both runs again on PostgreSQL (a fresh schema each). Any failure fails the run; the summary of each run is printed. Settings, and the few
# operations allowed to answer 422 to a schema-valid request (and why), are in
# scripts/schemathesis.toml.
#
# Installs both tools (pinned) into target/schemathesis-venv. Reports land in
# artifacts/schemathesis/. SCHEMATHESIS_SEED picks another seed (the default is fixed, so a run is
# repeatable); SCHEMATHESIS_MAX_EXAMPLES the cases per operation and phase (default 50).
#
# Not fuzzed, and why (each has its own tests):
# - GET  /api/v1/stream: a WebSocket upgrade, which Schemathesis does not speak
#   (crates/relay/tests/api.rs, crates/sync/tests/*).
# - POST /webhooks/whatsapp: accepts only bodies signed with the Meta app secret, which a generic
#   tester cannot sign; anything unsigned is answered 401 (crates/relay/tests/webhooks.rs, hostile.rs,
#   and the fuzz targets in fuzz/).
# - POST /api/v1/auth/logout: ends the very session the run uses (crates/relay/tests/sessions.rs).
set -euo pipefail
cd "${SWITCHBOARD_ROOT:-$(dirname "$0")/..}"
root="$PWD"
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"

have_st=$("$venv/bin/schemathesis" --version 2>/dev/null || true)
have_validator=$("$venv/bin/pip" show openapi-spec-validator 2>/dev/null || true)
if [[ "$have_st" != *"version $SCHEMATHESIS_VERSION"* ]] ||
  [[ "$have_validator" != *"Version: $VALIDATOR_VERSION"* ]]; then
  echo "== installing Schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $VALIDATOR_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi

[ -n "${SWITCHBOARD_CONFORMANCE_NO_BUILD:-}" ] || cargo build --locked --workspace --bins
bin="$target/debug"

work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; drop_schemas; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pnid=200000000000002
export WA_APP_SECRET=conformance-app-secret WA_VERIFY_TOKEN=conformance-verify WA_ACCESS_TOKEN=conformance-access
export RUST_LOG="${RUST_LOG:-warn}"

# A fresh relay and simulator for each run (what one run changes does not steer the other): an
# admin, an agent, a business number, and a few customers' conversations; on PostgreSQL in a
# schema of its own, dropped at the end.
schemas=()
drop_schemas() {
  for sch in "${schemas[@]}"; do PGOPTIONS=--client-min-messages=warning psql -q "$SWITCHBOARD_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $sch CASCADE" >/dev/null 2>&1 || true; done
}
start() { # name backend
  relay_addr="127.0.0.1:$(free_port)"
  sim_addr="127.0.0.1:$(free_port)"
  export SWITCHBOARD_DATA_DIR="$work/$1" SWITCHBOARD_LISTEN="$relay_addr" WA_GRAPH_URL="http://$sim_addr"
  unset SWITCHBOARD_DATABASE_URL
  if [ "$2" = postgres ]; then
    local sch="conformance_$$_${1//-/_}"
    schemas+=("$sch")
    PGOPTIONS=--client-min-messages=warning psql -q "$SWITCHBOARD_TEST_PG_URL" \
      -c "DROP SCHEMA IF EXISTS $sch CASCADE; CREATE SCHEMA $sch" >/dev/null
    local sep='?'
    case "$SWITCHBOARD_TEST_PG_URL" in *\?*) sep='&' ;; esac
    export SWITCHBOARD_DATABASE_URL="$SWITCHBOARD_TEST_PG_URL${sep}options=-c%20search_path%3D$sch"
  fi
  "$bin/switchboard-relay" admin add-number --phone-number-id "$pnid" --display-phone-number 15550001111 \
    --name "Conformance" --waba-id 100000000000001 >/dev/null
  printf '%s' 'conformance-admin-pw' | "$bin/switchboard-relay" admin create-user --email admin@conformance.test \
    --name "Ada Admin" --role admin --password-stdin >/dev/null
  printf '%s' 'conformance-agent-pw' | "$bin/switchboard-relay" admin create-user --email agent@conformance.test \
    --name "Anna Agent" --role agent --password-stdin >/dev/null
  "$bin/switchboard-relay" serve >"$work/$1-relay.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do curl -fs "http://$relay_addr/healthz" >/dev/null && break; sleep 0.05; done
  "$bin/switchboard-sim" serve --listen "$sim_addr" --webhook-url "http://$relay_addr/webhooks/whatsapp" \
    --app-secret "$WA_APP_SECRET" --access-token "$WA_ACCESS_TOKEN" --phone-number-id "$pnid" \
    --display-phone-number 15550001111 --generate-rate 20 --generate-customers 10 >"$work/$1-sim.log" 2>&1 &
  pids+=($!)
  sleep 2
}

token() {
  curl -fs "http://$relay_addr/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'
}

mkdir -p artifacts/schemathesis
status=0
backends=(sqlite)
if [ -n "${SWITCHBOARD_TEST_PG_URL:-}" ]; then
  command -v psql >/dev/null || { echo "api-conformance: psql is needed for the PostgreSQL runs" >&2; exit 1; }
  backends+=(postgres)
else
  echo "== SKIPPED: the conformance runs on PostgreSQL (SWITCHBOARD_TEST_PG_URL is not set)"
fi
for backend in "${backends[@]}"; do
for who in admin agent; do
  start "$who-$backend" "$backend"
  if [ "$who" = admin ] && [ "$backend" = sqlite ]; then
    echo "== the OpenAPI document against the OpenAPI 3.1 specification"
    curl -fs "http://$relay_addr/api/v1/openapi.json" >artifacts/schemathesis/openapi.json
    "$venv/bin/openapi-spec-validator" artifacts/schemathesis/openapi.json
    # What a release publishes (`switchboard-relay openapi`) is what the relay serves.
    "$bin/switchboard-relay" openapi >artifacts/schemathesis/openapi-published.json
    python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(0 if a==b else "switchboard-relay openapi differs from /api/v1/openapi.json")' \
      artifacts/schemathesis/openapi.json artifacts/schemathesis/openapi-published.json
  fi
  t=$(token "$who@conformance.test" "conformance-$who-pw")
  echo "== Schemathesis as the $who ($backend)"
  "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "http://$relay_addr/api/v1/openapi.json" \
    --checks all --phases examples,coverage,fuzzing,stateful \
    --header "Authorization: Bearer $t" \
    --seed "${SCHEMATHESIS_SEED:-19}" --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
    --exclude-path /api/v1/stream --exclude-path /api/v1/auth/logout \
    --exclude-operation-id receive \
    --report junit --report-dir "artifacts/schemathesis/$who-$backend" \
    --workers 1 --no-color || status=1
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
done
done
if [ $status -ne 0 ]; then
  echo "API CONFORMANCE FAILED: see the failures above (reports in artifacts/schemathesis/)"
fi
exit $status
