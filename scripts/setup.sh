#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian/Ubuntu. Idempotent: it only
# installs what is missing. Sourced by demo.sh and test.sh.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The OS keychain (Secret Service over D-Bus) used by the sync engine's CLI.
pkg-config --exists dbus-1 2>/dev/null || need_apt+=(libdbus-1-dev)

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
