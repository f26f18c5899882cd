#!/usr/bin/env bash
# Inside the private D-Bus session of run.sh: unlock gnome-keyring (the OS keychain), record
# every desktop notification (line-buffered, so the tests read it live), run the tests.
set -euo pipefail
echo -n e2e-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
stdbuf -oL dbus-monitor "interface='org.freedesktop.Notifications',member='Notify'" >"$E2E_NOTIFY_LOG" 2>&1 &
mon=$!
# Method returns (the notification server's ids for those calls), to click a notification.
stdbuf -oL dbus-monitor "type='method_return'" >"$E2E_NOTIFY_LOG.returns" 2>&1 &
mon2=$!
rc=0
node ui/e2e/desktop.mjs || rc=$?
cp "$E2E_NOTIFY_LOG" artifacts/desktop/notifications.log 2>/dev/null || true
kill "$mon" "$mon2" 2>/dev/null || true
exit "$rc"
