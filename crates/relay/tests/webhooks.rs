//! Webhook ingest against the real relay over HTTP: verification handshake, signatures, every
//! fixture, bad bodies, redeliveries, out-of-order statuses, identities.

mod common;

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_protocol::webhook::to_meta_json;

#[tokio::test]
async fn verification_handshake() {
    let relay = Relay::start(&no_graph()).await;
    let ok = relay
        .http
        .get(relay.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
    ] {
        let r = relay
            .http
            .get(relay.url(&format!("/webhooks/whatsapp?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{q}");
    }
}

#[tokio::test]
async fn missing_or_wrong_signature_is_rejected_and_nothing_stored() {
    let relay = Relay::start(&no_graph()).await;
    let body = fixture("text.json");
    let r = relay
        .http
        .post(relay.url("/webhooks/whatsapp"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["code"], "invalid_signature");
    let wrong = switchboard_protocol::signature::sign(b"another-secret", &body);
    let r = relay
        .http
        .post(relay.url("/webhooks/whatsapp"))
        .header("x-hub-signature-256", wrong)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Signed over a re-serialised body: not the raw bytes Meta sent.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<Value>(&fixture("location.json")).unwrap())
            .unwrap();
    let r = relay
        .http
        .post(relay.url("/webhooks/whatsapp"))
        .header(
            "x-hub-signature-256",
            switchboard_protocol::signature::sign(APP_SECRET.as_bytes(), &reserialised),
        )
        .body(fixture("location.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(relay.count("webhook_inbox").await, 0);
    assert_eq!(relay.count("messages").await, 0);
    let metrics = relay
        .http
        .get(relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_webhooks_rejected_total{reason=\"signature\"} 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_fixture_is_ingested_and_readable() {
    let relay = Relay::start(&no_graph()).await;
    let token = relay.login_as("sup@example.com", Role::Supervisor).await;
    let names = fixture_names();
    assert!(names.len() >= 39);
    for name in &names {
        let r = relay.post_webhook(&fixture(name)).await;
        assert_eq!(r.status(), 200, "{name}");
    }
    assert_eq!(
        relay.count("webhook_inbox WHERE state = 'processed'").await,
        names.len() as i64
    );
    assert_eq!(
        relay
            .count("webhook_inbox WHERE state <> 'processed'")
            .await,
        0
    );

    // Every inbound wamid in the fixtures is readable through the API, with its raw JSON.
    let mut expected = std::collections::HashSet::new();
    let mut amendments = 0;
    for name in &names {
        let v: Value = serde_json::from_slice(&fixture(name)).unwrap();
        for e in v["entry"].as_array().unwrap() {
            for c in e["changes"].as_array().unwrap() {
                // Customers' messages, the phone app's echoes (Coexistence) and the shared
                // history's messages are each stored once.
                let value = &c["value"];
                let history = value["history"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|h| h["threads"].as_array().into_iter().flatten())
                    .flat_map(|t| t["messages"].as_array().into_iter().flatten());
                let items = value["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(value["message_echoes"].as_array().into_iter().flatten())
                    .chain(history);
                for m in items {
                    // An edit or a deletion changes another message; it is none of its own.
                    if m["type"] == "edit" || m["type"] == "revoke" {
                        amendments += 1;
                        continue;
                    }
                    expected.insert(m["id"].as_str().unwrap().to_string());
                }
            }
        }
    }
    let (status, convs) = relay.get(&token, "/api/v1/conversations?limit=500").await;
    assert_eq!(status, 200);
    let mut seen = std::collections::HashMap::new();
    for c in convs["items"].as_array().unwrap() {
        let (_, msgs) = relay
            .get(
                &token,
                &format!("/api/v1/conversations/{}/messages?limit=500", c["id"]),
            )
            .await;
        for m in msgs["items"].as_array().unwrap() {
            assert!(m["raw"].is_object(), "raw JSON kept: {m}");
            seen.insert(m["wamid"].as_str().unwrap().to_string(), m.clone());
        }
    }
    for w in &expected {
        assert!(seen.contains_key(w), "message {w} not readable");
    }
    assert_eq!(seen.len(), expected.len(), "each message once");
    // `edit.json` and `revoke.json` amend the message of `text.json`, whatever the order;
    // `smb_message_echoes_edit.json` the phone app's answer.
    assert_eq!(amendments, 3);
    let text = &seen["wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQwMDAwQTFCMkMzRDRFNUY2MDAwMAA="];
    assert_eq!(text["text"], "Hello, do you ship to Porto?", "{text}");
    assert!(text["deleted_at"].is_i64(), "{text}");

    let by_type = |t: &str| {
        seen.values()
            .find(|m| m["type"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("no {t}"))
    };
    assert_eq!(by_type("image")["content"]["type"], "image");
    assert!(by_type("document")["content"]["filename"].is_string());
    assert_eq!(by_type("interactive")["content"]["type"], "interactive");
    assert_eq!(by_type("unsupported")["unsupported"], true);
    assert_eq!(by_type("unsupported")["raw"]["type"], "unsupported");
    assert_eq!(by_type("location")["content"]["type"], "location");
    assert!(seen
        .values()
        .any(|m| m["content"]["context"]["forwarded"] == true));
    assert!(seen
        .values()
        .any(|m| m["content"]["referral"]["ctwa_clid"].is_string()));

    // The dashboard test sample names a number nobody configured: it shows up unconfigured.
    let (_, numbers) = relay.get(&token, "/api/v1/numbers").await;
    let sample = numbers
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["phone_number_id"] == "123456123")
        .expect("unconfigured number listed");
    assert_eq!(sample["configured"], false);
    // Other fields and value.errors are recorded, not dropped.
    assert!(relay.count("account_events").await >= 2);
}

#[tokio::test]
async fn unknown_message_type_is_kept_with_raw_json() {
    let relay = Relay::start(&no_graph()).await;
    let token = relay.login_as("sup@example.com", Role::Supervisor).await;
    let body = json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":"Jörg"},"wa_id":"4915100000001"}],
        "messages":[{"from":"4915100000001","id":"wamid.poll1","timestamp":"1790000000","type":"poll_creation","poll_creation":{"question":"Wann?"}}]}}]}]});
    assert_eq!(relay.post_webhook(&to_meta_json(&body)).await.status(), 200);
    let (_, convs) = relay.get(&token, "/api/v1/conversations").await;
    let conv = &convs["items"][0];
    assert_eq!(conv["contact"]["name"], "Jörg");
    let (_, msgs) = relay
        .get(
            &token,
            &format!("/api/v1/conversations/{}/messages", conv["id"]),
        )
        .await;
    let m = &msgs["items"][0];
    assert_eq!(m["unsupported"], true);
    assert_eq!(m["type"], "poll_creation");
    assert_eq!(m["raw"]["poll_creation"]["question"], "Wann?");
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    // Signed but not a notification: acknowledged (else Meta retries for a week), kept as a dead letter.
    for body in [
        &b"{not json"[..],
        br#"{"object":"whatsapp_business_account","entry":{}}"#,
        b"[]",
    ] {
        assert_eq!(relay.post_webhook(body).await.status(), 200);
    }
    let (status, dead) = relay.get(&admin, "/api/v1/admin/dead-letters").await;
    assert_eq!(status, 200);
    assert_eq!(dead.as_array().unwrap().len(), 3);
    assert!(dead[0]["error"].as_str().unwrap().len() > 5);
    assert_eq!(relay.count("messages").await, 0);
    let agent = relay.login_as("agent@example.com", Role::Agent).await;
    assert_eq!(relay.get(&agent, "/api/v1/admin/dead-letters").await.0, 403);

    // A 3 MB body (Meta's maximum) is accepted...
    let mut big = json!({"object":"whatsapp_business_account","entry":[]});
    big["padding"] = json!("x".repeat(3 * 1024 * 1024));
    let big = to_meta_json(&big);
    assert_eq!(relay.post_webhook(&big).await.status(), 200);
    // ...one far beyond 4 MiB is refused with 413 and not stored.
    let huge = vec![b' '; 5 * 1024 * 1024];
    let before = relay.count("webhook_inbox").await;
    assert_eq!(relay.post_webhook(&huge).await.status(), 413);
    assert_eq!(relay.count("webhook_inbox").await, before);
}

