//! Customers edit and delete their messages (webhook types `edit` and `revoke`, fixtures
//! `edit.json` and `revoke.json`, signed like the others) through the real relay: the message
//! changes in place and keeps its earlier version, a deleted one stays readable and marked, an
//! edit that arrives before its original applies when the original comes, and a redelivered
//! webhook changes nothing twice. On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use common::*;
use serde_json::Value;
use switchboard_protocol::api::Role;

async fn only_message(relay: &Relay, token: &str) -> Value {
    let (_, list) = relay.get(token, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().expect("a conversation");
    let (_, msgs) = relay
        .get(token, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "an amendment is no message of its own: {msgs}"
    );
    items[0].clone()
}

#[tokio::test]
async fn an_edit_and_a_deletion_change_the_message_in_place_once() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    assert!(relay
        .post_webhook(&fixture("text.json"))
        .await
        .status()
        .is_success());
    assert_eq!(
        only_message(&relay, &sup).await["text"],
        "Hello, do you ship to Lisbon?"
    );

    for _ in 0..2 {
        // The second delivery is a redelivery: nothing changes twice.
        assert!(relay
            .post_webhook(&fixture("edit.json"))
            .await
            .status()
            .is_success());
    }
    let m = only_message(&relay, &sup).await;
    assert_eq!(m["text"], "Hello, do you ship to Porto?");
    assert_eq!(m["content"]["body"], "Hello, do you ship to Porto?");
    assert_eq!(m["edited_at"].as_i64(), Some(1_790_000_120_000));
    assert_eq!(m["edits"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["edits"][0]["text"], "Hello, do you ship to Lisbon?");
    assert!(m["deleted_at"].is_null());
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    assert_eq!(
        list["items"][0]["last_message_preview"],
        "Hello, do you ship to Porto?"
    );
    // Clients learn it from the event log, as an update of the same message.
    let (_, ev) = relay.get(&sup, "/api/v1/events?after=0&limit=100").await;
    let updates: Vec<&Value> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.updated" && e["data"]["id"] == m["id"])
        .collect();
    assert_eq!(updates.len(), 1, "one update for one edit: {ev}");
    assert_eq!(updates[0]["data"]["text"], "Hello, do you ship to Porto?");

    assert!(relay
        .post_webhook(&fixture("revoke.json"))
        .await
        .status()
        .is_success());
    let m = only_message(&relay, &sup).await;
    assert_eq!(m["deleted_at"].as_i64(), Some(1_790_000_240_000));
    assert_eq!(
        m["text"], "Hello, do you ship to Porto?",
        "still readable to the team"
    );
}

#[tokio::test]
async fn an_edit_that_arrives_before_its_original_applies_when_the_original_comes() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    assert!(relay
        .post_webhook(&fixture("revoke.json"))
        .await
        .status()
        .is_success());
    assert!(relay
        .post_webhook(&fixture("edit.json"))
        .await
        .status()
        .is_success());
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing to show yet"
    );
    assert_eq!(
        relay
            .count("message_amendments WHERE applied_at IS NULL")
            .await,
        2,
        "both wait"
    );
    assert!(relay
        .post_webhook(&fixture("text.json"))
        .await
        .status()
        .is_success());
    let m = only_message(&relay, &sup).await;
    assert_eq!(m["text"], "Hello, do you ship to Porto?");
    assert_eq!(m["edits"][0]["text"], "Hello, do you ship to Lisbon?");
    assert_eq!(m["deleted_at"].as_i64(), Some(1_790_000_240_000));
    assert_eq!(
        relay
            .count("message_amendments WHERE applied_at IS NULL")
            .await,
        0
    );
}
