#!/usr/bin/env bash
# Runs every test of the workspace: formatting, clippy, unit, integration (real relay + real simulator on
# loopback), the process-level crash test, the fuzz seed corpus, the UI's unit tests and the
# desktop app's end-to-end tests (headless: Xvfb, D-Bus, gnome-keyring; see ui/e2e/run.sh); with
# SWITCHBOARD_TEST_PG_URL the relay's and the sync engine's integration suites again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

if [ -z "${SWITCHBOARD_TEST_PG_URL:-}" ]; then
  echo "################################################################################"
  echo "# SWITCHBOARD_TEST_PG_URL is not set: SKIPPING every PostgreSQL test (the relay's"
  echo "# integration suite on PostgreSQL, the event-log property test with several writers)."
  echo "# .ci/run sets it to postgres://postgres@127.0.0.1:5432/test."
  echo "################################################################################"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

# The desktop app embeds the built UI, so build it before cargo compiles src-tauri.
echo "== UI: type check and build (ui/)"
(cd ui && npm run build --silent)

echo "== cargo clippy (every target, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (workspace)"
cargo test --workspace --all-targets --locked

if [ -n "${SWITCHBOARD_TEST_PG_URL:-}" ]; then
  echo "== cargo test on PostgreSQL: the relay's integration suite and the sync engine's, each test on a fresh schema"
  SWITCHBOARD_TEST_BACKEND=postgres cargo test --locked -p switchboard-relay -p switchboard-sync --tests
else
  echo "== SKIPPED: the relay's integration suite on PostgreSQL (SWITCHBOARD_TEST_PG_URL is not set)"
fi

echo "== the API against its OpenAPI document: openapi-spec-validator and Schemathesis (scripts/api-conformance.sh)"
scripts/api-conformance.sh

echo "== desktop: the idle/lock D-Bus probe against stand-in services on a private session bus"
# --workspace keeps the feature set of the build above, so nothing is compiled again.
dbus-run-session -- cargo test --workspace --lib --locked -- --ignored

echo "== UI unit tests (vitest)"
(cd ui && npx vitest run)

echo "== desktop end-to-end tests (real webview under Xvfb, real relay and simulator)"
ui/e2e/run.sh
