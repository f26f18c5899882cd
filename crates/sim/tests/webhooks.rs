//! The webhook side: signed customer messages, redelivery, duplicates, raw bodies, the control
//! API's customer messages.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use switchboard_protocol::webhook::{to_meta_json, Content};
use switchboard_sim::{FaultKind, FaultRule};

#[tokio::test]
async fn customer_message_arrives_signed_and_parses() {
    let (sim, rx) = setup().await;
    let wamid = sim
        .customer("4915112345678")
        .named("Jürgen Schäfer")
        .with_bsuid("DE.13491208655302741918")
        .says("Grüße aus Köln 👋")
        .await
        .unwrap();
    assert!(wamid.starts_with("wamid."), "{wamid}");

    let got = rx.wait_for(1).await;
    let hook = &got[0];
    assert!(hook.signature_ok, "signature must verify over the raw body");
    assert!(hook.body.is_ascii(), "Meta escapes non-ASCII as \\uXXXX");
    assert!(std::str::from_utf8(&hook.body).unwrap().contains("\\u00fc"));
    assert_eq!(hook.content_type.as_deref(), Some("application/json"));
    assert_eq!(hook.user_agent.as_deref(), Some("facebookexternalua"));

    let n = hook
        .notification
        .as_ref()
        .expect("parses as a notification");
    assert_eq!(n.object, "whatsapp_business_account");
    assert_eq!(n.entries[0].id, "100000000000001");
    let value = hook.changes().next().unwrap();
    assert_eq!(value.phone_number_id, PNID);
    assert_eq!(value.display_phone_number, "15550001111");
    assert_eq!(value.contacts[0].name(), Some("Jürgen Schäfer"));
    assert_eq!(value.contacts[0].wa_id.as_deref(), Some("4915112345678"));
    assert_eq!(
        value.contacts[0].user_id.as_deref(),
        Some("DE.13491208655302741918")
    );
    let m = &value.messages[0];
    assert_eq!(m.id, wamid);
    assert_eq!(m.from.as_deref(), Some("4915112345678"));
    assert_eq!(m.from_user_id.as_deref(), Some("DE.13491208655302741918"));
    assert_eq!(
        m.content,
        Content::Text {
            body: "Grüße aus Köln 👋".into()
        }
    );
    assert!(m.raw["timestamp"].is_string(), "timestamps are strings");
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(sim.stats().webhooks_delivered, 1);
}

#[tokio::test]
async fn hidden_phone_sends_only_the_bsuid() {
    let (sim, rx) = setup().await;
    sim.customer("4915100000001")
        .with_bsuid("DE.42")
        .hide_phone()
        .says("Hallo")
        .await
        .unwrap();
    let got = rx.wait_for(1).await;
    let value = got[0].changes().next().unwrap().clone();
    assert_eq!(value.contacts[0].wa_id, None);
    assert_eq!(value.contacts[0].user_id.as_deref(), Some("DE.42"));
    assert_eq!(value.messages[0].from, None);
    assert_eq!(value.messages[0].from_user_id.as_deref(), Some("DE.42"));
}

#[tokio::test]
async fn receiver_errors_are_retried_until_200() {
    let rx = Receiver::with_responder(|i| {
        if i < 2 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    })
    .await;
    let sim = start_sim(config(&rx.url)).await;
    let wamid = sim
        .customer("4915112345678")
        .says("retry me")
        .await
        .unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let got = rx.all();
    assert_eq!(got.len(), 3, "500, 500, then 200");
    assert!(got.iter().all(|h| h.body == got[0].body && h.signature_ok));
    assert_eq!(got[2].messages()[0].id, wamid);
    let stats = sim.stats();
    assert_eq!(stats.webhooks_delivered, 1);
    assert_eq!(stats.webhooks_retried, 2);
    assert_eq!(stats.webhooks_failed_attempts, 2);
    assert_eq!(stats.webhooks_pending, 0);
}

#[tokio::test]
async fn a_receiver_that_never_answers_200_is_given_up() {
    let rx = Receiver::with_responder(|_| StatusCode::ACCEPTED).await;
    let sim = start_sim(config(&rx.url)).await;
    sim.customer("4915112345678")
        .says("202 is not 200")
        .await
        .unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.all().len(), 4, "first attempt + 3 retries");
    assert_eq!(sim.stats().webhooks_dropped, 1);
}

#[tokio::test]
async fn webhooks_wait_for_a_late_webhook_url() {
    let rx = Receiver::start().await;
    let mut cfg = config("");
    cfg.retry_schedule = vec![Duration::from_millis(100); 50];
    let sim = start_sim(cfg).await;
    let wamid = sim
        .customer("4915112345678")
        .says("early bird")
        .await
        .unwrap();
    sim.set_webhook_url(&rx.url);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].messages()[0].id, wamid);
    assert!(sim.wait_webhooks_idle(WAIT).await);
}