fn status_body(wamid: &str, status: &str, ts: i64) -> Vec<u8> {
    let mut s = json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": "15551234567"});
    if status == "failed" {
        s["errors"] = json!([{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "error_data": {"details": "x"}}]);
    }
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "statuses":[s]}}]}]}),
    )
}

#[tokio::test]
async fn duplicate_and_out_of_order_deliveries() {
    // No Graph API here: the test plays its part, so keep the sender from giving up meanwhile.
    let relay = Relay::start_with(&no_graph(), |c| {
        c.send_backoff_base = std::time::Duration::from_secs(3600)
    })
    .await;
    let token = relay.login_as("sup@example.com", Role::Supervisor).await;
    // The same message delivered three times is stored once.
    for _ in 0..3 {
        assert_eq!(
            relay.post_webhook(&fixture("text.json")).await.status(),
            200
        );
    }
    assert_eq!(relay.count("messages").await, 1);
    let (_, convs) = relay.get(&token, "/api/v1/conversations").await;
    assert_eq!(convs["items"][0]["unread_count"], 1);
    let conv_id = convs["items"][0]["id"].as_i64().unwrap();
    // The fixture's message is from 2026-09-21; the relay now refuses free-form replies outside
    // the 24-hour window, so let the customer have written just now.
    relay
        .store
        .write(move |ctx| {
            Ok(ctx.conn.execute(
                "UPDATE conversations SET last_inbound_at = ?2 WHERE id = ?1",
                [conv_id, ctx.now],
            )?)
        })
        .await
        .unwrap();

    // An outbound message: read arrives before delivered before sent, plus a late failed.
    let (status, msg) = relay
        .post(
            &token,
            &format!("/api/v1/conversations/{conv_id}/messages"),
            json!({"type":"text","text":"Hallo!"}),
        )
        .await;
    assert_eq!(status, 202, "{msg}");
    let id = msg["id"].as_i64().unwrap();
    relay
        .store
        .write(move |ctx| switchboard_relay::store::outbox::accepted(ctx, id, "wamid.OUT1"))
        .await
        .unwrap();
    for (st, ts) in [
        ("read", 30),
        ("delivered", 20),
        ("sent", 10),
        ("failed", 40),
        ("read", 30),
    ] {
        assert_eq!(
            relay
                .post_webhook(&status_body("wamid.OUT1", st, 1790000000 + ts))
                .await
                .status(),
            200
        );
    }
    let (_, msgs) = relay
        .get(&token, &format!("/api/v1/conversations/{conv_id}/messages"))
        .await;
    let out = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap();
    assert_eq!(out["status"], "read", "status never moves backwards: {out}");
    assert!(out["error"].is_null());

    // A status that overtakes the send response is applied once the wamid is known.
    let (_, msg2) = relay
        .post(
            &token,
            &format!("/api/v1/conversations/{conv_id}/messages"),
            json!({"type":"text","text":"Noch was"}),
        )
        .await;
    let id2 = msg2["id"].as_i64().unwrap();
    relay
        .post_webhook(&status_body("wamid.OUT2", "delivered", 1790000100))
        .await;
    relay
        .store
        .write(move |ctx| switchboard_relay::store::outbox::accepted(ctx, id2, "wamid.OUT2"))
        .await
        .unwrap();
    let (_, msgs) = relay
        .get(&token, &format!("/api/v1/conversations/{conv_id}/messages"))
        .await;
    let out2 = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id2)
        .unwrap();
    assert_eq!(out2["status"], "delivered");

    // A failed status keeps Meta's code and reason.
    let (_, msg3) = relay
        .post(
            &token,
            &format!("/api/v1/conversations/{conv_id}/messages"),
            json!({"type":"text","text":"Drei"}),
        )
        .await;
    let id3 = msg3["id"].as_i64().unwrap();
    relay
        .store
        .write(move |ctx| switchboard_relay::store::outbox::accepted(ctx, id3, "wamid.OUT3"))
        .await
        .unwrap();
    relay
        .post_webhook(&status_body("wamid.OUT3", "failed", 1790000200))
        .await;
    let (_, msgs) = relay
        .get(&token, &format!("/api/v1/conversations/{conv_id}/messages"))
        .await;
    let out3 = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id3)
        .unwrap();
    assert_eq!(out3["status"], "failed");
    assert_eq!(out3["error"]["code"], 131026);
    assert!(out3["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("could not be delivered"));
}

fn bsuid_body(wamid: &str, wa_id: Option<&str>, bsuid: &str, name: &str, text: &str) -> Vec<u8> {
    let mut contact = json!({"profile": {"name": name}, "user_id": bsuid});
    let mut message = json!({"id": wamid, "timestamp": "1790000000", "type": "text", "text": {"body": text}, "from_user_id": bsuid});
    if let Some(w) = wa_id {
        contact["wa_id"] = json!(w);
        message["from"] = json!(w);
    }
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[contact], "messages":[message]}}]}]}),
    )
}

