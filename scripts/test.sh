#!/usr/bin/env bash
# Runs every test of the workspace: formatting, unit, integration (real relay + real simulator on
# loopback), the process-level crash test and the fuzz seed corpus.
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

echo "== cargo test (workspace)"
cargo test --workspace --all-targets --locked
