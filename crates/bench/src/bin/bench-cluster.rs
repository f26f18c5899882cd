//! Cluster benchmark: ingest on one relay on embedded SQLite, one relay on PostgreSQL and three
//! relays on one PostgreSQL database, in the same run, with the same client.
//!
//! Each scenario fires signed webhooks (one text message each, 5,000 customers) from
//! `--connections` concurrent loopback clients for `--seconds`, spread round-robin over the
//! scenario's relays, while a supervisor holds one live stream on every relay. It reports
//! acknowledged messages/s, acknowledgement p50/p99, and the time from sending a webhook to its
//! `message.created` frame on each stream (p50/p99; on three relays separately for frames on a
//! relay other than the one that took the webhook: the cross-instance fan-out through
//! PostgreSQL). Then it checks the counts are exact: the database holds exactly the acknowledged
//! messages, nothing is left unapplied, and every stream received every acknowledged message.
//!
//! Where the time goes on PostgreSQL: a sampler reads `pg_stat_activity` every 10 ms and reports
//! how many of the relays' connections were, on average, running a statement, waiting for the
//! cluster write lock (one write batch at a time over all relays, which keeps `seq` in commit
//! order) or idle inside a transaction; and the CPU seconds of the PostgreSQL server processes
//! serving the relays beside those of this process (relays and load generator).
//!
//! Needs PostgreSQL: `SWITCHBOARD_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each scenario gets a fresh schema.
//!
//! `cargo run --release -p switchboard-bench --bin bench-cluster -- --seconds 10 --connections 64`

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_bench::{arg, percentile_ms, start_relay, BenchRelay};
use switchboard_protocol::api::Role;
use switchboard_relay::config::{DatabaseUrl, Secret};
use switchboard_relay::store::queries;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECRET: &str = "bench-secret";

/// When webhook `i` was sent (ns since `start`, 0: not yet) and to which relay.
struct Sent {
    start: Instant,
    at: Vec<AtomicU64>,
    to: Vec<AtomicUsize>,
}

impl Sent {
    fn new(cap: usize) -> Sent {
        Sent {
            start: Instant::now(),
            at: (0..cap).map(|_| AtomicU64::new(0)).collect(),
            to: (0..cap).map(|_| AtomicUsize::new(usize::MAX)).collect(),
        }
    }
    fn mark(&self, i: usize, relay: usize) {
        self.to[i].store(relay, Ordering::Release);
        self.at[i].store(
            self.start.elapsed().as_nanos().max(1) as u64,
            Ordering::Release,
        );
    }
    /// Time since webhook `i` was sent, and the relay it went to.
    fn since(&self, i: usize) -> Option<(Duration, usize)> {
        let ns = self.at.get(i)?.load(Ordering::Acquire);
        (ns > 0).then(|| {
            (
                self.start
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(ns)),
                self.to[i].load(Ordering::Acquire),
            )
        })
    }
}

#[derive(Default)]
struct Frames {
    same: Vec<Duration>,
    cross: Vec<Duration>,
    /// Frames received per stream.
    per_stream: Vec<usize>,
}

/// A supervisor's stream on relay `relay`: records each of this run's `message.created` frames.
async fn watch(
    ws_url: String,
    token: String,
    relay: usize,
    run: &'static str,
    sent: Arc<Sent>,
    frames: Arc<Mutex<Frames>>,
    ready: Arc<AtomicUsize>,
) {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = match tokio_tungstenite::connect_async(req).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("stream to relay {relay} failed: {e}");
            return;
        }
    };
    ready.fetch_add(1, Ordering::SeqCst);
    let (mut tx, mut rx) = ws.split();
    let prefix = format!("wamid.{run}.");
    while let Some(Ok(msg)) = rx.next().await {
        let text = match msg {
            WsMessage::Text(t) => t,
            WsMessage::Ping(p) => {
                let _ = tx.send(WsMessage::Pong(p)).await;
                continue;
            }
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(e) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if e["kind"] != "message.created" {
            continue;
        }
        let Some(i) = e["data"]["wamid"]
            .as_str()
            .and_then(|w| w.strip_prefix(&prefix))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if let Some((lat, to)) = sent.since(i) {
            let mut f = frames.lock().unwrap();
            f.per_stream[relay] += 1;
            if to == relay {
                f.same.push(lat);
            } else {
                f.cross.push(lat);
            }
        }
    }
}

