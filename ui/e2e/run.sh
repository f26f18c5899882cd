#!/usr/bin/env bash
# Runs the desktop end-to-end tests headless: a private X server (Xvfb), a private D-Bus session
# with gnome-keyring unlocked (the OS keychain) and a notification daemon, a temporary HOME, and
# a D-Bus monitor that records every desktop notification. Builds what it drives (debug).
# Where a piece the tests need is missing it says so loudly and exits 0 only with
# SWITCHBOARD_E2E_ALLOW_SKIP=1; otherwise a missing piece fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

skip() {
  echo "################################################################################"
  echo "# DESKTOP E2E SKIPPED: $*"
  echo "################################################################################"
  if [ "${SWITCHBOARD_E2E_ALLOW_SKIP:-}" = 1 ]; then exit 0; fi
  exit 1
}
for tool in Xvfb dbus-run-session gnome-keyring-daemon WebKitWebDriver dbus-monitor secret-tool xdotool xmessage node unzip; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (scripts/setup.sh installs it)"
done
command -v tauri-driver >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/tauri-driver" ] || skip "tauri-driver is not installed (cargo install tauri-driver --locked)"
export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${SWITCHBOARD_E2E_NO_BUILD:-}" ]; then
  echo "== building the UI and the app (debug)"
  (cd ui && npm run build --silent)
  # The whole workspace: the same feature set as the test build, so no dependency is compiled again.
  cargo build --locked --workspace --bins
fi

mkdir -p artifacts/desktop
rm -f artifacts/desktop/*.png
work="$(mktemp -d)"
# A free display number.
d=90
while [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ]; do d=$((d + 1)); done
Xvfb ":$d" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.05; done
[ -e "/tmp/.X11-unix/X$d" ] || skip "Xvfb did not start: $(cat "$work/xvfb.log")"

export DISPLAY=":$d" HOME="$work/home" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export E2E_NOTIFY_LOG="$work/notifications.log"
export SWITCHBOARD_BIN_DIR="${CARGO_TARGET_DIR:-$root/target}/debug"

dbus-run-session -- bash ui/e2e/in-session.sh
