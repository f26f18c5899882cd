//! Coexistence and the 2026 lifecycle through the real relay: what the business sends from the
//! WhatsApp Business app (echoes, fixtures `smb_message_echoes*.json`), the chat history shared
//! at onboarding (`history*.json`), the phone app's contact list (`smb_app_state_sync.json`),
//! statuses of messages the relay did not send, and `played` for voice messages (through the
//! simulator). On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

const ECHO: &str = "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBQwMDAwRUNITzAwMDAwMDAwMDAwMQA=";

async fn ok(relay: &Relay, body: &[u8]) {
    let r = relay.post_webhook(body).await;
    assert!(r.status().is_success(), "{}", r.status());
}

async fn conversations(relay: &Relay, token: &str) -> Vec<Value> {
    let (_, list) = relay.get(token, "/api/v1/conversations").await;
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn messages(relay: &Relay, token: &str, conv: i64) -> Vec<Value> {
    let (_, msgs) = relay
        .get(token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    msgs["items"].as_array().cloned().unwrap_or_default()
}

/// A status webhook for `wamid` (the 2026 shape: with `contacts` and `recipient_user_id`).
fn status_body(wamid: &str, status: &str, ts: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "200000000000002"},
            "contacts": [{"wa_id": "15551234567", "user_id": "US.13491208655302741918"}],
            "statuses": [{"id": wamid, "status": status, "timestamp": ts.to_string(),
                          "recipient_id": "15551234567", "recipient_user_id": "US.13491208655302741918"}]
        }}]}]
    }))
    .unwrap()
}

#[tokio::test]
async fn a_phone_app_answer_is_the_business_reply_in_the_conversation() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    ok(&relay, &fixture("text.json")).await;
    let conv = conversations(&relay, &sup).await[0]["id"].as_i64().unwrap();
    assert_eq!(
        relay
            .count("conversations WHERE waiting_since IS NOT NULL")
            .await,
        1,
        "the customer waits"
    );
    // A status of the phone app's message overtakes its echo: kept, applied when it comes.
    ok(&relay, &status_body(ECHO, "delivered", 1_790_000_310)).await;
    for _ in 0..2 {
        ok(&relay, &fixture("smb_message_echoes.json")).await;
    }
    let msgs = messages(&relay, &sup, conv).await;
    assert_eq!(msgs.len(), 2, "one echo for two deliveries: {msgs:?}");
    let echo = &msgs[1];
    assert_eq!(echo["direction"], "outbound");
    assert_eq!(echo["origin"], "phone_app");
    assert_eq!(echo["wamid"], ECHO);
    assert_eq!(echo["status"], "delivered", "{echo}");
    assert!(echo["sender_id"].is_null(), "no agent sent it");
    assert_eq!(
        echo["text"],
        "Yes, we ship to Porto. Your parcel leaves today."
    );
    // The customer no longer waits; the first response is the echo's time.
    assert_eq!(
        relay
            .count("conversations WHERE waiting_since IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        relay
            .count("conversation_periods WHERE first_response_at = 1790000300000 AND first_responder_id IS NULL")
            .await,
        1
    );
    // Later statuses move it on.
    ok(&relay, &status_body(ECHO, "read", 1_790_000_320)).await;
    assert_eq!(messages(&relay, &sup, conv).await[1]["status"], "read");

    // The phone app edits its answer; a customer's "edit" of it is not applied.
    ok(&relay, &fixture("smb_message_echoes_edit.json")).await;
    let m = &messages(&relay, &sup, conv).await[1];
    assert_eq!(
        m["text"],
        "Yes, we ship to Porto. Your parcel leaves tomorrow."
    );
    assert_eq!(m["edits"].as_array().unwrap().len(), 1);
    let forged = String::from_utf8(fixture("edit.json")).unwrap().replace(
        "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQwMDAwQTFCMkMzRDRFNUY2MDAwMAA=",
        ECHO,
    );
    ok(&relay, forged.as_bytes()).await;
    let m = &messages(&relay, &sup, conv).await[1];
    assert_eq!(
        m["text"], "Yes, we ship to Porto. Your parcel leaves tomorrow.",
        "the customer cannot edit the business's message"
    );
    // Clients hear of it on the event log.
    let (_, ev) = relay.get(&sup, "/api/v1/events?after=0&limit=200").await;
    assert!(ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "message.created" && e["data"]["origin"] == "phone_app"));
}