#[tokio::test]
async fn customers_keep_one_conversation_across_identities() {
    let relay = Relay::start(&no_graph()).await;
    let token = relay.login_as("sup@example.com", Role::Supervisor).await;
    // Pre-2026 format: phone only.
    relay.post_webhook(&fixture("text.json")).await;
    // 2026: phone and BSUID together link the two...
    relay
        .post_webhook(&bsuid_body(
            "wamid.b1",
            Some("15551234567"),
            "US.777",
            "Test User",
            "mit BSUID",
        ))
        .await;
    // ...so when the phone number disappears behind a username, nothing splits.
    relay
        .post_webhook(&bsuid_body(
            "wamid.b2",
            None,
            "US.777",
            "Testy",
            "nur Username",
        ))
        .await;
    let (_, convs) = relay.get(&token, "/api/v1/conversations").await;
    let items = convs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{convs}");
    assert_eq!(items[0]["contact"]["bsuid"], "US.777");
    assert_eq!(items[0]["contact"]["wa_id"], "15551234567");
    assert_eq!(
        items[0]["contact"]["name"], "Testy",
        "profile name kept current"
    );
    let (_, msgs) = relay
        .get(
            &token,
            &format!("/api/v1/conversations/{}/messages", items[0]["id"]),
        )
        .await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 3);

    // A customer first seen only by BSUID and another record by phone turn out to be one person:
    // the records merge and so do the conversations.
    relay
        .post_webhook(&bsuid_body("wamid.c1", None, "DE.42", "Anna", "hallo"))
        .await;
    relay
        .post_webhook(&bsuid_body(
            "wamid.c2",
            Some("4915199999999"),
            "DE.43",
            "Other",
            "other",
        ))
        .await;
    relay
        .post_webhook(&bsuid_body(
            "wamid.c3",
            Some("4915199999999"),
            "DE.42",
            "Anna",
            "beides",
        ))
        .await;
    let (_, convs) = relay.get(&token, "/api/v1/conversations").await;
    let anna: Vec<&Value> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["contact"]["bsuid"] == "DE.42")
        .collect();
    assert_eq!(anna.len(), 1);
    assert_eq!(anna[0]["contact"]["wa_id"], "4915199999999");

    // A changed number moves with the customer.
    relay
        .post_webhook(&fixture("system_user_changed_number.json"))
        .await;
    let (_, convs) = relay.get(&token, "/api/v1/conversations").await;
    assert!(convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["contact"]["wa_id"] == "15557654321" && c["contact"]["bsuid"] == "US.777"));
}

