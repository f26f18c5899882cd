//! Webhooks for a number no admin has added: kept (stored once, as any other), but the
//! conversation is held — not routed, not answered by automations, invisible to agents in the
//! REST reads, the event log and the live stream — until an admin adds the number, which
//! releases it in the same write: routed, and its snapshots sent to agents live.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_relay::config::NumberConfig;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A number nobody configured (`Config::for_test` configures only `config::TEST_NUMBER`).
const UNCONFIGURED: &str = "300000000000009";

/// A customer's text to `pnid`, written now (so the 24-hour window is open).
fn text_body(pnid: &str, wa: &str, wamid: &str, text: &str) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    serde_json::to_vec(&json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550009999","phone_number_id":pnid},
        "contacts":[{"profile":{"name":"Lena"},"wa_id":wa}],
        "messages":[{"from":wa,"id":wamid,"timestamp":now,"type":"text","text":{"body":text}}]}}]}]}))
    .unwrap()
}

fn ws_request(
    relay: &Relay,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = relay.url("/api/v1/stream").replace("http://", "ws://");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// The user's page of the event log from the start.
async fn events(relay: &Relay, token: &str) -> Vec<Value> {
    let (status, page) = relay.get(token, "/api/v1/events?after=0&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// Whether an event is about conversation `conv` or customer `contact`.
fn about(e: &Value, conv: i64, contact: i64) -> bool {
    e["conversation_id"] == conv || (e["kind"] == "contact.updated" && e["data"]["id"] == contact)
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_an_unconfigured_number_is_held_from_agents_until_an_admin_adds_it() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let login = {
        relay.user("anna@example.com", Role::Agent).await;
        relay.login("anna@example.com", "password123").await
    };
    let (anna_id, anna) = (login.id, login.token);
    // An auto-reply for that number: it would answer the message below if it were not held.
    let (st, rule) = relay
        .post(
            &admin,
            "/api/v1/admin/auto-replies",
            json!({"phone_number_id": UNCONFIGURED, "name": "Gruß", "keywords": ["Hallo"],
                   "match": "any", "reply": {"text": "Willkommen!"},
                   "cooldown_seconds": 3600, "priority": 5}),
        )
        .await;
    assert_eq!(st, 201, "{rule}");
    // Anna is online (her stream makes her so) with room: routing would assign to her.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&relay, &anna))
        .await
        .unwrap();
    relay
        .eventually(Duration::from_secs(5), "anna online", || async {
            let (_, m) = relay.get(&sup, "/api/v1/monitor").await;
            m["agents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == anna_id && a["presence"] == "online")
                .then_some(())
        })
        .await;

    // The message is stored exactly once (a redelivery of the same body changes nothing).
    let body = text_body(
        UNCONFIGURED,
        "4915100000001",
        "wamid.held1",
        "Hallo, ist da wer?",
    );
    assert_eq!(relay.post_webhook(&body).await.status(), 200);
    assert_eq!(relay.post_webhook(&body).await.status(), 200);
    assert_eq!(relay.count("messages").await, 1);
    assert_eq!(relay.count("messages WHERE direction = 'in'").await, 1);

    // Supervisors see it, unassigned and not queued, with its message.
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    let held = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_number_id"] == UNCONFIGURED)
        .expect("the supervisor sees the held conversation")
        .clone();
    let conv = held["id"].as_i64().unwrap();
    let contact = held["contact"]["id"].as_i64().unwrap();
    assert_eq!(held["assignee_id"], Value::Null, "not routed");
    assert_eq!(
        relay
            .count("conversations WHERE queued_at IS NOT NULL")
            .await,
        0,
        "not queued"
    );
    let (_, msgs) = relay
        .get(&sup, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(msgs["items"][0]["text"], "Hallo, ist da wer?");
    assert!(events(&relay, &sup)
        .await
        .iter()
        .any(|e| e["kind"] == "message.created" && e["conversation_id"] == conv));
    // No automation answered it.
    assert_eq!(relay.count("messages WHERE direction = 'out'").await, 0);
    assert_eq!(relay.count("outbox").await, 0);
    // Nor can a supervisor hand it to an agent while it is held.
    let (st, e) = relay
        .post(
            &sup,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": anna_id, "force": true}),
        )
        .await;
    assert_eq!(st, 409, "{e}");

    // The agent sees nothing of it: not in the list, not by id, not its customer, not in the log.
    let (_, list) = relay.get(&anna, "/api/v1/conversations").await;
    assert!(!ids(&list).contains(&conv), "{list}");
    assert_eq!(
        relay
            .get(&anna, &format!("/api/v1/conversations/{conv}"))
            .await
            .0,
        404
    );
    assert_eq!(
        relay
            .get(&anna, &format!("/api/v1/conversations/{conv}/messages"))
            .await
            .0,
        404
    );
    assert_eq!(
        relay
            .get(&anna, &format!("/api/v1/contacts/{contact}/notes"))
            .await
            .0,
        404
    );
    let seen = events(&relay, &anna).await;
    assert!(
        !seen.iter().any(|e| about(e, conv, contact)),
        "held events in the agent's log: {seen:?}"
    );

    // An admin adds the number: in the same write the conversation is routed to Anna and its
    // snapshots reach her stream live.
    let (st, n) = relay
        .post(
            &admin,
            "/api/v1/admin/numbers",
            json!({"phone_number_id": UNCONFIGURED, "display_phone_number": "15550009999", "name": "Filiale"}),
        )
        .await;
    assert_eq!(st, 200, "{n}");
    let mut live = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("the released customer within 5 s")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let e: Value = serde_json::from_str(&t).unwrap();
            let done = e["kind"] == "contact.updated" && e["data"]["id"] == contact;
            live.push(e);
            if done {
                break;
            }
        }
    }
    assert!(
        live.iter().any(|e| e["kind"] == "conversation.assigned"
            && e["conversation_id"] == conv
            && e["data"]["assignee_id"] == anna_id),
        "{live:?}"
    );
    assert!(live.iter().any(|e| e["kind"] == "conversation.updated"
        && e["conversation_id"] == conv
        && e["data"]["assignee_id"] == anna_id));
    // What was logged while it was held never reached her stream.
    assert!(
        !live
            .iter()
            .any(|e| e["kind"] == "message.created" && e["conversation_id"] == conv),
        "{live:?}"
    );

    // Now she sees it everywhere, with the message that waited.
    let (_, list) = relay.get(&anna, "/api/v1/conversations").await;
    assert!(ids(&list).contains(&conv), "{list}");
    let (st, c) = relay
        .get(&anna, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!((st, c["assignee_id"].as_i64()), (200, Some(anna_id)));
    let (_, msgs) = relay
        .get(&anna, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(msgs["items"][0]["text"], "Hallo, ist da wer?");
    assert_eq!(
        relay
            .get(&anna, &format!("/api/v1/contacts/{contact}/notes"))
            .await
            .0,
        200
    );
    assert!(events(&relay, &anna)
        .await
        .iter()
        .any(|e| e["kind"] == "conversation.updated" && e["conversation_id"] == conv));
    // The auto-reply is not replayed, and nothing was stored twice.
    assert_eq!(relay.count("outbox").await, 0);
    assert_eq!(relay.count("messages").await, 1);
}

#[tokio::test]
async fn a_number_added_in_the_config_file_releases_its_conversations_at_start() {
    let relay = Relay::start(&no_graph()).await;
    relay.user("anna@example.com", Role::Agent).await;
    let anna = relay.login("anna@example.com", "password123").await.token;
    let body = text_body(UNCONFIGURED, "4915100000002", "wamid.held2", "Hallo");
    assert_eq!(relay.post_webhook(&body).await.status(), 200);
    let (_, list) = relay.get(&anna, "/api/v1/conversations").await;
    assert_eq!(ids(&list), Vec::<i64>::new(), "held: {list}");

    let dir = relay.stop().await;
    let relay = Relay::start_in(dir, &no_graph(), |c| {
        c.numbers.push(NumberConfig {
            phone_number_id: UNCONFIGURED.into(),
            display_phone_number: "15550009999".into(),
            name: "Filiale".into(),
            waba_id: None,
        })
    })
    .await;
    let anna = relay.login("anna@example.com", "password123").await.token;
    let (_, list) = relay.get(&anna, "/api/v1/conversations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["phone_number_id"], UNCONFIGURED);
    let conv = list["items"][0]["id"].as_i64().unwrap();
    // Routed as a new conversation: nobody is online, so it waits in the queue.
    assert_eq!(
        relay
            .count("conversations WHERE queued_at IS NOT NULL")
            .await,
        1
    );
    assert!(events(&relay, &anna)
        .await
        .iter()
        .any(|e| e["kind"] == "conversation.updated" && e["conversation_id"] == conv));
    assert_eq!(relay.count("messages").await, 1);
}
