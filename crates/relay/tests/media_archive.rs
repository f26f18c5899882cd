//! The media archive through the real relay and simulator: an inbound picture is downloaded when
//! it arrives, without anyone opening it, and is served from the archive after WhatsApp no
//! longer has it; a failing media host is retried; the archive keeps to its size by evicting
//! the oldest files. On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_protocol::api::Role;
use switchboard_sim::{FaultKind, FaultRule};

/// The archived state of every media file, by media id.
async fn archive_rows(relay: &Relay) -> Vec<(String, String, i64)> {
    relay
        .store
        .read(switchboard_relay::store::archive::entries)
        .await
        .unwrap()
}

async fn image_message(w: &World, token: &str, wa: &str, caption: &str) -> (i64, String) {
    w.sim.customer(wa).sends_image(caption).await.unwrap();
    w.relay
        .eventually(Duration::from_secs(5), "the picture", || async {
            let (_, list) = w.relay.get(token, "/api/v1/conversations").await;
            let conv = list["items"]
                .as_array()?
                .iter()
                .find(|c| c["contact"]["wa_id"] == wa)?["id"]
                .as_i64()?;
            let (_, msgs) = w
                .relay
                .get(token, &format!("/api/v1/conversations/{conv}/messages"))
                .await;
            let m = msgs["items"]
                .as_array()?
                .iter()
                .rev()
                .find(|m| m["type"] == "image" && m["text"] == caption)?
                .clone();
            Some((m["id"].as_i64()?, m["content"]["id"].as_str()?.to_string()))
        })
        .await
}

#[tokio::test]
async fn a_picture_nobody_opened_is_archived_and_outlives_whatsapp() {
    let w = World::start().await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let (msg, media_id) = image_message(&w, &sup, "4915122220001", "Beleg").await;
    w.relay
        .eventually(Duration::from_secs(10), "the archived file", || async {
            let rows = archive_rows(&w.relay).await;
            (rows == [(media_id.clone(), "stored".to_string(), 0)]).then_some(())
        })
        .await;
    let admin = w.relay.login_as("admin@example.com", Role::Admin).await;
    let (_, summary) = w.relay.get(&admin, "/api/v1/admin/media-archive").await;
    assert_eq!(summary["stored"], 1, "{summary}");
    assert_eq!(summary["pending"], 0);
    assert!(summary["bytes"].as_i64().unwrap() > 3_000);
    assert_eq!(summary["max_bytes"], 64 * 1024 * 1024);
    let path = w.relay.dir.path().join("media-archive").join(&media_id);
    let bytes = std::fs::read(&path).expect("the file is in the data directory");
    // The same bytes WhatsApp had (its sha256 rode on the webhook).
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    let (_, page) = w.relay.get(&sup, "/api/v1/conversations").await;
    let conv = page["items"][0]["id"].as_i64().unwrap();
    let (_, list) = w
        .relay
        .get(&sup, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let m: &Value = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == msg)
        .unwrap();
    assert_eq!(m["content"]["sha256"], sha.as_str());

    // WhatsApp forgets the file (its retention ended): the relay still serves it.
    let del = w
        .relay
        .http
        .delete(format!("{}/v25.0/{media_id}", w.sim.base_url()))
        .bearer_auth("sim-access-token")
        .send()
        .await
        .unwrap();
    assert!(del.status().is_success(), "{}", del.status());
    let r = w
        .relay
        .http
        .get(w.relay.url(&format!("/api/v1/messages/{msg}/media")))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn a_failing_media_host_is_retried() {
    let w = World::start().await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    w.sim
        .add_fault(FaultRule::times(FaultKind::MediaUnavailable, 2));
    let (_, media_id) = image_message(&w, &sup, "4915122220002", "Zweimal").await;
    w.relay
        .eventually(
            Duration::from_secs(15),
            "stored after two failures",
            || async {
                let rows = archive_rows(&w.relay).await;
                (rows == [(media_id.clone(), "stored".to_string(), 2)]).then_some(())
            },
        )
        .await;
}

#[tokio::test]
async fn the_archive_keeps_to_its_size_by_evicting_the_oldest() {
    // Room for two of the simulator's pictures (about 3.2 kB each), not three.
    let w = World::start_with(|c| c.media_archive_bytes = 7_000).await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let mut ids = Vec::new();
    for (i, wa) in ["4915122220003", "4915122220004", "4915122220005"]
        .iter()
        .enumerate()
    {
        let (_, id) = image_message(&w, &sup, wa, &format!("Bild {i}")).await;
        w.relay
            .eventually(Duration::from_secs(10), "archived", || async {
                archive_rows(&w.relay)
                    .await
                    .iter()
                    .any(|r| r.0 == id && r.1 != "pending")
                    .then_some(())
            })
            .await;
        ids.push(id);
        // File times tell the age apart.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = archive_rows(&w.relay).await;
    let state = |id: &str| rows.iter().find(|r| r.0 == id).unwrap().1.clone();
    assert_eq!(state(&ids[0]), "evicted", "{rows:?}");
    assert_eq!(state(&ids[1]), "stored");
    assert_eq!(state(&ids[2]), "stored");
    let dir = w.relay.dir.path().join("media-archive");
    assert!(!dir.join(&ids[0]).exists());
    assert!(dir.join(&ids[2]).exists());
}
