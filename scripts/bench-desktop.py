#!/usr/bin/env python3
"""Measures the desktop app beside an empty Tauri 2 app (the baseline), in the same run.

Run by scripts/bench-desktop.sh inside a private X server and D-Bus session (gnome-keyring
unlocked); see docs/benchmarks.md. Both apps print `SWITCHBOARD_BENCH_READY unix_ms=... rows=...`
on stdout: the empty app once its blank page has painted its first frame, the real app once its
inbox has painted its first conversation rows (ui/src/Inbox.tsx). Cold start is from just before
the process is spawned to that line. Idle memory is PSS summed over the app and every process it
started (WebKitWebProcess, WebKitNetworkProcess, ...), read from /proc/PID/smaps_rollup after
--idle seconds on the inbox (or the blank page), at a moment when no other WebKit-based process
runs on the machine (they share the big libraries, which PSS splits with them).

Prints readable lines and then one JSON line, last.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

MARK = re.compile(r"SWITCHBOARD_BENCH_READY unix_ms=([0-9.]+) rows=([0-9]+)")


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def foreign_webviews(ours):
    """Other WebKit-based processes on the machine (another app, a WebDriver session). They map
    the same large libraries (WebKitGTK, JavaScriptCore, GTK), which PSS then splits with them:
    one running elsewhere lowers the measured PSS by tens of MiB."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in ours:
            c = comm(int(d))
            if c.startswith("WebKit") or c in ("switchboard-des", "empty-tauri"):
                out.append(int(d))
    return out


def quiet_moment(ours, wait_s):
    """Waits up to wait_s for no foreign WebKit process; returns how many remain."""
    deadline = time.time() + wait_s
    while True:
        n = len(foreign_webviews(ours))
        if n == 0 or time.time() >= deadline:
            return n
        time.sleep(0.5)


