//! Shared pieces of the benchmark binaries: percentile maths and the JSON result line.
//!
//! Every benchmark prints human-readable lines first and its figures last, as one JSON line
//! (`{"bench":"...",...}`), and measures a baseline in the same run where one exists, because the
//! machine is shared and noisy: ratios hold, absolute times drift.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_protocol::signature;

use switchboard_relay::config::Config;
use switchboard_relay::store::Store;

/// A relay serving in this process (on the current tokio runtime) from a temporary directory.
pub struct BenchRelay {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub store: Store,
    _dir: tempfile::TempDir,
}

/// Starts the real relay on a loopback port chosen now, with `Config::for_test` adjusted by
/// `tweak`, and waits until it answers `/healthz`.
pub async fn start_relay(
    graph_url: &str,
    secret: &str,
    tweak: impl FnOnce(&mut Config),
) -> anyhow::Result<BenchRelay> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_test(dir.path(), graph_url, secret);
    tweak(&mut config);
    let store = switchboard_relay::open_store(&config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let st = store.clone();
    tokio::spawn(async move {
        if let Err(e) =
            switchboard_relay::serve_with_store(config, st, listener, std::future::pending()).await
        {
            eprintln!("relay stopped: {e}");
        }
    });
    let http = reqwest::Client::new();
    for _ in 0..500 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
        {
            return Ok(BenchRelay {
                base,
                store,
                _dir: dir,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("the relay did not become healthy")
}

/// Webhook `i` of run `run`: one text message from one of 5,000 customers to the simulator's
/// number, in Meta's JSON (wamid `wamid.{run}.{i}`).
pub fn customer_text(run: &str, i: usize) -> Vec<u8> {
    let wa = format!("49151{:07}", i % 5000);
    switchboard_protocol::webhook::to_meta_json(
        &serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"100000000000001","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":format!("Kundin {}", i % 5000)},"wa_id":wa,"user_id":format!("DE.{}", i % 5000)}],
        "messages":[{"from":wa,"id":format!("wamid.{run}.{i}"),"timestamp":"1790000000","type":"text",
            "text":{"body":format!("Guten Tag, wo ist meine Bestellung Nummer {i}? Vielen Dank!")}}]}}]}]}),
    )
}

/// What [`fire`] measured.
pub struct Load {
    pub acked: usize,
    pub errors: usize,
    /// Acknowledgement latencies, sorted.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

/// Fires signed webhooks from `connections` concurrent clients for `seconds` (or until `cap`
/// bodies): body `i` is `body(i)`, signed with `secret`, posted to `urls[i % urls.len()]`;
/// `sent(i, url_index)` is called just before it goes. A 200 counts as acknowledged.
pub async fn fire(
    urls: Vec<String>,
    secret: &'static str,
    seconds: f64,
    connections: usize,
    cap: usize,
    body: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
    sent: Arc<dyn Fn(usize, usize) + Send + Sync>,
) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("http client");
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new((0usize, 0usize, Vec::new())));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (http, urls, next, results, body, sent) = (
            http.clone(),
            urls.clone(),
            next.clone(),
            results.clone(),
            body.clone(),
            sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut err, mut lat) = (0, 0, Vec::new());
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cap {
                    break;
                }
                let to = i % urls.len();
                let b = body(i);
                let sig = signature::sign(secret.as_bytes(), &b);
                let t = Instant::now();
                sent(i, to);
                match http
                    .post(&urls[to])
                    .header("x-hub-signature-256", sig)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        lat.push(t.elapsed());
                        ok += 1;
                    }
                    _ => err += 1,
                }
            }
            let mut g = results.lock().unwrap_or_else(|p| p.into_inner());
            g.0 += ok;
            g.1 += err;
            g.2.extend(lat);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let (acked, errors, mut latencies) =
        std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    latencies.sort();
    Load {
        acked,
        errors,
        latencies,
        elapsed,
    }
}

/// Percentile (0..=100) of a sorted slice of durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Reads `--name value` from the command line, or the default.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process so far, in MiB (Linux: VmHWM).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&v, 50.0), 51.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&v, 100.0), 100.0);
        assert!(percentile_ms(&[], 50.0).is_nan());
    }
}
