//! Process-level crash test: `kill -9` the relay binary while signed webhooks are being
//! acknowledged; after a restart every acknowledged message is in the store, exactly once.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_protocol::signature;
use switchboard_protocol::webhook::to_meta_json;

fn relay_cmd(dir: &std::path::Path) -> Command {
    common::relay_cmd(dir)
}

/// Starts the binary and returns it with its base URL (read from its start-up line).
fn start(dir: &std::path::Path) -> (Child, String) {
    common::serve_reading_address(relay_cmd(dir), None)
}

fn body(i: usize) -> Vec<u8> {
    let wa = format!("49151{:07}", i % 50);
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":format!("Kunde {}", i % 50)},"wa_id":wa, "user_id": format!("DE.{}", i % 50)}],
        "messages":[{"from":wa,"id":format!("wamid.crash{i}"),"timestamp":"1790000000","type":"text","text":{"body":format!("Nachricht {i}")}}]}}]}]}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    // The admin CLI works on the store without a server.
    common::admin_cli(
        relay_cmd(dir.path()),
        &[
            "create-user",
            "--email",
            "sup@example.com",
            "--name",
            "Sup",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        Some("relay-test-secret\n"),
    );

    let (mut child, base) = start(dir.path());
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, base, acked, next) = (http.clone(), base.clone(), acked.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let b = body(i);
                let sig = signature::sign(common::APP_SECRET.as_bytes(), &b);
                match http
                    .post(format!("{base}/webhooks/whatsapp"))
                    .header("x-hub-signature-256", sig)
                    .body(b)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {
                        acked.lock().unwrap().insert(format!("wamid.crash{i}"));
                    }
                    _ => return, // the relay is gone
                }
            }
        }));
    }
    // Let traffic build up (at least 1.5 s and 150 acknowledgements, whatever the back-end's
    // speed), then kill the process mid-stream without warning.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 150 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "only {} acknowledged before the kill",
        acked.len()
    );

    let (mut child, base) = start(dir.path());
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email":"sup@example.com","password":"relay-test-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    // Read every message.created event: each acknowledged wamid must appear exactly once.
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut after = 0;
    loop {
        let page: Value = http
            .get(format!("{base}/api/v1/events?after={after}&limit=1000"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for e in page["events"].as_array().unwrap() {
            if e["kind"] == "message.created" {
                *counts
                    .entry(e["data"]["wamid"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        let next_after = page["next_after"].as_i64().unwrap();
        if next_after == after || next_after >= page["head"].as_i64().unwrap() {
            break;
        }
        after = next_after;
    }
    for w in &acked {
        assert_eq!(
            counts.get(w),
            Some(&1),
            "acknowledged {w} must be stored exactly once"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "no duplicates at all");
    child.kill().unwrap();
    child.wait().unwrap();
}
