//! `bench-retention` (issue 16): the retention purge of a large backlog while webhooks keep
//! arriving, and a large export.
//!
//! The real relay (embedded SQLite) is seeded with `--messages` messages (default 1,000,000)
//! created 400 days ago and as many created 10 days ago, each with its `message.created` event,
//! over 10,000 customers. Then, with signed webhooks posted at a steady `--rate` (default 500/s)
//! throughout:
//! 1. `--baseline-seconds` of ingest alone: acknowledgement p50/p99;
//! 2. an admin sets a 90-day retention: the leader's purge removes the old half (messages and
//!    events) in small jobs; purge time and rate, and the acknowledgements during it;
//! 3. `GET /api/v1/admin/export` of everything left (the recent half and what came in): lines
//!    and messages per second, and the process's peak resident memory during the export against
//!    before it (the peak is reset first: `/proc/self/clear_refs`).
//!
//! Prints the figures last as one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use switchboard_bench::{arg, customer_text, percentile_ms};
use switchboard_protocol::api::Role;
use switchboard_relay::store::db::params;
use switchboard_testkit::Relay;
use tokio::sync::mpsc;

const NUMBER: &str = "200000000000002";
const DAY_MS: i64 = 86_400_000;
const CUSTOMERS: usize = 10_000;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

fn now_ms() -> i64 {
    switchboard_relay::store::now_ms()
}

/// Seeds `n` messages created `days_ago` days ago (ids and texts from `tag`), with events.
async fn seed(relay: &Relay, n: usize, days_ago: i64, tag: &'static str) -> anyhow::Result<()> {
    let at = now_ms() - days_ago * DAY_MS;
    // Customers and their conversations once.
    relay
        .store
        .write(move |ctx| {
            for c in 0..CUSTOMERS {
                let wa = format!("4917{c:08}");
                ctx.conn.prepare_cached(
                    "INSERT INTO contacts (wa_id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT (wa_id) DO NOTHING",
                )?
                .execute(params![wa, format!("Kundin {c}"), at])?;
                ctx.conn.prepare_cached(
                    "INSERT INTO conversations (phone_number_id, contact_id, status, last_message_at, last_message_preview, created_at, updated_at)
                     SELECT ?1, id, 'resolved', ?3, 'Vorschau', ?3, ?3 FROM contacts WHERE wa_id = ?2
                     ON CONFLICT (phone_number_id, contact_id) DO NOTHING",
                )?
                .execute(params![NUMBER, wa, at])?;
            }
            Ok(())
        })
        .await?;
    let first_conv: i64 = relay
        .store
        .read(|c| Ok(c.query_row("SELECT MIN(id) FROM conversations", (), |r| r.get(0))?))
        .await?;
    const CHUNK: usize = 20_000;
    let mut done = 0;
    while done < n {
        let take = CHUNK.min(n - done);
        let from = done;
        relay
            .store
            .write(move |ctx| {
                for i in from..from + take {
                    let conv = first_conv + (i % CUSTOMERS) as i64;
                    let text = format!("{tag} Nachricht {i}: wo ist meine Bestellung?");
                    let content = json!({"text": text}).to_string();
                    let id: i64 = ctx.conn.prepare_cached(
                        "INSERT INTO messages (conversation_id, direction, wamid, type, text, content, unsupported, created_at, updated_at)
                         VALUES (?1, 'in', ?2, 'text', ?3, ?4, 0, ?5, ?5) RETURNING id",
                    )?
                    .query_row(params![conv, format!("wamid.{tag}.{i}"), text, content, at], |r| r.get(0))?;
                    let data = json!({"id": id, "conversation_id": conv, "direction": "inbound", "text": text, "created_at": at}).to_string();
                    ctx.conn.prepare_cached(
                        "INSERT INTO events (kind, conversation_id, visible_all, visible_users, data, at) VALUES ('message.created', ?1, 1, ',', ?2, ?3)",
                    )?
                    .execute(params![conv, data, at])?;
                }
                Ok(())
            })
            .await?;
        done += take;
    }
    Ok(())
}

/// Posts webhooks at `rate` per second until `stop` says so; returns the acknowledgement
/// latencies (sorted) and how many were refused.
async fn paced(
    relay: Arc<Relay>,
    run: &'static str,
    rate: f64,
    mut stop: impl FnMut() -> bool,
) -> (Vec<Duration>, usize) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<Duration>>();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut i = 0usize;
    while !stop() {
        tick.tick().await;
        let (relay, tx) = (relay.clone(), tx.clone());
        let body = customer_text(run, i);
        i += 1;
        tokio::spawn(async move {
            let t = Instant::now();
            let ok = relay.post_webhook(&body).await.status() == 200;
            let _ = tx.send(ok.then(|| t.elapsed()));
        });
    }
    drop(tx);
    let mut lat = Vec::new();
    let mut refused = 0;
    while let Some(r) = rx.recv().await {
        match r {
            Some(d) => lat.push(d),
            None => refused += 1,
        }
    }
    lat.sort();
    (lat, refused)
}

fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn run() -> anyhow::Result<()> {
    let n: usize = arg("--messages", 1_000_000);
    let rate: f64 = arg("--rate", 500.0);
    let baseline_s: f64 = arg("--baseline-seconds", 10.0);
    let batch: usize = arg("--batch", 500);
    let relay = Arc::new(
        Relay::start_with(&switchboard_testkit::no_graph(), |c| {
            c.retention_every = Duration::from_secs(3600);
            c.retention_batch = batch;
        })
        .await,
    );
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let t = Instant::now();
    seed(&relay, n, 400, "alt").await?;
    seed(&relay, n, 10, "neu").await?;
    println!(
        "seeded {} messages and events in {:.1} s",
        2 * n,
        t.elapsed().as_secs_f64()
    );

    // 1. Ingest alone.
    let until = Instant::now() + Duration::from_secs_f64(baseline_s);
    let (base, base_refused) = paced(relay.clone(), "base", rate, || Instant::now() >= until).await;
    println!(
        "ingest alone: {} acked at {rate}/s, p50 {:.1} ms, p99 {:.1} ms",
        base.len(),
        percentile_ms(&base, 50.0),
        percentile_ms(&base, 99.0)
    );

    // 2. The purge of the old half while ingesting.
    let purge_start = Instant::now();
    let (s, r) = relay
        .put_json(
            &admin,
            &format!("/api/v1/admin/numbers/{NUMBER}/retention"),
            json!({"days": 90}),
        )
        .await;
    anyhow::ensure!(s == 200, "setting the retention: {s} {r}");
    let finished = Arc::new(std::sync::Mutex::new(None::<Duration>));
    let watcher = {
        let (relay, admin, finished) = (relay.clone(), admin.clone(), finished.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let (_, list) = relay.get(&admin, "/api/v1/admin/retention").await;
                let done = list
                    .as_array()
                    .and_then(|l| l.iter().find(|r| r["phone_number_id"] == NUMBER))
                    .is_some_and(|r| r["purged_before"].is_i64());
                if done {
                    *finished.lock().unwrap() = Some(purge_start.elapsed());
                    return;
                }
            }
        })
    };
    let f2 = finished.clone();
    let (during, during_refused) = paced(relay.clone(), "purge", rate, move || {
        f2.lock().unwrap().is_some()
    })
    .await;
    watcher.await?;
    let purge_time = finished.lock().unwrap().unwrap_or_default();
    let old_left: i64 = relay
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM messages WHERE wamid LIKE 'wamid.alt.%'",
                (),
                |r| r.get(0),
            )?)
        })
        .await?;
    anyhow::ensure!(old_left == 0, "{old_left} old messages were not purged");
    println!(
        "purge of {n} messages (and their events): {:.1} s ({:.0} msgs/s); ingest meanwhile: {} acked, p50 {:.1} ms, p99 {:.1} ms",
        purge_time.as_secs_f64(),
        n as f64 / purge_time.as_secs_f64(),
        during.len(),
        percentile_ms(&during, 50.0),
        percentile_ms(&during, 99.0)
    );

    // 3. The export of everything left.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = rss_mib("VmRSS:");
    let t = Instant::now();
    let resp = relay
        .http
        .get(relay.url("/api/v1/admin/export"))
        .bearer_auth(&admin)
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "export: {}", resp.status());
    let mut stream = resp.bytes_stream();
    let (mut lines, mut messages, mut bytes) = (0usize, 0usize, 0usize);
    let mut partial = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len();
        for &b in chunk.iter() {
            if b == b'\n' {
                lines += 1;
                let kind = br#""kind":"message""#;
                if partial.windows(kind.len()).any(|w| w == kind) {
                    messages += 1;
                }
                partial.clear();
            } else {
                partial.push(b);
            }
        }
    }
    let export_time = t.elapsed();
    let peak = rss_mib("VmHWM:");
    anyhow::ensure!(
        messages >= n,
        "the export held {messages} messages, expected at least {n}"
    );
    println!(
        "export: {lines} lines ({messages} messages, {:.0} MiB) in {:.1} s = {:.0} messages/s; resident memory {:.0} MiB before, peak {:.0} MiB during",
        bytes as f64 / 1048576.0,
        export_time.as_secs_f64(),
        messages as f64 / export_time.as_secs_f64(),
        rss_before,
        peak
    );
    println!(
        "{}",
        json!({
            "bench": "retention",
            "messages": n,
            "rate": rate,
            "ingest_alone": {"acked": base.len(), "refused": base_refused, "ack_p50_ms": percentile_ms(&base, 50.0), "ack_p99_ms": percentile_ms(&base, 99.0)},
            "purge": {"seconds": purge_time.as_secs_f64(), "msgs_per_s": n as f64 / purge_time.as_secs_f64(), "batch": batch},
            "ingest_during_purge": {"acked": during.len(), "refused": during_refused, "ack_p50_ms": percentile_ms(&during, 50.0), "ack_p99_ms": percentile_ms(&during, 99.0)},
            "ack_p99_ratio_purge_to_alone": percentile_ms(&during, 99.0) / percentile_ms(&base, 99.0),
            "export": {"lines": lines, "messages": messages, "mib": bytes as f64 / 1048576.0, "seconds": export_time.as_secs_f64(),
                       "msgs_per_s": messages as f64 / export_time.as_secs_f64(), "rss_before_mib": rss_before, "peak_rss_mib": peak,
                       "peak_growth_mib": peak - rss_before},
        })
    );
    Ok(())
}