#[tokio::test]
async fn an_echo_to_a_new_customer_opens_nothing_for_the_team() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    ok(&relay, &fixture("smb_message_echoes.json")).await;
    let convs = conversations(&relay, &sup).await;
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(convs[0]["status"], "resolved");
    assert_eq!(convs[0]["contact"]["bsuid"], "US.13491208655302741918");
    assert_eq!(convs[0]["unread_count"], 0);
    // The customer answers: the conversation opens and waits like any other.
    ok(&relay, &fixture("text.json")).await;
    let convs = conversations(&relay, &sup).await;
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["status"], "open");
}

#[tokio::test]
async fn shared_history_is_stored_in_place_without_disturbing_the_inbox() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    ok(&relay, &fixture("text.json")).await;
    let before = conversations(&relay, &sup).await[0].clone();
    for _ in 0..2 {
        ok(&relay, &fixture("history.json")).await;
    }
    let convs = conversations(&relay, &sup).await;
    assert_eq!(
        convs.len(),
        1,
        "the history joins the customer's conversation"
    );
    let conv = &convs[0];
    assert_eq!(conv["id"], before["id"]);
    assert_eq!(
        conv["last_message_preview"], before["last_message_preview"],
        "older messages do not move the inbox"
    );
    assert_eq!(conv["unread_count"], before["unread_count"]);
    let msgs = messages(&relay, &sup, conv["id"].as_i64().unwrap()).await;
    assert_eq!(msgs.len(), 4, "three from the history, once: {msgs:?}");
    // In the order they were written: the history before the live message that came first.
    let at: Vec<i64> = msgs
        .iter()
        .map(|m| m["created_at"].as_i64().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert_eq!(msgs[3]["text"], "Hello, do you ship to Lisbon?");
    // Pages follow the same order.
    let c = conv["id"].as_i64().unwrap();
    let (_, p1) = relay
        .get(&sup, &format!("/api/v1/conversations/{c}/messages?limit=2"))
        .await;
    let before = p1["next_before"].as_i64().expect("a next page");
    let (_, p2) = relay
        .get(
            &sup,
            &format!("/api/v1/conversations/{c}/messages?limit=2&before={before}"),
        )
        .await;
    let paged: Vec<&Value> = p2["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p1["items"].as_array().unwrap())
        .collect();
    assert_eq!(
        paged.iter().map(|m| &m["id"]).collect::<Vec<_>>(),
        msgs.iter().map(|m| &m["id"]).collect::<Vec<_>>()
    );
    let history: Vec<&Value> = msgs.iter().filter(|m| m["origin"] == "history").collect();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["direction"], "inbound");
    assert_eq!(history[0]["created_at"].as_i64(), Some(1_789_900_000_000));
    assert_eq!(history[1]["direction"], "outbound");
    assert_eq!(history[1]["status"], "read");
    assert_eq!(history[2]["type"], "media_placeholder");
    // The follow-up chunk fills in the placeholder's media.
    ok(&relay, &fixture("history_media.json")).await;
    let msgs = messages(&relay, &sup, conv["id"].as_i64().unwrap()).await;
    let filled = msgs
        .iter()
        .find(|m| m["wamid"] == history[2]["wamid"])
        .unwrap();
    assert_eq!(filled["type"], "image");
    assert_eq!(filled["text"], "This one");
    // Nothing was routed or answered because of the history.
    assert_eq!(relay.count("outbox").await, 0);
    assert_eq!(
        relay
            .count("history_imports WHERE progress = 100 AND messages = 3 AND error IS NULL")
            .await,
        1
    );
    // A business that declines is recorded, with the reason; admins read both.
    ok(&relay, &fixture("history_declined.json")).await;
    assert_eq!(
        relay
            .count("history_imports WHERE error LIKE '%History sharing is turned off%2593109%'")
            .await,
        1
    );
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    let (s, imports) = relay.get(&admin, "/api/v1/admin/history-imports").await;
    assert_eq!(s, 200, "{imports}");
    let phases: Vec<(i64, Option<i64>, i64)> = imports
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["phase"].as_i64().unwrap(),
                h["progress"].as_i64(),
                h["messages"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(phases, [(-1, None, 0), (0, Some(100), 3)]);
    let (s, _) = relay.get(&sup, "/api/v1/admin/history-imports").await;
    assert_eq!(s, 403, "supervisors do not manage numbers");
}

#[tokio::test]
async fn the_phone_apps_contact_names_reach_the_customer() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    ok(&relay, &fixture("text.json")).await;
    ok(&relay, &fixture("smb_app_state_sync.json")).await;
    let c = &conversations(&relay, &sup).await[0]["contact"];
    assert_eq!(c["app_name"], "Ana Ferreira (Porto)");
    assert_eq!(c["name"], "Test User", "the WhatsApp profile name stays");
    // Added then removed in the same body: known, without a saved name.
    assert_eq!(
        relay
            .count("contacts WHERE wa_id = '4915112340000' AND app_name IS NULL")
            .await,
        1
    );
    let (_, ev) = relay.get(&sup, "/api/v1/events?after=0&limit=200").await;
    assert!(
        ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "contact.updated"
                && e["data"]["app_name"] == "Ana Ferreira (Porto)")
    );
}

