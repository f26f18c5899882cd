//! Exports through the real relay (and `admin export`, the real binary): everything as JSON
//! Lines, one object per line with its `kind`, each the snapshot the API answers; one customer's
//! export holds only what is theirs; the messages as CSV; a period filter; permission and audit.
//! On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

async fn raw(relay: &Relay, token: &str, path: &str) -> (u16, String, String) {
    let r = relay
        .http
        .get(relay.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

fn lines(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn everything_and_one_customer_export_as_the_api_answers() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    for f in [
        "text.json",
        "image.json",
        "location.json",
        "smb_message_echoes.json",
    ] {
        assert!(relay.post_webhook(&fixture(f)).await.status().is_success());
    }
    // A second customer, whose data a customer's export must leave out.
    let other = text_body("4915199990001", "wamid.export-other", "Andere Kundin");
    assert!(relay.post_webhook(&other).await.status().is_success());
    let (_, list) = relay.get(&admin, "/api/v1/conversations?limit=500").await;
    let convs = list["items"].as_array().unwrap().clone();
    assert!(convs.len() >= 2, "{list}");
    let first = convs
        .iter()
        .find(|c| c["contact"]["wa_id"] == "15551234567")
        .unwrap();
    let contact = first["contact"]["id"].as_i64().unwrap();
    let (s, note) = relay
        .post(
            &admin,
            &format!("/api/v1/contacts/{contact}/notes"),
            json!({"text": "Ruft lieber an"}),
        )
        .await;
    assert_eq!(s, 201, "{note}");

    // Everything.
    let (s, ct, body) = raw(&relay, &admin, "/api/v1/admin/export").await;
    assert_eq!(s, 200);
    assert_eq!(ct, "application/x-ndjson");
    let all = lines(&body);
    let mut by_kind: HashMap<String, Vec<&Value>> = HashMap::new();
    for l in &all {
        by_kind
            .entry(l["kind"].as_str().unwrap().to_string())
            .or_default()
            .push(l);
    }
    assert_eq!(
        by_kind["contact"].len() as i64,
        relay.count("contacts").await
    );
    assert_eq!(by_kind["conversation"].len(), convs.len());
    assert_eq!(
        by_kind["message"].len() as i64,
        relay.count("messages").await
    );
    assert_eq!(by_kind["note"].len(), 1);
    assert_eq!(by_kind["note"][0]["text"], "Ruft lieber an");
    // Each message line is the message as the API shows it.
    let mut api_messages: HashMap<i64, Value> = HashMap::new();
    for c in &convs {
        let (_, msgs) = relay
            .get(
                &admin,
                &format!("/api/v1/conversations/{}/messages", c["id"]),
            )
            .await;
        for m in msgs["items"].as_array().unwrap() {
            api_messages.insert(m["id"].as_i64().unwrap(), m.clone());
        }
    }
    for m in &by_kind["message"] {
        let mut m = (*m).clone();
        m.as_object_mut().unwrap().remove("kind");
        assert_eq!(api_messages[&m["id"].as_i64().unwrap()], m);
    }

    // One customer: only theirs.
    let (s, _, body) = raw(
        &relay,
        &admin,
        &format!("/api/v1/contacts/{contact}/export"),
    )
    .await;
    assert_eq!(s, 200);
    let mine = lines(&body);
    let their_convs: HashSet<i64> = mine
        .iter()
        .filter(|l| l["kind"] == "conversation")
        .map(|l| {
            assert_eq!(l["contact"]["id"], contact);
            l["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(their_convs.len(), 1);
    for l in &mine {
        match l["kind"].as_str().unwrap() {
            "contact" => assert_eq!(l["id"], contact),
            "message" => assert!(their_convs.contains(&l["conversation_id"].as_i64().unwrap())),
            "note" => assert_eq!(l["contact_id"], contact),
            "conversation" => {}
            k => panic!("unexpected kind {k}"),
        }
    }
    assert!(
        mine.iter().filter(|l| l["kind"] == "message").count() >= 2,
        "text and echo"
    );

    // The messages as CSV: a header, then one row each.
    let (s, ct, body) = raw(&relay, &admin, "/api/v1/admin/export?format=csv").await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let mut r = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "conversation_id",
            "created_at",
            "direction",
            "type",
            "text",
            "status",
            "origin",
            "wamid",
            "deleted_at"
        ]
    );
    assert_eq!(r.records().count() as i64, relay.count("messages").await);

    // A period: nothing was written in 2030.
    let (_, _, body) = raw(
        &relay,
        &admin,
        "/api/v1/admin/export?from=2030-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(
        lines(&body)
            .iter()
            .filter(|l| l["kind"] == "message")
            .count(),
        0
    );
    let (s, _, _) = raw(&relay, &admin, "/api/v1/admin/export?from=yesterday").await;
    assert_eq!(s, 400);
    let (s, _, _) = raw(&relay, &admin, "/api/v1/admin/export?format=xml").await;
    assert_eq!(s, 400);

    // Agents may not export; every export is audited.
    let agent = relay.login_as("agent@example.com", Role::Agent).await;
    assert_eq!(raw(&relay, &agent, "/api/v1/admin/export").await.0, 403);
    assert_eq!(
        raw(
            &relay,
            &agent,
            &format!("/api/v1/contacts/{contact}/export")
        )
        .await
        .0,
        403
    );
    assert_eq!(
        relay
            .count("audit_log WHERE action IN ('export.all', 'export.contact')")
            .await,
        4
    );

    // The admin CLI writes the same lines, while the relay runs.
    let file = relay.dir.path().join("export.jsonl");
    let out = common::relay_cmd(relay.dir.path())
        .args(["admin", "export", &file.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli = lines(&std::fs::read_to_string(&file).unwrap());
    let key = |l: &Value| {
        (
            l["kind"].as_str().unwrap().to_string(),
            l["id"].as_i64().unwrap(),
        )
    };
    let a: HashSet<_> = all.iter().map(key).collect();
    let b: HashSet<_> = cli.iter().map(key).collect();
    assert_eq!(a, b);
    let again = common::relay_cmd(relay.dir.path())
        .args(["admin", "export", &file.to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never replaced"
    );
}
