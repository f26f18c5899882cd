#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian/Ubuntu. Idempotent: it only
# installs what is missing. Sourced by demo.sh and test.sh.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv) # Schemathesis runs in a virtual environment
[ -n "${SWITCHBOARD_TEST_PG_URL:-}" ] && ! command -v psql >/dev/null 2>&1 && need_apt+=(postgresql-client) # the conformance runs on PostgreSQL
# The OS keychain (Secret Service over D-Bus) used by the sync engine's CLI.
pkg-config --exists dbus-1 2>/dev/null || need_apt+=(libdbus-1-dev)
# The desktop app (Tauri 2 on WebKitGTK) and its headless end-to-end tests: Xvfb, WebKitWebDriver,
# a D-Bus session with gnome-keyring (the keychain) and dunst (notifications), ImageMagick for
# screenshots; squashfs-tools (mksquashfs) for the AppImage (scripts/build-appimage.sh and the
# runtime's tests); unzip to read the zip exports in the e2e. Checked per package so a second run
# installs nothing.
for pkg in libssl-dev libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev \
  xvfb xauth webkit2gtk-driver dbus gnome-keyring libsecret-tools keyutils dunst imagemagick \
  fonts-dejavu-core x11-utils xdotool squashfs-tools unzip; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done

if ((${#need_apt[@]})); then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing ${need_apt[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain found. Install rustup (https://rustup.rs), then run this again;" >&2
    echo "       rust-toolchain.toml pins the version and rustup fetches it." >&2
    exit 1
  fi
fi

# Node dependencies of the UI (exactly what package-lock.json says), only when they changed.
if [ -f ui/package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: the desktop UI needs Node.js 20+ and npm (apt-get install nodejs npm)" >&2
    exit 1
  fi
  if [ ! -f ui/node_modules/.package-lock.json ] || ! cmp -s ui/package-lock.json ui/node_modules/.sb-lock; then
    echo "setup: npm ci (ui/)"
    (cd ui && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.sb-lock)
  fi
fi

# tauri-driver: the WebDriver server the desktop end-to-end tests talk to.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: cargo install tauri-driver --locked"
  cargo install tauri-driver --locked --quiet
fi