/// How the relays' PostgreSQL connections spent the run, from `pg_stat_activity` samples.
#[derive(Default)]
struct Activity {
    samples: usize,
    running: usize,
    lock_wait: usize,
    idle_in_tx: usize,
    /// CPU ticks of the server processes serving the relays, by process id: first and last seen
    /// (connections of an earlier scenario stay open; only what they spend now counts).
    ticks: HashMap<i32, (u64, u64)>,
}

fn proc_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Samples every 10 ms until `stop`; runs on its own thread with its own connection.
fn sample(url: String, stop: Arc<std::sync::atomic::AtomicBool>) -> Activity {
    let mut a = Activity::default();
    let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) else {
        return a;
    };
    let app = format!("switchboard-relay/{}", std::process::id());
    while !stop.load(Ordering::SeqCst) {
        if let Ok(rows) = client.query(
            "SELECT pid, COALESCE(state, ''), COALESCE(wait_event, '') FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        ) {
            a.samples += 1;
            for r in rows {
                let (pid, state, wait): (i32, String, String) = (r.get(0), r.get(1), r.get(2));
                if wait == "advisory" {
                    a.lock_wait += 1;
                } else if state == "active" {
                    a.running += 1;
                } else if state.starts_with("idle in transaction") {
                    a.idle_in_tx += 1;
                }
                if let Some(t) = proc_ticks(pid) {
                    a.ticks.entry(pid).or_insert((t, t)).1 = t;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    a
}

fn self_ticks() -> u64 {
    proc_ticks(std::process::id() as i32).unwrap_or(0)
}

fn ticks_per_s() -> f64 {
    // The kernel's USER_HZ; 100 on every Linux this runs on.
    100.0
}

struct Outcome {
    figures: Value,
    exact: bool,
}

/// One scenario: `n` relays (`pg`: on a fresh PostgreSQL schema; otherwise one relay on SQLite).
fn scenario(
    name: &'static str,
    pg: Option<&str>,
    n: usize,
    seconds: f64,
    connections: usize,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Outcome> {
    let url = pg.map(switchboard_testkit::fresh_pg_schema);
    let mut relays: Vec<BenchRelay> = Vec::new();
    for _ in 0..n {
        let url = url.clone();
        relays.push(
            server_rt.block_on(start_relay("http://127.0.0.1:9", SECRET, move |c| {
                if let Some(u) = url {
                    c.database = DatabaseUrl::Postgres(Secret::new(u));
                }
            }))?,
        );
    }
    let store = relays[0].store.clone();
    let token: String = server_rt.block_on(store.write(|ctx| {
        let u = queries::create_user(
            ctx.conn,
            "sup@example.com",
            "Supervisor",
            Role::Supervisor.as_str(),
            "not-a-hash",
            ctx.now,
        )?;
        let (token, hash) = switchboard_relay::auth::new_token();
        queries::insert_token(ctx.conn, &hash, u.id, ctx.now, ctx.now + 86_400_000)?;
        Ok(token)
    }))?;
    let head = server_rt.block_on(store.read(switchboard_relay::store::events::head))?;

    let cap = (seconds * 60_000.0) as usize + 1000;
    let sent = Arc::new(Sent::new(cap));
    let frames = Arc::new(Mutex::new(Frames {
        per_stream: vec![0; n],
        ..Frames::default()
    }));
    let ready = Arc::new(AtomicUsize::new(0));
    client_rt.block_on(async {
        for (k, r) in relays.iter().enumerate() {
            tokio::spawn(watch(
                format!(
                    "{}/api/v1/stream?after={head}",
                    r.base.replace("http://", "ws://")
                ),
                token.clone(),
                k,
                name,
                sent.clone(),
                frames.clone(),
                ready.clone(),
            ));
        }
        let t = Instant::now();
        while ready.load(Ordering::SeqCst) < n && t.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let stop_sampling = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = url.clone().map(|u| {
        let stop = stop_sampling.clone();
        std::thread::spawn(move || sample(u, stop))
    });
    let cpu_before = self_ticks();

    // The load.
    let urls: Vec<String> = relays
        .iter()
        .map(|r| format!("{}/webhooks/whatsapp", r.base))
        .collect();
    let marks = sent.clone();
    let load = client_rt.block_on(switchboard_bench::fire(
        urls,
        SECRET,
        seconds,
        connections,
        cap,
        Arc::new(move |i| switchboard_bench::customer_text(name, i)),
        Arc::new(move |i, to| marks.mark(i, to)),
    ));
    let elapsed = load.elapsed;
    let cpu_self_s = (self_ticks() - cpu_before) as f64 / ticks_per_s();
    stop_sampling.store(true, Ordering::SeqCst);
    let activity = sampler
        .map(|s| s.join().unwrap_or_default())
        .unwrap_or_default();
    let (acked, errors, acks) = (load.acked, load.errors, load.latencies);

    // Every stream gets every acknowledged message (wait for the last frames).
    client_rt.block_on(async {
        let t = Instant::now();
        while frames.lock().unwrap().per_stream.iter().any(|&c| c < acked)
            && t.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let stored: i64 = server_rt.block_on(store.read(|c| queries::count(c, "messages")))?;
    let pending: i64 = server_rt
        .block_on(store.read(|c| queries::count(c, "webhook_inbox WHERE state <> 'processed'")))?;
    let mut f = std::mem::take(&mut *frames.lock().unwrap());
    f.same.sort();
    f.cross.sort();
    let mut all: Vec<Duration> = f.same.iter().chain(f.cross.iter()).copied().collect();
    all.sort();
    let frames_exact = f.per_stream.iter().all(|&c| c == acked);
    let exact = stored as usize == acked && pending == 0 && frames_exact && errors == 0;
    let rate = acked as f64 / elapsed.as_secs_f64();
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let per = |v: usize| {
        if activity.samples == 0 {
            Value::Null
        } else {
            json!(r2(v as f64 / activity.samples as f64))
        }
    };
    let pg_cpu_s = activity
        .ticks
        .values()
        .map(|(first, last)| last - first)
        .sum::<u64>() as f64
        / ticks_per_s();
    println!(
        "{name}: {n} relay(s), {acked} acknowledged in {:.1} s = {rate:.0} msg/s, ack p50 {:.2} ms, p99 {:.2} ms; frame p50 {:.2} ms, p99 {:.2} ms (cross-relay p99 {:.2} ms over {} frames); {errors} errors; stored {stored}, unapplied {pending}, frames per stream {:?}: {}",
        elapsed.as_secs_f64(),
        percentile_ms(&acks, 50.0),
        percentile_ms(&acks, 99.0),
        percentile_ms(&all, 50.0),
        percentile_ms(&all, 99.0),
        percentile_ms(&f.cross, 99.0),
        f.cross.len(),
        f.per_stream,
        if exact { "exact" } else { "MISMATCH" }
    );
    if activity.samples > 0 {
        println!(
            "{name}: relays' database connections on average: {} running a statement, {} waiting for the write lock, {} idle in a transaction; PostgreSQL CPU {pg_cpu_s:.1} s, this process (relays + load) {cpu_self_s:.1} s, wall {:.1} s",
            r2(activity.running as f64 / activity.samples as f64),
            r2(activity.lock_wait as f64 / activity.samples as f64),
            r2(activity.idle_in_tx as f64 / activity.samples as f64),
            elapsed.as_secs_f64()
        );
    }
    for r in &relays {
        r.store.close();
    }
    // With SWITCHBOARD_PG_PROFILE set: where the relays' database time went, by statement.
    let profile = switchboard_relay::store::db::pg::profile::take();
    if !profile.is_empty() {
        let total: Duration = profile.iter().map(|p| p.2).sum();
        println!(
            "{name}: {:.1} s in PostgreSQL calls; the top statements:",
            total.as_secs_f64()
        );
        for (sql, calls, time) in profile.iter().take(12) {
            let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            println!(
                "  {:>6.0} ms {:>7} calls {:>6.0} µs/call  {}",
                time.as_secs_f64() * 1000.0,
                calls,
                time.as_secs_f64() * 1e6 / *calls as f64,
                one_line.chars().take(110).collect::<String>()
            );
        }
    }
    let nan_null = |v: f64| {
        if v.is_nan() {
            Value::Null
        } else {
            json!(r2(v))
        }
    };
    Ok(Outcome {
        figures: json!({
            "relays": n,
            "acked": acked,
            "errors": errors,
            "msgs_per_s": rate.round(),
            "ack_p50_ms": r2(percentile_ms(&acks, 50.0)),
            "ack_p99_ms": r2(percentile_ms(&acks, 99.0)),
            "frame_p50_ms": nan_null(percentile_ms(&all, 50.0)),
            "frame_p99_ms": nan_null(percentile_ms(&all, 99.0)),
            "cross_frame_p99_ms": nan_null(percentile_ms(&f.cross, 99.0)),
            "exact": exact,
            "db_running_avg": per(activity.running),
            "db_lock_wait_avg": per(activity.lock_wait),
            "db_idle_in_tx_avg": per(activity.idle_in_tx),
            "pg_cpu_s": if activity.samples > 0 { json!(r2(pg_cpu_s)) } else { Value::Null },
            "process_cpu_s": r2(cpu_self_s),
        }),
        exact,
    })
}

fn main() -> anyhow::Result<()> {
    let seconds: f64 = arg("--seconds", 10.0);
    let connections: usize = arg("--connections", 64);
    let pg = std::env::var("SWITCHBOARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // `--only pg1` (or sqlite1, pg3) runs one scenario, e.g. to profile it.
    let only: String = arg("--only", String::new());
    let run = |name: &'static str, pg: Option<&str>, n: usize| -> anyhow::Result<Outcome> {
        if !only.is_empty() && only != name {
            return Ok(Outcome {
                figures: Value::Null,
                exact: true,
            });
        }
        scenario(name, pg, n, seconds, connections, &server_rt, &client_rt)
    };
    let sqlite = run("sqlite1", None, 1)?;
    let pg1 = run("pg1", Some(&pg), 1)?;
    let pg3 = run("pg3", Some(&pg), 3)?;
    let rate = |o: &Outcome| o.figures["msgs_per_s"].as_f64().unwrap_or(0.0);
    let ratio = |a: f64, b: f64| ((a / b) * 1000.0).round() / 1000.0;
    let exact = sqlite.exact && pg1.exact && pg3.exact;
    println!(
        "{}",
        json!({
            "bench": "cluster",
            "seconds": seconds,
            "connections": connections,
            "sqlite_1": sqlite.figures,
            "pg_1": pg1.figures,
            "pg_3": pg3.figures,
            "ratio_pg3_to_pg1": ratio(rate(&pg3), rate(&pg1)),
            "ratio_pg3_to_sqlite": ratio(rate(&pg3), rate(&sqlite)),
            "exact": exact,
            "durability": "SQLite synchronous=FULL; PostgreSQL synchronous_commit as the server sets it",
        })
    );
    if !exact {
        anyhow::bail!("counts are not exact (see the lines above)");
    }
    Ok(())
}
