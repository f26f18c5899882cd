//! Auto-reply latency: from the moment a customer's question is posted to the relay's webhook to
//! the moment the simulator's Graph API accepts the relay's answer, while the relay ingests a
//! steady background load of other messages.
//!
//! Baseline in the same run: the same measurement with no background load.
//! Four business numbers are used so the per-number send rate (default 80/min) is never what is
//! measured.
//!
//! `cargo run --release -p switchboard-bench --bin bench-autoreply -- --seconds 30 --background 500`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use switchboard_bench::{arg, percentile_ms};
use switchboard_protocol::api::Role;
use switchboard_protocol::signature;
use switchboard_protocol::webhook::to_meta_json;
use switchboard_relay::config::NumberConfig;
use switchboard_sim::{SimConfig, SimNumber, Simulator};

const SECRET: &str = "bench-secret";
const NUMBERS: [&str; 4] = [
    "300000000000001",
    "300000000000002",
    "300000000000003",
    "300000000000004",
];

fn body(pnid: &str, wa: &str, wamid: &str, text: &str) -> Vec<u8> {
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"100000000000001","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":pnid},
        "contacts":[{"profile":{"name":"Kunde"},"wa_id":wa}],
        "messages":[{"from":wa,"id":wamid,"timestamp":SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs().to_string(),
            "type":"text","text":{"body":text}}]}}]}]}),
    )
}

async fn post(http: &reqwest::Client, url: &str, b: Vec<u8>) -> bool {
    let sig = signature::sign(SECRET.as_bytes(), &b);
    matches!(http.post(url).header("x-hub-signature-256", sig).body(b).send().await, Ok(r) if r.status() == 200)
}

/// Fires `count` questions, one every `every`, cycling over the numbers; returns when each was posted.
async fn questions(
    http: &reqwest::Client,
    url: &str,
    tag: &str,
    count: usize,
    every: Duration,
) -> HashMap<String, SystemTime> {
    let mut posted = HashMap::new();
    let mut tick = tokio::time::interval(every);
    for i in 0..count {
        tick.tick().await;
        let wa = format!("4915{}{:06}", if tag == "idle" { 8 } else { 9 }, i);
        let t0 = SystemTime::now();
        if post(
            http,
            url,
            body(
                NUMBERS[i % 4],
                &wa,
                &format!("wamid.q.{tag}.{i}"),
                "Hallo, was kostet das? Preis bitte",
            ),
        )
        .await
        {
            posted.insert(format!("+{wa}"), t0);
        }
    }
    posted
}

fn main() -> anyhow::Result<()> {
    let seconds: f64 = arg("--seconds", 30.0);
    let background: usize = arg("--background", 500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut sim_cfg = SimConfig::new("", SECRET);
        sim_cfg.phone_numbers = NUMBERS.iter().map(|n| SimNumber::new(*n, "15550001111", "100000000000001")).collect();
        let sim = Simulator::start(sim_cfg, tokio::net::TcpListener::bind("127.0.0.1:0").await?).await?;
        let relay = switchboard_bench::start_relay(&sim.base_url(), SECRET, |config| {
            config.numbers = NUMBERS
                .iter()
                .map(|n| NumberConfig {
                    phone_number_id: n.to_string(),
                    display_phone_number: "15550001111".into(),
                    name: format!("Nummer {n}"),
                    waba_id: None,
                })
                .collect();
        })
        .await?;
        let (store, base) = (relay.store.clone(), relay.base.clone());
        sim.set_webhook_url(&format!("{base}/webhooks/whatsapp"));
        let http = reqwest::Client::new();
        let hash = switchboard_relay::auth::hash_password("bench-password").map_err(anyhow::Error::msg)?;
        store
            .write(move |ctx| switchboard_relay::store::queries::create_user(ctx.conn, "admin@bench", "Admin", Role::Admin.as_str(), &hash, ctx.now))
            .await?;
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "admin@bench", "password": "bench-password"}))
            .send()
            .await?
            .json()
            .await?;
        let token = login["token"].as_str().unwrap_or_default().to_string();
        for n in NUMBERS {
            let r = http
                .post(format!("{base}/api/v1/admin/auto-replies"))
                .bearer_auth(&token)
                .json(&json!({"phone_number_id": n, "name": "Preise", "keywords": ["Preis", "was kostet"], "match": "any",
                              "reply": {"text": "Unsere Preise: example.com/preise"}, "cooldown_seconds": 3600}))
                .send()
                .await?;
            anyhow::ensure!(r.status() == 201, "creating the rule failed: {}", r.text().await?);
        }
        let url = format!("{base}/webhooks/whatsapp");

        // Baseline: questions with nothing else going on.
        let idle = questions(&http, &url, "idle", 40, Duration::from_millis(250)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;

        // Under load: background messages at `background`/s from other customers.
        let acked = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut bg = Vec::new();
        let per_task = background / 10;
        for t in 0..10 {
            let (http, url, acked, stop) = (http.clone(), url.clone(), acked.clone(), stop.clone());
            bg.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_task.max(1) as f64));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let wa = format!("4917{t}{:06}", i % 2000);
                    if post(&http, &url, body(NUMBERS[i % 4], &wa, &format!("wamid.bg.{t}.{i}"), "Danke, alles gut angekommen")).await {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            }));
        }
        let load_start = Instant::now();
        let loaded = questions(&http, &url, "load", (seconds * 4.0) as usize, Duration::from_millis(250)).await;
        stop.store(true, Ordering::Relaxed);
        for b in bg {
            let _ = b.await;
        }
        let bg_rate = acked.load(Ordering::Relaxed) as f64 / load_start.elapsed().as_secs_f64();
        // Let the last answers go out.
        let expected = idle.len() + loaded.len();
        for _ in 0..200 {
            if sim.sent().await.len() >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent = sim.sent().await;
        let at: HashMap<String, SystemTime> = sent.iter().map(|s| (s.to.clone(), s.at)).collect();
        let lat = |posted: &HashMap<String, SystemTime>| {
            let mut v: Vec<Duration> = posted.iter().filter_map(|(to, t0)| at.get(to).and_then(|a| a.duration_since(*t0).ok())).collect();
            v.sort();
            v
        };
        let (li, ll) = (lat(&idle), lat(&loaded));
        let missing = expected - li.len() - ll.len();
        println!(
            "idle: {} answers, p50 {:.1} ms, p99 {:.1} ms; under {:.0} msg/s background: {} answers, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} unanswered",
            li.len(), percentile_ms(&li, 50.0), percentile_ms(&li, 99.0), bg_rate, ll.len(), percentile_ms(&ll, 50.0), percentile_ms(&ll, 99.0), percentile_ms(&ll, 100.0), missing
        );
        let r2 = |x: f64| (x * 100.0).round() / 100.0;
        println!(
            "{}",
            json!({
                "bench": "autoreply", "seconds": seconds, "background_target_per_s": background, "background_achieved_per_s": bg_rate.round(),
                "answers": ll.len(), "unanswered": missing,
                "p50_ms": r2(percentile_ms(&ll, 50.0)), "p99_ms": r2(percentile_ms(&ll, 99.0)), "max_ms": r2(percentile_ms(&ll, 100.0)),
                "baseline_idle_p50_ms": r2(percentile_ms(&li, 50.0)), "baseline_idle_p99_ms": r2(percentile_ms(&li, 99.0)),
                "target": "p99 < 100 ms while ingesting 500 msg/s",
            })
        );
        store.close();
        anyhow::Ok(())
    })
}