def kill_tree(proc):
    pids = tree(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    # The WebKit helpers leave when their parent does; give them a moment, then make sure.
    deadline = time.time() + 5
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") and comm(p) != "?" for p in pids[1:]):
        time.sleep(0.05)
    for p in pids[1:]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Run:
    """One start of an app: waits for its ready line."""

    def __init__(self, binary, env, mode, timeout):
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [binary],
            env={**env, "SWITCHBOARD_BENCH_READY": mode},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.ready = threading.Event()
        self.ready_ms = None
        self.rows = None
        self.stderr = []
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        if not self.ready.wait(timeout):
            kill_tree(self.proc)
            tail = "".join(self.stderr[-15:])
            raise SystemExit(f"{binary} did not report ready within {timeout} s; its stderr ends:\n{tail}")

    def _out(self):
        for line in self.proc.stdout:
            m = MARK.search(line)
            if m and not self.ready.is_set():
                self.ready_ms = float(m.group(1)) - self.t0 * 1000.0
                self.rows = int(m.group(2))
                self.ready.set()

    def _err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            del self.stderr[:-200]

    def finish(self):
        """Lets an `exit`-mode run end by itself (or ends it)."""
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_tree(self.proc)


def median(xs):
    return round(statistics.median(xs), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--empty", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--conversations", type=int, default=10000)
    ap.add_argument("--messages", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--memory-runs", type=int, default=3)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--quiet-wait", type=float, default=180.0, help="seconds to wait for other WebKit processes to end before a PSS sample")
    ap.add_argument("--bundle-json", required=True)
    ap.add_argument("--smaps-dir", help="diagnosis: copy /proc/PID/smaps of every measured process here")
    a = ap.parse_args()

    home = os.path.join(a.work, "switchboard-home")
    env = {**os.environ, "SWITCHBOARD_HOME": home, "SWITCHBOARD_LOG": "warn"}
    subprocess.run(
        [a.seed, "--home", home, "--conversations", str(a.conversations), "--messages", str(a.messages)],
        env=env,
        check=True,
    )
    # How the app will paint (src-tauri/src/rendering.rs: on the CPU where no DRM render node
    # exists, unless told otherwise). Where it paints on the CPU, the empty app is measured a
    # second time painting the same way ("empty_cpu"), so the ratio can be read both ways: against
    # the empty app as it comes, and against the same webview set up the same way.
    webkit_vars = ("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER", "WEBKIT_FORCE_COMPOSITING_MODE")
    setting = os.environ.get("SWITCHBOARD_RENDERING", "auto").strip().lower()
    render_node = any(n.startswith("renderD") for n in (os.listdir("/dev/dri") if os.path.isdir("/dev/dri") else []))
    if any(v in os.environ for v in webkit_vars):
        painting = "as the WebKit variables set for both apps say"
    elif setting == "gpu" or (setting != "cpu" and render_node):
        painting = "webkit default (GPU)"
    else:
        painting = "cpu" + ("" if setting == "cpu" else " (no DRM render node on this machine)")
    apps = {"empty": (a.empty, env), "app": (a.app, env)}
    if painting.startswith("cpu"):
        apps["empty_cpu"] = (a.empty, {**env, "WEBKIT_SKIA_ENABLE_CPU_RENDERING": "1"})
    print(f"app paints: {painting}", flush=True)

    # Cold start, alternating the two apps. The first start of each also warms the page cache;
    # every start counts (the median absorbs it).
    starts = {name: [] for name in apps}
    rows = None
    for i in range(a.runs):
        for name in apps:
            r = Run(*apps[name], "exit", a.timeout)
            r.finish()
            starts[name].append(r.ready_ms)
            if name == "app":
                rows = r.rows
                if r.rows < 1:
                    raise SystemExit("the app reported ready without rows")
            print(f"start {i + 1}/{a.runs} {name:9}: {r.ready_ms:7.1f} ms" + (f" ({r.rows} rows in the list)" if name == "app" else ""), flush=True)

    # Idle memory: PSS over the process tree, after --idle seconds.
    pss = {name: [] for name in apps}
    detail = {}
    foreign_seen = []
    for i in range(a.memory_runs):
        for name in apps:
            r = Run(*apps[name], "1", a.timeout)
            time.sleep(a.idle)
            foreign = quiet_moment(set(tree(r.proc.pid)), a.quiet_wait)
            foreign_seen.append(foreign)
            procs = [(p, comm(p), pss_kib(p)) for p in tree(r.proc.pid)]
            procs = [x for x in procs if x[2] is not None]
            total = sum(x[2] for x in procs)
            if a.smaps_dir:
                os.makedirs(a.smaps_dir, exist_ok=True)
                for p, c, _ in procs:
                    try:
                        with open(f"/proc/{p}/smaps") as src, open(os.path.join(a.smaps_dir, f"{name}-{i + 1}-{c}.smaps"), "w") as dst:
                            dst.write(src.read())
                    except OSError:
                        pass
            kill_tree(r.proc)
            pss[name].append(total / 1024.0)
            detail[name] = {c: round(k / 1024.0, 1) for _, c, k in procs}
            parts = ", ".join(f"{c} {k / 1024.0:.1f}" for _, c, k in procs)
            note = f"; {foreign} other WebKit processes on the machine, PSS understated" if foreign else ""
            print(f"idle PSS {i + 1}/{a.memory_runs} {name:9}: {total / 1024.0:6.1f} MiB over {len(procs)} processes ({parts}{note})", flush=True)

    with open(a.bundle_json) as f:
        bundle = json.load(f)

    start_app, start_empty = median(starts["app"]), median(starts["empty"])
    pss_app, pss_empty = median(pss["app"]), median(pss["empty"])
    out = {
        "bench": "desktop",
        "conversations": a.conversations,
        "messages": a.conversations * a.messages,
        "rows_in_list": rows,
        "runs": a.runs,
        "start_ms_median": start_app,
        "empty_first_paint_ms_median": start_empty,
        "start_minus_empty_ms": round(start_app - start_empty, 1),
        "start_ms_all": [round(x, 1) for x in starts["app"]],
        "empty_ms_all": [round(x, 1) for x in starts["empty"]],
        "memory_runs": a.memory_runs,
        "idle_s": a.idle,
        "pss_mib_median": pss_app,
        "empty_pss_mib_median": pss_empty,
        "pss_ratio": round(pss_app / pss_empty, 2),
        "pss_samples_with_other_webkit_running": sum(1 for n in foreign_seen if n),
        "pss_mib_by_process": detail.get("app"),
        "empty_pss_mib_by_process": detail.get("empty"),
        "app_painting": painting,
        **bundle,
        "load_average": round(os.getloadavg()[0], 1),
        "target": "start within 500 ms of the empty app; PSS <= 1.3x the empty app; .deb < 15 MB",
    }
    if "empty_cpu" in apps:
        out["empty_cpu_first_paint_ms_median"] = median(starts["empty_cpu"])
        out["empty_cpu_pss_mib_median"] = median(pss["empty_cpu"])
        out["pss_ratio_same_painting"] = round(pss_app / out["empty_cpu_pss_mib_median"], 2)
        out["empty_cpu_pss_mib_by_process"] = detail.get("empty_cpu")
    print()
    print(f"cold start to a usable inbox ({a.conversations} conversations): median {start_app} ms; empty app's first paint {start_empty} ms; difference {out['start_minus_empty_ms']} ms (target <= 500 ms)")
    print(f"idle PSS: {pss_app} MiB vs. empty app {pss_empty} MiB = {out['pss_ratio']}x (target <= 1.3x)")
    if "empty_cpu" in apps:
        print(f"idle PSS against the empty app also painting on the CPU: {pss_app} MiB vs. {out['empty_cpu_pss_mib_median']} MiB = {out['pss_ratio_same_painting']}x")
    print(f".deb: {bundle.get('deb_mib')} MiB (target < 15 MB); AppImage: {bundle.get('appimage_mib')} MiB" + (f" ({bundle.get('appimage_note')})" if bundle.get("appimage_note") else ""))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
