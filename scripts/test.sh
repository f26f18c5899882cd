#!/usr/bin/env bash
# Runs every test of the workspace: formatting, unit, integration (real relay + real simulator on
# loopback), the process-level crash test, the fuzz seed corpus, the UI's unit tests and the
# desktop app's end-to-end tests (headless: Xvfb, D-Bus, gnome-keyring; see ui/e2e/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

if [ -z "${SWITCHBOARD_TEST_PG_URL:-}" ]; then
  echo "################################################################################"
  echo "# SWITCHBOARD_TEST_PG_URL is not set. No test of this build needs PostgreSQL yet"
  echo "# (the PostgreSQL back-end is a later issue), so nothing is skipped because of it."
  echo "################################################################################"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

# The desktop app embeds the built UI, so build it before cargo compiles src-tauri.
echo "== UI: type check and build (ui/)"
(cd ui && npm run build --silent)

echo "== cargo test (workspace)"
cargo test --workspace --all-targets --locked

echo "== desktop: the idle/lock D-Bus probe against stand-in services on a private session bus"
dbus-run-session -- cargo test --locked -p switchboard-desktop --lib -- --ignored

echo "== UI unit tests (vitest)"
(cd ui && npx vitest run)

echo "== desktop end-to-end tests (real webview under Xvfb, real relay and simulator)"
ui/e2e/run.sh