#[tokio::test]
async fn duplicate_webhooks_fault_delivers_twice() {
    let (sim, rx) = setup().await;
    sim.add_fault(FaultRule::times(FaultKind::DuplicateWebhooks, 1));
    let wamid = sim.customer("4915112345678").says("twice").await.unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let got = rx.all();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body);
    assert!(got.iter().all(|h| h.messages()[0].id == wamid));
    // The rule was for one webhook only.
    sim.customer("4915112345678").says("once").await.unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.all().len(), 3);
}

#[tokio::test]
async fn raw_webhooks_are_signed_as_is() {
    let (sim, rx) = setup().await;
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "0", "changes": [{"field": "account_alerts", "value": {"note": "Grüße"}}]}]});
    let resp = client()
        .post(format!("{}/control/webhooks/raw", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = rx.wait_for(1).await;
    assert!(got[0].signature_ok);
    assert_eq!(got[0].body.as_ref(), to_meta_json(&body).as_slice());
}

#[tokio::test]
async fn control_api_customer_messages() {
    let (sim, rx) = setup().await;
    let resp: serde_json::Value = client()
        .post(format!(
            "{}/control/customers/447700900123/messages",
            sim.base_url()
        ))
        .json(
            &json!({"phone_number_id": PNID, "text": "Hi there", "name": "Emma Wilson",
                      "user_id": "GB.77", "hide_phone": false}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wamid = resp["wamid"].as_str().unwrap().to_string();
    let got = rx.wait_for(1).await;
    let value = got[0].changes().next().unwrap().clone();
    assert_eq!(value.messages[0].id, wamid);
    assert_eq!(value.contacts[0].name(), Some("Emma Wilson"));

    // An image through the control API resolves to media.
    let resp: serde_json::Value = client()
        .post(format!(
            "{}/control/customers/447700900123/messages",
            sim.base_url()
        ))
        .json(&json!({"phone_number_id": PNID, "type": "image", "text": "look"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(resp["media_id"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    let got = rx.wait_for(2).await;
    assert_eq!(got[1].messages()[0].type_name, "image");

    // Unknown number → 404; bad type → 400.
    let resp = client()
        .post(format!(
            "{}/control/customers/447700900123/messages",
            sim.base_url()
        ))
        .json(&json!({"phone_number_id": "999", "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = client()
        .post(format!(
            "{}/control/customers/447700900123/messages",
            sim.base_url()
        ))
        .json(&json!({"type": "poll"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let stats: serde_json::Value = client()
        .get(format!("{}/control/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["customer_messages"], 2);
}

#[tokio::test]
async fn many_messages_are_delivered_concurrently() {
    let (sim, rx) = setup().await;
    for i in 0..200 {
        sim.customer(&format!("49151000{i:05}"))
            .says(&format!("Nachricht {i}"))
            .await
            .unwrap();
    }
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let got = rx.all();
    assert_eq!(got.len(), 200);
    let mut ids: Vec<String> = got.iter().map(|h| h.messages()[0].id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "wamids are unique");
}

#[tokio::test]
async fn generator_writes_from_many_customers_until_stopped() {
    use switchboard_sim::scenario::{Generator, GeneratorConfig};
    let (sim, rx) = setup().await;
    let generator = Generator::spawn(
        &sim,
        GeneratorConfig {
            rate_per_sec: 200.0,
            customers: 10,
            image_every: 5,
        },
    );
    let got = rx
        .wait_until("60 generated messages", |all| all.len() >= 60)
        .await;
    generator.stop();
    assert!(got
        .iter()
        .all(|h| h.signature_ok && h.notification.is_some()));
    let mut senders: Vec<String> = got
        .iter()
        .filter_map(|h| {
            h.changes()
                .next()
                .and_then(|v| v.contacts[0].user_id.clone())
        })
        .collect();
    senders.sort();
    senders.dedup();
    assert!(senders.len() > 1, "several customers wrote");
    assert!(got.iter().any(|h| h.messages()[0].type_name == "image"));
    assert!(sim.wait_webhooks_idle(WAIT).await);
}

#[tokio::test]
async fn control_idle_templates_and_webhook_url() {
    let (sim, rx) = setup().await;
    let base = sim.base_url();
    let idle: serde_json::Value = client()
        .get(format!("{base}/control/idle?timeout_ms=5000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(idle["idle"], true);

    let resp = client()
        .post(format!("{base}/control/templates"))
        .json(
            &json!({"name": "welcome_back", "language": "en", "category": "MARKETING",
                      "status": "APPROVED", "body": "Welcome back, {{1}}!"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let templates: serde_json::Value = client()
        .get(format!("{base}/control/templates"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(templates
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "welcome_back" && !t["id"].as_str().unwrap().is_empty()));
    let ok = send(
        &sim,
        template("4915112345678", "welcome_back", "en", &["Anna"]),
    )
    .await;
    assert_eq!(ok.status(), 200);

    // Move the callback URL to a second receiver.
    let other = Receiver::start().await;
    client()
        .post(format!("{base}/control/webhook-url"))
        .json(&json!({"url": other.url}))
        .send()
        .await
        .unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let before = rx.all().len();
    sim.customer("4915112345678")
        .says("where do I go?")
        .await
        .unwrap();
    other.wait_for(1).await;
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.all().len(), before);
}
