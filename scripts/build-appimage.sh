#!/usr/bin/env bash
# Builds the desktop app's AppImage without anything from outside the machine: our own runtime
# (crates/appimage-runtime, `switchboard-appimage-runtime`) followed by a gzip squashfs of an
# AppDir made here. Tauri's own AppImage bundler downloads linuxdeploy and AppRun from GitHub,
# which some build machines cannot reach.
#
#   scripts/build-appimage.sh [--build] [--app BINARY] [--out FILE]
#
# Packs the release binary that `tauri build` left in ${CARGO_TARGET_DIR:-target}/release (or
# --app BINARY); with --build it runs `ui/node_modules/.bin/tauri build --bundles deb` first (UI,
# release binary and .deb). Writes ${CARGO_TARGET_DIR:-target}/release/bundle/appimage/Switchboard_<version>_amd64.AppImage
# and prints its path last.
#
# A "thin" AppImage, like the .deb: it uses the system's GTK 3 and WebKitGTK 4.1 (the AppRun
# script says what to install when WebKitGTK 4.1 is missing) and bundles only libraries outside
# that stack and outside the AppImage project's exclude list (glibc and friends), normally none.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

build=0
out=""
app=""
while (($#)); do
  case "$1" in
    --build) build=1 ;;
    --out) out="$2"; shift ;;
    --app) app="$2"; shift ;;
    -h|--help) sed -n "2,17p" "$0"; exit 0 ;;
    *) echo "build-appimage: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

for tool in mksquashfs ldd python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-appimage: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

target="${CARGO_TARGET_DIR:-$root/target}"
version="$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')"
out="${out:-$target/release/bundle/appimage/Switchboard_${version}_amd64.AppImage}"
app="${app:-$target/release/switchboard-desktop}"

if [ "$build" = 1 ]; then
  echo "== tauri build --bundles deb (UI, release binary, .deb)"
  "$root/ui/node_modules/.bin/tauri" build --bundles deb
