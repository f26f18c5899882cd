//! `switchboard-relay admin backup` and `admin restore` (the real binary): a backup taken while
//! the relay ingests webhooks restores into an empty data directory, and the restored relay
//! answers the same for everything acknowledged before the backup began, media archive included;
//! a backup never replaces a file, a restore refuses a data directory that is not empty and a
//! file that is not a backup (an entry leaving the data directory). On PostgreSQL the commands
//! point to PostgreSQL's own tools.

mod common;

use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::Value;
use switchboard_protocol::api::Role;

fn cli(dir: &std::path::Path, args: &[&str]) -> Output {
    common::relay_cmd(dir)
        .arg("admin")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every message wamid the relay shows, by conversation id.
async fn everything(relay: &Relay, token: &str) -> Vec<(i64, Vec<(String, String)>)> {
    let (_, list) = relay.get(token, "/api/v1/conversations?limit=500").await;
    let mut out = Vec::new();
    for c in list["items"].as_array().unwrap() {
        let id = c["id"].as_i64().unwrap();
        let (_, msgs) = relay
            .get(
                token,
                &format!("/api/v1/conversations/{id}/messages?limit=500"),
            )
            .await;
        let mut m: Vec<(String, String)> = msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["wamid"].as_str().unwrap_or_default().to_string(),
                    m["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        m.sort();
        out.push((id, m));
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_to_a_relay_that_answers_the_same() {
    if backend() == switchboard_relay::store::Backend::Postgres {
        let dir = tempfile::tempdir().unwrap();
        let out = cli(
            dir.path(),
            &["backup", &dir.path().join("b.tar").to_string_lossy()],
        );
        assert!(!out.status.success());
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
        eprintln!("backup on PostgreSQL: refused with a pointer to pg_dump (as documented)");
        return;
    }
    let w = World::start().await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    // A picture in the media archive.
    w.sim
        .customer("4915177770001")
        .sends_image("Beleg")
        .await
        .unwrap();
    a_file_archived(&w.relay, "the archived picture").await;

    // Load: webhooks keep arriving while the backup runs.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let url = w.relay.url("/webhooks/whatsapp");
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let wamid = format!("wamid.backup-{i}");
                let body = text_body(
                    &format!("49151888{:05}", i % 50),
                    &wamid,
                    &format!("Nachricht {i}"),
                );
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(
                        "x-hub-signature-256",
                        switchboard_protocol::signature::sign(APP_SECRET.as_bytes(), &body),
                    )
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                if r.status().is_success() {
                    acked.lock().unwrap().push(wamid);
                }
                i += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    let file = tempfile::tempdir().unwrap();
    let backup = file.path().join("switchboard-backup.tar");
    let dir = w.relay.dir.path().to_path_buf();
    let b = backup.clone();
    let out = tokio::task::spawn_blocking(move || cli(&dir, &["backup", &b.to_string_lossy()]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 media files"), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let total = acked.lock().unwrap().len();
    assert!(total > before.len(), "the load went on during the backup");

    // A second backup never replaces the first.
    let again = cli(w.relay.dir.path(), &["backup", &backup.to_string_lossy()]);
    assert!(!again.status.success() && text(&again).contains("exists already"));

    // Restore into an empty directory; a non-empty one is refused.
    let restored = tempfile::tempdir().unwrap();
    let refused = cli(w.relay.dir.path(), &["restore", &backup.to_string_lossy()]);
    assert!(
        !refused.status.success() && text(&refused).contains("not empty"),
        "{}",
        text(&refused)
    );
    let out = cli(restored.path(), &["restore", &backup.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out));
    let media: Vec<_> = std::fs::read_dir(restored.path().join("media-archive"))
        .unwrap()
        .collect();
    assert_eq!(media.len(), 1, "the archived picture came back");

    let original = everything(&w.relay, &sup).await;
    let relay2 = Relay::start_in(restored, &no_graph(), |_| {}).await;
    let sup2 = relay2.login("sup@example.com", "password123").await.token;
    let copy = everything(&relay2, &sup2).await;
    // Everything acknowledged before the backup began is there, as the original shows it...
    let in_copy: std::collections::HashSet<&String> = copy
        .iter()
        .flat_map(|(_, m)| m.iter().map(|x| &x.0))
        .collect();
    for wamid in &before {
        assert!(
            in_copy.contains(wamid),
            "{wamid} acknowledged before the backup is missing"
        );
    }
    // ...and nothing the original does not hold, text for text (a consistent snapshot).
    let in_original: std::collections::HashMap<&String, &String> = original
        .iter()
        .flat_map(|(_, m)| m.iter().map(|x| (&x.0, &x.1)))
        .collect();
    for (_, msgs) in &copy {
        for (wamid, t) in msgs {
            assert_eq!(in_original.get(wamid), Some(&t), "{wamid}");
        }
    }
    // The picture is served from the restored archive, though the restored relay cannot reach
    // any Graph API.
    let (_, list) = relay2.get(&sup2, "/api/v1/conversations?limit=500").await;
    let conv = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["wa_id"] == "4915177770001")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, msgs) = relay2
        .get(&sup2, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let pic = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m: &&Value| m["type"] == "image")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = relay2
        .http
        .get(relay2.url(&format!("/api/v1/messages/{pic}/media")))
        .bearer_auth(&sup2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_file_that_is_not_a_backup_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.tar");
    {
        let mut tar = tar::Builder::new(std::fs::File::create(&evil).unwrap());
        let data = b"{}";
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, "media-archive/..x", &data[..])
            .unwrap();
        tar.finish().unwrap();
    }
    let target = tempfile::tempdir().unwrap();
    let out = cli(target.path(), &["restore", &evil.to_string_lossy()]);
    assert!(!out.status.success());
    let t = text(&out);
    if backend() == switchboard_relay::store::Backend::Postgres {
        assert!(t.contains("pg_dump"), "{t}");
        return;
    }
    assert!(t.contains("not a Switchboard backup"), "{t}");
    let left: Vec<_> = std::fs::read_dir(target.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "nothing restored: {left:?}");
    let garbage = dir.path().join("garbage.tar");
    std::fs::write(&garbage, b"this is not a tar file at all").unwrap();
    let out = cli(target.path(), &["restore", &garbage.to_string_lossy()]);
    assert!(!out.status.success(), "{}", text(&out));
}
