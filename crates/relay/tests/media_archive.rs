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

/// Unpacks a zip into `(name, bytes)` in its order.
async fn unzip(data: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let reader = async_zip::base::read::mem::ZipFileReader::new(data)
        .await
        .expect("a valid zip");
    let mut out = Vec::new();
    for i in 0..reader.file().entries().len() {
        let name = reader.file().entries()[i]
            .filename()
            .as_str()
            .unwrap()
            .to_string();
        let mut bytes = Vec::new();
        reader
            .reader_with_entry(i)
            .await
            .unwrap()
            .read_to_end_checked(&mut bytes)
            .await
            .unwrap();
        out.push((name, bytes));
    }
    out
}

#[tokio::test]
async fn a_customers_zip_export_holds_their_lines_their_messages_and_their_files() {
    let w = World::start().await;
    let admin = w.relay.login_as("admin@example.com", Role::Admin).await;
    let (msg, media_id) = image_message(&w, &admin, "4915122220077", "Rechnung").await;
    w.sim
        .customer("4915122220077")
        .says("Und hier der Text dazu")
        .await
        .unwrap();
    // Another customer's file stays out of it.
    image_message(&w, &admin, "4915122220088", "Fremd").await;
    w.relay
        .eventually(Duration::from_secs(10), "both files archived", || async {
            let rows = archive_rows(&w.relay).await;
            (rows.len() == 2 && rows.iter().all(|r| r.1 == "stored")).then_some(())
        })
        .await;
    let (_, list) = w.relay.get(&admin, "/api/v1/conversations").await;
    let contact = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["wa_id"] == "4915122220077")
        .unwrap()["contact"]["id"]
        .as_i64()
        .unwrap();
    let export = |format: &'static str| {
        let (relay, admin) = (&w.relay, admin.clone());
        async move {
            let r = relay
                .http
                .get(relay.url(&format!(
                    "/api/v1/contacts/{contact}/export?format={format}"
                )))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            (ct, r.bytes().await.unwrap().to_vec())
        }
    };
    let (ct, zip) = export("zip").await;
    assert_eq!(ct, "application/zip");
    let files = unzip(zip).await;
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    let picture = format!("media/{msg}-{media_id}.png");
    assert_eq!(
        names,
        vec!["export.jsonl", "messages.csv", picture.as_str()],
        "{names:?}"
    );
    // The same lines as the JSON Lines export, the same bytes as the archive.
    let (_, jsonl) = export("jsonl").await;
    assert_eq!(files[0].1, jsonl);
    let csv = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(
        csv.contains("Und hier der Text dazu") && !csv.contains("Fremd"),
        "{csv}"
    );
    let archived = std::fs::read(w.relay.dir.path().join("media-archive").join(&media_id)).unwrap();
    assert_eq!(files[2].1, archived);
    // A file the relay no longer holds is listed, not silently left out.
    std::fs::remove_file(w.relay.dir.path().join("media-archive").join(&media_id)).unwrap();
    let _ = std::fs::remove_file(w.relay.dir.path().join("media").join(&media_id));
    let files = unzip(export("zip").await.1).await;
    let missing = files
        .iter()
        .find(|f| f.0 == "media/MISSING.txt")
        .expect("the list of missing files");
    assert!(String::from_utf8_lossy(&missing.1).contains(&media_id));
    let (s, _) = w
        .relay
        .get(
            &admin,
            &format!("/api/v1/contacts/{contact}/export?format=rar"),
        )
        .await;
    assert_eq!(s, 400);
}
