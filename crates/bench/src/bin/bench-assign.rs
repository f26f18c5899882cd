//! Assignment benchmark: 500 agents hold live streams (which is what makes them online), and
//! customers write their first message at 500/s as signed webhooks for a fixed time. Each
//! message opens a conversation that the relay routes (least-loaded, capacity 6) in the same
//! write job; agents resolve each conversation after a handling time over HTTP, so capacity keeps
//! freeing as on a real floor.
//!
//! Measures the time from sending the webhook to the `conversation.assigned` event arriving on
//! the assigned agent's WebSocket (p50/p99/max), then checks that every conversation was
//! assigned exactly once and that no agent ever held more than their capacity (replaying the
//! relay's assignment log in order).
//!
//! `cargo run --release -p switchboard-bench --bin bench-assign -- --seconds 60 --agents 500 --rate 500`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_bench::{arg, percentile_ms};
use switchboard_protocol::api::Role;
use switchboard_protocol::signature;
use switchboard_protocol::webhook::to_meta_json;
use switchboard_relay::config::Config;
use switchboard_relay::store::{queries, Store};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SECRET: &str = "bench-secret";

fn body(i: usize) -> Vec<u8> {
    let wa = format!("4917{i:09}");
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"100000000000001","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":format!("Kunde {i}")},"wa_id":wa}],
        "messages":[{"from":wa,"id":format!("wamid.assign.{i}"),"timestamp":"1790000000","type":"text",
            "text":{"body":"Guten Tag, ich habe eine Frage zu meiner Bestellung."}}]}}]}]}),
    )
}

/// Send instants of webhook `i`, as nanoseconds since the start (0: not sent yet).
struct Clock {
    start: Instant,
    sent: Vec<std::sync::atomic::AtomicU64>,
}

impl Clock {
    fn since(&self, i: usize) -> Option<Duration> {
        let ns = self.sent.get(i)?.load(Ordering::Acquire);
        (ns > 0).then(|| {
            self.start
                .elapsed()
                .saturating_sub(Duration::from_nanos(ns))
        })
    }
}

#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    assigned: usize,
    unmatched: usize,
}

/// One agent: holds a stream; on an assignment, records the latency and resolves the
/// conversation after `handle`.
#[allow(clippy::too_many_arguments)]
async fn agent(
    ws_url: String,
    http_base: String,
    token: String,
    handle: Duration,
    clock: Arc<Clock>,
    seen: Arc<Mutex<Seen>>,
    connected: Arc<AtomicUsize>,
    http: reqwest::Client,
) {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    // Small read buffer: tungstenite zeroes the whole (default 128 KiB) buffer per read.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    let (ws, _) = match tokio_tungstenite::connect_async_with_config(req, Some(config), false).await
    {
        Ok(x) => x,
        Err(e) => {
            eprintln!("stream failed: {e}");
            return;
        }
    };
    connected.fetch_add(1, Ordering::Relaxed);
    let (mut tx, mut rx) = ws.split();
    // conversation id -> webhook index, from the message.created that precedes the assignment.
    let mut index: HashMap<i64, usize> = HashMap::new();
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
        let e: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let conv = e["conversation_id"].as_i64().unwrap_or(0);
        match e["kind"].as_str() {
            Some("message.created") => {
                if let Some(i) = e["data"]["wamid"]
                    .as_str()
                    .and_then(|w| w.strip_prefix("wamid.assign."))
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    index.insert(conv, i);
                }
            }
            Some("conversation.assigned") => {
                let lat = index.remove(&conv).and_then(|i| clock.since(i));
                {
                    let mut s = seen.lock().unwrap();
                    s.assigned += 1;
                    match lat {
                        Some(l) => s.latencies.push(l),
                        None => s.unmatched += 1,
                    }
                }
                let (http, base, token) = (http.clone(), http_base.clone(), token.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(handle).await;
                    let _ = http
                        .post(format!("{base}/api/v1/conversations/{conv}/resolve"))
                        .bearer_auth(token)
                        .send()
                        .await;
                });
            }
            _ => {}
        }
    }
}

