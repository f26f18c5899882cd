#!/usr/bin/env bash
# The demo: relay (embedded SQLite) + Cloud API simulator with simulated customers chatting,
# a seeded admin and three agents. Ctrl-C stops everything. Data lives in ./demo-data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

RELAY_ADDR="${SWITCHBOARD_LISTEN:-127.0.0.1:8787}"
SIM_ADDR="${SWITCHBOARD_SIM_LISTEN:-127.0.0.1:8788}"
DATA="${SWITCHBOARD_DATA_DIR:-$PWD/demo-data}"
SECRET="demo-app-secret"
ACCESS_TOKEN="demo-access-token"
PNID="200000000000002"

echo "== building (release)"
cargo build --release --locked -p switchboard-relay -p switchboard-sim
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release"

export SWITCHBOARD_DATA_DIR="$DATA" SWITCHBOARD_LISTEN="$RELAY_ADDR"
export WA_APP_SECRET="$SECRET" WA_VERIFY_TOKEN="demo-verify-token" WA_ACCESS_TOKEN="$ACCESS_TOKEN"
export WA_GRAPH_URL="http://$SIM_ADDR"

"$BIN/switchboard-relay" admin add-number --phone-number-id "$PNID" --display-phone-number 15550001111 --name "Demo Support" --waba-id 100000000000001 >/dev/null
seed_user() { # email name role password
  if ! "$BIN/switchboard-relay" admin list-users | cut -f3 | grep -qx "$1"; then
    printf '%s' "$4" | "$BIN/switchboard-relay" admin create-user --email "$1" --name "$2" --role "$3" --password-stdin >/dev/null
  fi
}
seed_user admin@demo.switchboard "Ada Admin" admin demo-admin-pw
seed_user anna@demo.switchboard "Anna Agent" agent demo-agent-pw
seed_user ben@demo.switchboard "Ben Agent" agent demo-agent-pw
seed_user chris@demo.switchboard "Chris Agent" agent demo-agent-pw

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$BIN/switchboard-relay" serve &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://$RELAY_ADDR/healthz" >/dev/null && break; sleep 0.1; done

"$BIN/switchboard-sim" serve --listen "$SIM_ADDR" --webhook-url "http://$RELAY_ADDR/webhooks/whatsapp" \
  --app-secret "$SECRET" --access-token "$ACCESS_TOKEN" --phone-number-id "$PNID" --display-phone-number 15550001111 \
  --generate-rate "${DEMO_RATE:-0.5}" --generate-customers "${DEMO_CUSTOMERS:-8}" &
pids+=($!)

cat <<INFO

Switchboard demo is running.
  Relay API:     http://$RELAY_ADDR   (OpenAPI: http://$RELAY_ADDR/api/v1/openapi.json)
  Simulator:     http://$SIM_ADDR     (what the relay sent: http://$SIM_ADDR/control/sent)
  Data:          $DATA

  Sign in as     admin@demo.switchboard / demo-admin-pw      (admin)
                 anna@demo.switchboard  / demo-agent-pw      (agent)
                 ben@demo.switchboard   / demo-agent-pw      (agent)
                 chris@demo.switchboard / demo-agent-pw      (agent)

  Try:  TOKEN=\$(curl -s http://$RELAY_ADDR/api/v1/auth/login -H 'content-type: application/json' \\
          -d '{"email":"anna@demo.switchboard","password":"demo-agent-pw"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
        curl -s -H "Authorization: Bearer \$TOKEN" http://$RELAY_ADDR/api/v1/conversations

INFO
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: the desktop app is not started; relay and simulator keep running (Ctrl-C stops them)."
  wait
  exit 0
fi

# The desktop app, signed in as Anna: her token goes to the OS keychain (where the app looks for
# it), her settings to the app's demo home.
echo "== building the desktop app (release)"
(cd ui && npm run build --silent)
cargo build --release --locked -p switchboard-desktop
APP_HOME="$DATA/desktop"
RELAY_URL="http://$RELAY_ADDR"
login=$(curl -fs "$RELAY_URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"anna@demo.switchboard","password":"demo-agent-pw"}')
token=$(printf '%s' "$login" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
user_id=$(printf '%s' "$login" | python3 -c 'import json,sys;print(json.load(sys.stdin)["user"]["id"])')
if printf '%s' "$token" | secret-tool store --label="switchboard $RELAY_URL|anna@demo.switchboard" \
    service switchboard username "$RELAY_URL|anna@demo.switchboard" target default application rust-keyring 2>/dev/null; then
  mkdir -p "$APP_HOME"
  printf '{"relay_url":"%s","email":"anna@demo.switchboard","user_id":%s}\n' "$RELAY_URL" "$user_id" >"$APP_HOME/settings.json"
  echo "Starting the desktop app signed in as anna@demo.switchboard (close its window or Ctrl-C to stop)."
else
  echo "No OS keychain answers here (secret-tool failed): the app starts at its sign-in screen;"
  echo "it will say so too. Relay URL: $RELAY_URL"
fi
SWITCHBOARD_HOME="$APP_HOME" "$BIN/switchboard-desktop" &
pids+=($!)
wait