#[tokio::test]
async fn the_simulator_speaks_coexistence_and_voice_messages_report_played() {
    let w = World::start().await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let wa = "4915123450001";
    w.sim
        .customer(wa)
        .named("Kunde")
        .says("Hallo")
        .await
        .unwrap();
    let conv = w
        .relay
        .eventually(Duration::from_secs(5), "the conversation", || async {
            conversations(&w.relay, &sup).await.first()?["id"].as_i64()
        })
        .await;
    // 2026: the customer carries a BSUID although none was given.
    let c = &conversations(&w.relay, &sup).await[0]["contact"];
    assert!(
        c["bsuid"].as_str().is_some_and(|b| b.starts_with("DE.")),
        "{c}"
    );

    let wamid = w
        .sim
        .phone_app_sends(
            None,
            &switchboard_sim::PhoneAppMessage {
                to: wa.into(),
                kind: None,
                text: Some("Vom Handy".into()),
                original: None,
            },
        )
        .unwrap();
    w.relay
        .eventually(Duration::from_secs(5), "the echo, read", || async {
            let msgs = messages(&w.relay, &sup, conv).await;
            let m = msgs.iter().find(|m| m["wamid"] == wamid.as_str())?;
            (m["origin"] == "phone_app" && m["status"] == "read").then_some(())
        })
        .await;

    // A voice note from the phone app (a message the relay did not send): its statuses are
    // kept, up to `played`, and the relay archives and serves its file like any other.
    let voice = w
        .sim
        .phone_app_sends(
            None,
            &switchboard_sim::PhoneAppMessage {
                to: wa.into(),
                kind: Some("audio".into()),
                text: None,
                original: None,
            },
        )
        .unwrap();
    w.relay
        .eventually(Duration::from_secs(5), "played", || async {
            let msgs = messages(&w.relay, &sup, conv).await;
            let m = msgs.iter().find(|m| m["wamid"] == voice.as_str())?;
            (m["type"] == "audio" && m["origin"] == "phone_app" && m["status"] == "played")
                .then_some(m["id"].as_i64()?)
        })
        .await;
    a_file_archived(&w.relay, "the voice note archived").await;
}

#[tokio::test]
async fn history_media_that_overtakes_its_placeholder_is_kept() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    ok(&relay, &fixture("history_media.json")).await;
    ok(&relay, &fixture("history.json")).await;
    let conv = conversations(&relay, &sup).await[0]["id"].as_i64().unwrap();
    let msgs = messages(&relay, &sup, conv).await;
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    let image: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "image").collect();
    assert_eq!(
        image.len(),
        1,
        "the media stands for its placeholder: {msgs:?}"
    );
    assert_eq!(image[0]["origin"], "history");
    assert_eq!(image[0]["text"], "This one");
    assert!(msgs.iter().all(|m| m["type"] != "media_placeholder"));
}