fi
[ -x "$app" ] || { echo "build-appimage: no release binary at $app (run tauri build, or pass --build)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== runtime (cargo build --release -p switchboard-appimage-runtime)"
cargo build --release --locked -p switchboard-appimage-runtime
runtime="$work/runtime"
cp "$target/release/switchboard-appimage-runtime" "$runtime"
command -v strip >/dev/null 2>&1 && strip "$runtime"
# The AppImage type 2 magic: "AI" and the type, 2, at byte 8 of the ELF header (padding of
# e_ident, ignored by the kernel and the loader).
printf 'AI\002' | dd of="$runtime" bs=1 seek=8 count=3 conv=notrunc status=none
# The squashfs must start exactly where the runtime's ELF says the runtime ends.
offset="$("$runtime" --appimage-offset)"
size="$(stat -c %s "$runtime")"
[ "$offset" = "$size" ] || { echo "build-appimage: runtime is $size bytes but its ELF header says $offset" >&2; exit 1; }

echo "== AppDir"
appdir="$work/Switchboard.AppDir"
mkdir -p "$appdir/usr/bin" "$appdir/usr/lib" "$appdir/usr/share/applications"
cp "$app" "$appdir/usr/bin/switchboard-desktop"
strip "$appdir/usr/bin/switchboard-desktop" 2>/dev/null || true

cat >"$appdir/switchboard.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Switchboard
Comment=Team inbox for WhatsApp Business
Exec=switchboard-desktop %U
Icon=switchboard
Terminal=false
Categories=Office;Network;Chat;
StartupWMClass=switchboard-desktop
X-AppImage-Version=$version
EOF
cp "$appdir/switchboard.desktop" "$appdir/usr/share/applications/switchboard.desktop"

for icon in 32x32 64x64 128x128 "128x128@2x:256x256" "icon:512x512"; do
  src="${icon%%:*}"
  size_dir="${icon##*:}"
  mkdir -p "$appdir/usr/share/icons/hicolor/$size_dir/apps"
  cp "icons/$src.png" "$appdir/usr/share/icons/hicolor/$size_dir/apps/switchboard.png"
done
cp icons/128x128@2x.png "$appdir/switchboard.png"
ln -s switchboard.png "$appdir/.DirIcon"

cat >"$appdir/AppRun" <<'EOF'
#!/bin/sh
# Entry point of the Switchboard AppImage; its runtime sets APPDIR (and APPIMAGE, ARGV0, OWD).
HERE="${APPDIR:-$(dirname "$(readlink -f "$0")")}"

# Switchboard uses the system's WebKitGTK 4.1 (this is a thin AppImage, like the .deb).
have_webkit() {
  for ldconfig in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
    if "$ldconfig" -p 2>/dev/null | grep -q 'libwebkit2gtk-4\.1\.so\.0 '; then return 0; fi
  done
  for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib /lib/x86_64-linux-gnu; do
    [ -e "$dir/libwebkit2gtk-4.1.so.0" ] && return 0
  done
  return 1
}
if ! have_webkit; then
  msg="Switchboard needs WebKitGTK 4.1 (libwebkit2gtk-4.1.so.0), which is not installed on this system.
Install it, then start Switchboard again:
  Debian, Ubuntu:  sudo apt install libwebkit2gtk-4.1-0
  Fedora:          sudo dnf install webkit2gtk4.1
  Arch Linux:      sudo pacman -S webkit2gtk-4.1
  openSUSE:        sudo zypper install libwebkit2gtk-4_1-0"
  echo "$msg" >&2
  # Started from a desktop menu there is no terminal to read that in.
  if [ ! -t 2 ]; then
    if command -v zenity >/dev/null 2>&1; then
      zenity --error --title=Switchboard --text="$msg" 2>/dev/null
    elif command -v notify-send >/dev/null 2>&1; then
      notify-send "Switchboard cannot start" "$msg" 2>/dev/null
    fi
  fi
  exit 127
fi

# Libraries bundled by scripts/build-appimage.sh (normally none) come before the system's.
if [ -n "$(ls -A "$HERE/usr/lib" 2>/dev/null)" ]; then
  export LD_LIBRARY_PATH="$HERE/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$HERE/usr/bin/switchboard-desktop" "$@"
EOF
chmod 755 "$appdir/AppRun"

# Which shared libraries to bundle. The AppImage project's exclude list leaves glibc (libc, libm,
# libdl, libpthread, librt, libresolv, libutil, the loader, NSS), libstdc++, libgcc_s and the
# graphics driver stack (libGL, libEGL, libdrm, libgbm, libxcb, libX11, fontconfig, freetype,
# harfbuzz, zlib, expat ...) to the system, since bundling them breaks on other systems. This
# AppImage also leaves GTK 3 and WebKitGTK 4.1 to the system (AppRun checks for it), and with
# them everything they load: so every library `ldd` resolves for the app is dropped when it is
# also in `ldd` of the system's libwebkit2gtk-4.1 and libgtk-3, or on the exclude list. What is
# left (e.g. libxdo, which tray/menu code links and WebKitGTK does not) is copied to usr/lib.
# Libraries loaded with dlopen (libayatana-appindicator for the tray) do not show in ldd; like
# the .deb, the AppImage uses the system's when there is one.
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
lib_path() { "$ldconfig" -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'; }
ldd_names() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $1 }'; }
stack="$work/stack.txt"
: >"$stack"
for lib in libwebkit2gtk-4.1.so.0 libgtk-3.so.0 libjavascriptcoregtk-4.1.so.0 libsoup-3.0.so.0; do
  path="$(lib_path "$lib")"
  [ -n "$path" ] || { echo "build-appimage: $lib is not installed here (scripts/setup.sh installs it)" >&2; exit 1; }
  { echo "$lib"; ldd_names "$path"; } >>"$stack"
done
excluded='^(ld-linux.*|libc|libm|libmvec|libdl|libpthread|librt|libresolv|libutil|libanl|libnss_.*|libthread_db|libBrokenLocale|libstdc\+\+|libgcc_s|libGL|libEGL|libGLX|libGLdispatch|libOpenGL|libglapi|libdrm|libgbm|libxcb|libX11|libX11-xcb|libasound|libfontconfig|libfreetype|libharfbuzz|libfribidi|libthai|libz|libexpat|libuuid|libcom_err|libgpg-error|libICE|libSM|libusb-1\.0|libgmp)\.so'
missing="$(ldd "$app" | awk '/not found/ { print $1 }')"
[ -z "$missing" ] || { echo "build-appimage: $app needs libraries this machine lacks: $missing" >&2; exit 1; }
bundled=()
while read -r lib; do
  grep -qxF "$lib" "$stack" && continue
  [[ "$lib" =~ $excluded ]] && continue
  path="$(ldd "$app" | awk -v n="$lib" '$1 == n { print $3 }')"
  cp -L "$path" "$appdir/usr/lib/$lib"
  bundled+=("$lib")
done < <(ldd_names "$app" | sort -u)
echo "bundled libraries: ${bundled[*]:-none} (the rest come from the system's glibc, GTK 3 and WebKitGTK 4.1)"

echo "== squashfs and AppImage"
mksquashfs "$appdir" "$work/app.squashfs" -comp gzip -root-owned -noappend -quiet >/dev/null
mkdir -p "$(dirname "$out")"
cat "$runtime" "$work/app.squashfs" >"$out.tmp"
chmod 755 "$out.tmp"
mv "$out.tmp" "$out"
echo "AppImage: $(stat -c %s "$out") bytes (runtime $size, squashfs $(stat -c %s "$work/app.squashfs"))"
echo "$out"
