#!/usr/bin/env bash
# Desktop benchmark (issue 4): release bundles (.deb; the AppImage with scripts/build-appimage.sh),
# then cold start to a usable inbox with 10,000 cached conversations and idle PSS over every
# process the app starts, each beside an empty Tauri 2 app (crates/bench/desktop, a blank page)
# measured in the same run. Headless: a private Xvfb display and D-Bus session with gnome-keyring
# unlocked (the app reads its token from the keychain) and a temporary HOME. The app's relay URL
# points at a closed loopback port, so it starts offline and shows the inbox from its cache.
#
#   scripts/bench-desktop.sh [--no-build] [--runs 5] [--memory-runs 3] [--idle 10] [--conversations 10000]
#
# Prints readable lines and then one JSON line, last ({"bench":"desktop",...}). Installs nothing
# beyond scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/setup.sh

build=1
pyargs=()
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    *) pyargs+=("$1") ;;
  esac
  shift
done

for tool in Xvfb dbus-run-session gnome-keyring-daemon python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-desktop: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

target="${CARGO_TARGET_DIR:-$root/target}"
tauri="$root/ui/node_modules/.bin/tauri"
work="$(mktemp -d)"
xvfb=""
cleanup() {
  if [ -n "$xvfb" ]; then kill "$xvfb" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

version="$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')"
deb="$target/release/bundle/deb/Switchboard_${version}_amd64.deb"
appimage="$target/release/bundle/appimage/Switchboard_${version}_amd64.AppImage"
appimage_note=""

if [ "$build" = 1 ]; then
  echo "== release build of the app and its .deb (tauri build --bundles deb: builds ui/, then src-tauri)"
  rm -f "$deb"
  "$tauri" build --bundles deb
  echo "== AppImage (scripts/build-appimage.sh: our runtime + a squashfs of the AppDir, nothing downloaded)"
  rm -f "$appimage"
  if scripts/build-appimage.sh --out "$appimage" >"$work/appimage.log" 2>&1; then
    grep -E '^(bundled libraries|AppImage):' "$work/appimage.log"
  else
    rc=$?
    tail -n 5 "$work/appimage.log"
    appimage_note="not built: scripts/build-appimage.sh failed (exit $rc): $(tail -n 1 "$work/appimage.log" | cut -c1-200)"
    echo "################################################################################"
    echo "# APPIMAGE NOT BUILT: $appimage_note"
    echo "################################################################################"
  fi
  echo "== release build of the empty Tauri app (baseline) and the cache seeder"
  cargo build --release --locked -p switchboard-bench-desktop
else
  [ -f "$appimage" ] || appimage_note="not built in this run (--no-build) and none found in target/release/bundle"
fi

[ -f "$deb" ] || { echo "bench-desktop: no .deb at $deb" >&2; exit 1; }
DEB="$deb" APPIMAGE="$appimage" NOTE="$appimage_note" python3 - >"$work/bundle.json" <<'EOF'
import json, os
out = {"deb_bytes": os.path.getsize(os.environ["DEB"])}
out["deb_mib"] = round(out["deb_bytes"] / 1048576, 2)
if os.path.isfile(os.environ["APPIMAGE"]) and not os.environ["NOTE"]:
    out["appimage_bytes"] = os.path.getsize(os.environ["APPIMAGE"])
    out["appimage_mib"] = round(out["appimage_bytes"] / 1048576, 2)
else:
    out["appimage_mib"] = None
    out["appimage_note"] = os.environ["NOTE"] or "no AppImage found"
out["binary_mib"] = round(os.path.getsize(os.path.join(os.path.dirname(os.environ["DEB"]), "..", "..", "switchboard-desktop")) / 1048576, 2)
out["empty_binary_mib"] = round(os.path.getsize(os.path.join(os.path.dirname(os.environ["DEB"]), "..", "..", "empty-tauri")) / 1048576, 2)
print(json.dumps(out))
EOF
echo "bundles: $(cat "$work/bundle.json")"

# A free display number.
d=90
while [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ]; do d=$((d + 1)); done
Xvfb ":$d" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.05; done
[ -e "/tmp/.X11-unix/X$d" ] || { echo "bench-desktop: Xvfb did not start: $(cat "$work/xvfb.log")" >&2; exit 1; }

export DISPLAY=":$d" HOME="$work/home" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
echo "== measuring on DISPLAY=:$d (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
dbus-run-session -- bash -c 'echo -n bench-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$@"' _ \
  python3 "$root/scripts/bench-desktop.py" \
  --app "$target/release/switchboard-desktop" \
  --empty "$target/release/empty-tauri" \
  --seed "$target/release/bench-desktop-seed" \
  --work "$work" --bundle-json "$work/bundle.json" "${pyargs[@]}"