fn main() -> anyhow::Result<()> {
    let seconds: f64 = arg("--seconds", 60.0);
    let agents: usize = arg("--agents", 500);
    let rate: f64 = arg("--rate", 500.0);
    let handle_ms: u64 = arg("--handle-ms", 3000);
    let capacity: i64 = 6; // the default of a fresh install
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let dir = tempfile::tempdir()?;
    let config = Config::for_test(dir.path(), "http://127.0.0.1:9", SECRET);
    let store = switchboard_relay::open_store(&config)?;
    let base = server_rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let st = store.clone();
        tokio::spawn(async move {
            switchboard_relay::serve_with_store(config, st, l, std::future::pending())
                .await
                .unwrap()
        });
        base
    });
    client_rt.block_on(async {
        for _ in 0..500 {
            if reqwest::get(format!("{base}/healthz"))
                .await
                .map(|r| r.status() == 200)
                .unwrap_or(false)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // Agents with tokens written straight into the store (500 argon2 logins would only measure
    // argon2).
    let tokens: Vec<String> = server_rt.block_on(store.write(move |ctx| {
        let mut out = Vec::new();
        for i in 0..agents {
            let u = queries::create_user(
                ctx.conn,
                &format!("agent{i}@example.com"),
                &format!("Agent {i}"),
                Role::Agent.as_str(),
                "not-a-hash",
                ctx.now,
            )?;
            let (token, hash) = switchboard_relay::auth::new_token();
            queries::insert_token(ctx.conn, &hash, u.id, ctx.now, ctx.now + 86_400_000)?;
            out.push(token);
        }
        Ok(out)
    }))?;

    let total = (seconds * rate).ceil() as usize;
    let clock = Arc::new(Clock {
        start: Instant::now(),
        sent: (0..total)
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
    });
    let seen = Arc::new(Mutex::new(Seen::default()));
    let connected = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let ws_url = format!("{}/api/v1/stream", base.replace("http://", "ws://"));
    let head = server_rt.block_on(store.read(switchboard_relay::store::events::head))?;
    client_rt.block_on(async {
        for t in &tokens {
            tokio::spawn(agent(
                format!("{ws_url}?after={head}"),
                base.clone(),
                t.clone(),
                Duration::from_millis(handle_ms),
                clock.clone(),
                seen.clone(),
                connected.clone(),
                http.clone(),
            ));
        }
        let t = Instant::now();
        while connected.load(Ordering::Relaxed) < agents && t.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let online = wait_online(&server_rt, &store, agents);
    println!(
        "{} agent streams open, {online} agents online",
        connected.load(Ordering::Relaxed)
    );

    // Customers: webhook i is due at start + i / rate.
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    client_rt.block_on(async {
        let url = format!("{base}/webhooks/whatsapp");
        let limit = Arc::new(tokio::sync::Semaphore::new(256));
        let mut tasks = Vec::with_capacity(total);
        for i in 0..total {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            let permit = limit.clone().acquire_owned().await.unwrap();
            let (http, url, clock, errors) =
                (http.clone(), url.clone(), clock.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let b = body(i);
                let sig = signature::sign(SECRET.as_bytes(), &b);
                clock.sent[i].store(
                    clock.start.elapsed().as_nanos().max(1) as u64,
                    Ordering::Release,
                );
                let ok = http
                    .post(&url)
                    .header("x-hub-signature-256", sig)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                    .map(|r| r.status() == 200)
                    .unwrap_or(false);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                drop(permit);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let send_elapsed = started.elapsed();
    // Let the last assignments arrive.
    client_rt.block_on(async {
        let t = Instant::now();
        while seen.lock().unwrap().assigned < total && t.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let (unassigned, conversations, over, twice) = server_rt.block_on(store.read(move |c| {
        let unassigned = queries::count(
            c,
            "conversations WHERE status = 'open' AND assignee_id IS NULL",
        )?;
        let conversations = queries::count(c, "conversations")?;
        let mut stmt = c.prepare(
            "SELECT conversation_id, from_user, to_user, reason FROM assignments ORDER BY id",
        )?;
        let mut open: HashMap<i64, i64> = HashMap::new();
        let mut times: HashMap<i64, usize> = HashMap::new();
        let mut over = 0usize;
        let rows = stmt.query_map((), |r| {
            Ok::<(i64, Option<i64>, Option<i64>, String), _>((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
        for row in rows {
            let (conv, from, to, reason) = row?;
            if reason == "resolved" {
                if let Some(f) = from {
                    *open.entry(f).or_default() -= 1;
                }
                continue;
            }
            if let Some(f) = from {
                *open.entry(f).or_default() -= 1;
            }
            if let Some(t) = to {
                let o = open.entry(t).or_default();
                *o += 1;
                if *o > capacity {
                    over += 1;
                }
                *times.entry(conv).or_default() += 1;
            }
        }
        let twice = times.values().filter(|n| **n > 1).count();
        Ok((unassigned, conversations, over, twice))
    }))?;
    let s = seen.lock().unwrap();
    let mut lat = s.latencies.clone();
    lat.sort();
    let (p50, p99, max) = (
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 99.0),
        percentile_ms(&lat, 100.0),
    );
    let achieved = total as f64 / send_elapsed.as_secs_f64();
    let all_assigned = unassigned == 0 && s.assigned == total && conversations as usize == total;
    println!(
        "{total} first messages in {:.1} s ({achieved:.0}/s), {} webhook errors; {} assignments seen on agent streams ({} unmatched)",
        send_elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed),
        s.assigned,
        s.unmatched
    );
    println!(
        "webhook sent -> assignment on the agent's WebSocket: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
    );
    println!(
        "{conversations} conversations, {unassigned} open and unassigned, {twice} assigned twice, {over} assignments over capacity {capacity}: {}",
        if all_assigned && over == 0 && twice == 0 { "OK" } else { "FAILED" }
    );
    println!(
        "{}",
        json!({
            "bench": "assign",
            "seconds": seconds,
            "agents": agents,
            "rate_target": rate,
            "rate_achieved": (achieved * 10.0).round() / 10.0,
            "messages": total,
            "webhook_errors": errors.load(Ordering::Relaxed),
            "assignments_seen": s.assigned,
            "p50_ms": (p50 * 100.0).round() / 100.0,
            "p99_ms": (p99 * 100.0).round() / 100.0,
            "max_ms": (max * 100.0).round() / 100.0,
            "all_assigned": all_assigned,
            "assigned_twice": twice,
            "over_capacity": over,
            "capacity": capacity,
            "handle_ms": handle_ms,
        })
    );
    std::process::exit(0);
}

fn wait_online(rt: &tokio::runtime::Runtime, store: &Store, agents: usize) -> i64 {
    let t = Instant::now();
    loop {
        let n = rt
            .block_on(store.read(|c| {
                queries::count(
                    c,
                    "agent_routing WHERE presence = 'online' AND routable = 1",
                )
            }))
            .unwrap_or(0);
        if n as usize >= agents || t.elapsed() > Duration::from_secs(30) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