#[tokio::test]
async fn acknowledged_but_unprocessed_bodies_are_applied_after_restart() {
    let relay = Relay::start(&no_graph()).await;
    // Simulate a crash between commit and processing: bodies stored raw, state pending.
    for name in ["text.json", "image.json", "batched_multiple.json"] {
        let body = fixture(name);
        relay
            .store
            .write(move |ctx| switchboard_relay::store::ingest::store_only(ctx, &body))
            .await
            .unwrap();
    }
    assert_eq!(relay.count("messages").await, 0);
    let dir = relay.stop().await;
    let relay = Relay::start_in(dir, &no_graph(), |_| {}).await;
    assert_eq!(
        relay.count("webhook_inbox WHERE state = 'pending'").await,
        0
    );
    assert_eq!(relay.count("messages").await, 4);
}

#[tokio::test]
async fn a_replayed_body_is_acknowledged_but_not_stored_again() {
    let relay = Relay::start(&no_graph()).await;
    let body = fixture("text.json");
    // The same signed bytes twice: the second is a replay, answered 200 so Meta stops retrying.
    for _ in 0..2 {
        assert_eq!(relay.post_webhook(&body).await.status(), 200);
    }
    // The same message inside other bytes is another body: stored, but the message is not
    // stored twice (its wamid is known).
    let mut other = body.clone();
    other.extend_from_slice(b"\n");
    assert_ne!(other, body);
    assert_eq!(relay.post_webhook(&other).await.status(), 200);

    assert_eq!(relay.count("webhook_inbox").await, 2);
    assert_eq!(
        relay.count("webhook_inbox WHERE state = 'processed'").await,
        2
    );
    assert_eq!(relay.count("messages").await, 1);
    let metrics = relay
        .http
        .get(relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nswitchboard_webhooks_replayed_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nswitchboard_webhooks_accepted_total 2\n"),
        "{metrics}"
    );
}
