//! Ingest benchmark: signed webhooks fired at the real relay (embedded SQLite, durable group
//! commit) over loopback for a fixed time.
//!
//! Reports accepted messages/s and acknowledgement latency p50/p99/max, then checks that the
//! store holds exactly the messages that were acknowledged. The baseline, measured in the same
//! run with the same client, is an HTTP endpoint that verifies the signature and answers 200
//! without storing anything: the ceiling the machine and the client allow.
//!
//! `cargo run --release -p switchboard-bench --bin bench-ingest -- --seconds 10 --connections 64`

use std::sync::Arc;

use serde_json::json;
use switchboard_bench::{arg, percentile_ms, Load};
use switchboard_protocol::signature;

const SECRET: &str = "bench-secret";

/// Fires webhooks at `url` from `connections` concurrent clients for `seconds`.
async fn fire(url: String, run: &'static str, seconds: f64, connections: usize) -> Load {
    switchboard_bench::fire(
        vec![url],
        SECRET,
        seconds,
        connections,
        usize::MAX,
        Arc::new(move |i| switchboard_bench::customer_text(run, i)),
        Arc::new(|_, _| {}),
    )
    .await
}

fn main() -> anyhow::Result<()> {
    let seconds: f64 = arg("--seconds", 10.0);
    let connections: usize = arg("--connections", 64);
    // The server side and the load generator get their own runtimes (and threads), as two
    // processes would; both share the machine's two cores.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    // Baseline: verify the signature, answer 200, store nothing.
    let baseline_url = server_rt.block_on(async {
        let app = axum::Router::new().route(
            "/webhooks/whatsapp",
            axum::routing::post(
                |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let sig = headers
                        .get("x-hub-signature-256")
                        .and_then(|v| v.to_str().ok());
                    if signature::verify(SECRET.as_bytes(), &body, sig) {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::UNAUTHORIZED
                    }
                },
            ),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/whatsapp", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url
    });
    let baseline = client_rt.block_on(fire(baseline_url, "base", seconds.min(5.0), connections));

    let relay = server_rt.block_on(switchboard_bench::start_relay(
        "http://127.0.0.1:9",
        SECRET,
        |_| {},
    ))?;
    let store = relay.store.clone();
    let relay_url = format!("{}/webhooks/whatsapp", relay.base);
    let load = client_rt.block_on(fire(relay_url, "relay", seconds, connections));
    let stored: i64 = server_rt
        .block_on(store.read(|c| switchboard_relay::store::queries::count(c, "messages")))?;
    let pending: i64 = server_rt.block_on(store.read(|c| {
        switchboard_relay::store::queries::count(c, "webhook_inbox WHERE state <> 'processed'")
    }))?;

    let rate = load.acked as f64 / load.elapsed.as_secs_f64();
    let base_rate = baseline.acked as f64 / baseline.elapsed.as_secs_f64();
    let exact = stored as usize == load.acked && pending == 0;
    println!(
        "baseline (verify + 200, no store): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        base_rate,
        percentile_ms(&baseline.latencies, 50.0),
        percentile_ms(&baseline.latencies, 99.0)
    );
    println!(
        "relay: {} acknowledged in {:.1} s = {:.0} msg/s, ack p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
        load.acked,
        load.elapsed.as_secs_f64(),
        rate,
        percentile_ms(&load.latencies, 50.0),
        percentile_ms(&load.latencies, 99.0),
        percentile_ms(&load.latencies, 100.0),
        load.errors
    );
    println!(
        "store holds {stored} messages, {pending} bodies not processed: {}",
        if exact {
            "exactly what was acknowledged"
        } else {
            "MISMATCH"
        }
    );
    println!(
        "{}",
        json!({
            "bench": "ingest",
            "seconds": seconds,
            "connections": connections,
            "acked": load.acked,
            "errors": load.errors,
            "msgs_per_s": rate.round(),
            "ack_p50_ms": (percentile_ms(&load.latencies, 50.0) * 100.0).round() / 100.0,
            "ack_p99_ms": (percentile_ms(&load.latencies, 99.0) * 100.0).round() / 100.0,
            "ack_max_ms": (percentile_ms(&load.latencies, 100.0) * 100.0).round() / 100.0,
            "stored": stored,
            "exact": exact,
            "baseline_http_only_per_s": base_rate.round(),
            "ratio_to_baseline": ((rate / base_rate) * 1000.0).round() / 1000.0,
            "durability": "synchronous=FULL, group commit",
        })
    );
    store.close();
    if !exact {
        anyhow::bail!("the store does not hold exactly the acknowledged messages");
    }
    Ok(())
}
