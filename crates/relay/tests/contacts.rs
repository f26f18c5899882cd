//! Customers as colleagues annotate them: tags (with the contact snapshot reaching the event
//! log), internal notes, and the transfer directory — with role and visibility checks, clear
//! refusals that change nothing, and the audit log.

mod common;

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

/// Events of `kind` the user's page of the log holds.
async fn events_of(relay: &Relay, token: &str, kind: &str) -> Vec<Value> {
    let (status, page) = relay.get(token, "/api/v1/events?after=0&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn tags_notes_and_directory_follow_visibility() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let anna_id = relay.user("anna@example.com", Role::Agent).await;
    let anna = relay.login("anna@example.com", "password123").await.token;
    let ben = relay.login_as("ben@example.com", Role::Agent).await;

    relay
        .post_webhook(&text_body("447700000001", "wamid.c1", "Hallo"))
        .await;
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().unwrap();
    let contact = list["items"][0]["contact"]["id"].as_i64().unwrap();
    assert_eq!(list["items"][0]["contact"]["tags"], json!([]));
    let (s, _) = relay
        .post(
            &sup,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": anna_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);

    // Anna (the assignee) tags her customer: normalised, sorted, de-duplicated.
    let tags = format!("/api/v1/contacts/{contact}/tags");
    let (s, body) = relay
        .put_json(&anna, &tags, json!({"tags": [" VIP ", "b2b", "vip"]}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["tags"], json!(["b2b", "vip"]));
    let (_, c) = relay
        .get(&anna, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(c["contact"]["tags"], json!(["b2b", "vip"]));
    // The new snapshot is in Anna's log, not in Ben's.
    let anna_updates = events_of(&relay, &anna, "contact.updated").await;
    assert!(
        anna_updates
            .iter()
            .any(|e| e["data"]["tags"] == json!(["b2b", "vip"])),
        "{anna_updates:?}"
    );
    assert!(events_of(&relay, &ben, "contact.updated")
        .await
        .iter()
        .all(|e| e["data"]["id"] != contact));

    // Ben may not see the customer: answered like a missing one, nothing changed.
    let (s, _) = relay.put_json(&ben, &tags, json!({"tags": ["x"]})).await;
    assert_eq!(s, 404);
    let (s, _) = relay.get(&ben, &tags).await;
    assert_eq!(s, 404);
    // Bad tags: a clear 422 naming the problem, nothing changed.
    for bad in [
        json!({"tags": [""]}),
        json!({"tags": ["a,b"]}),
        json!({"tags": ["x".repeat(41)]}),
    ] {
        let (s, body) = relay.put_json(&anna, &tags, bad.clone()).await;
        assert_eq!(s, 422, "{bad} -> {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let (s, body) = relay.put_json(&anna, &tags, json!({"tag": ["x"]})).await;
    assert!(s == 400 || s == 422, "{s} {body}");
    let (_, body) = relay.get(&sup, &tags).await;
    assert_eq!(body["tags"], json!(["b2b", "vip"]));
    assert_eq!(
        relay.count("audit_log WHERE action = 'contact.tags'").await,
        1
    );

    // Notes: written by Anna, read by supervisors, hidden from Ben, logged for Anna's cache.
    let notes = format!("/api/v1/contacts/{contact}/notes");
    let (s, note) = relay
        .post(
            &anna,
            &notes,
            json!({"text": "Ruft lieber nachmittags an."}),
        )
        .await;
    assert_eq!(s, 201, "{note}");
    assert_eq!(note["author_id"], anna_id);
    assert_eq!(note["contact_id"], contact);
    let (s, list) = relay.get(&sup, &notes).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["text"], "Ruft lieber nachmittags an.");
    let (s, _) = relay.get(&ben, &notes).await;
    assert_eq!(s, 404);
    let (s, _) = relay.post(&ben, &notes, json!({"text": "x"})).await;
    assert_eq!(s, 404);
    let (s, _) = relay.post(&anna, &notes, json!({"text": "   "})).await;
    assert_eq!(s, 422);
    let (s, _) = relay
        .post(&anna, &notes, json!({"text": "x".repeat(4001)}))
        .await;
    assert_eq!(s, 422);
    assert_eq!(relay.count("contact_notes").await, 1);
    assert_eq!(events_of(&relay, &anna, "note.created").await.len(), 1);
    assert!(events_of(&relay, &ben, "note.created").await.is_empty());
    let (s, _) = relay.get(&sup, "/api/v1/contacts/999999/notes").await;
    assert_eq!(s, 404);

    // The conversation goes to Ben: replaying the log no longer hands Anna the customer's note
    // or snapshots (the notes route refuses her now too), and hands them to Ben.
    let ben_id = relay.get(&ben, "/api/v1/me").await.1["id"]
        .as_i64()
        .unwrap();
    let (s, _) = relay
        .post(
            &sup,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": ben_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(relay.get(&anna, &notes).await.0, 404);
    assert!(events_of(&relay, &anna, "note.created").await.is_empty());
    assert!(events_of(&relay, &anna, "contact.updated")
        .await
        .iter()
        .all(|e| e["data"]["id"] != contact));
    assert_eq!(relay.get(&ben, &notes).await.0, 200);
    // Ben's log has the note only as far as its audience allowed when written (Anna's then).
    assert!(events_of(&relay, &sup, "note.created").await.len() == 1);

    // Directory: every signed-in user, names and presence, no e-mail addresses.
    let (s, dir) = relay.get(&ben, "/api/v1/directory").await;
    assert_eq!(s, 200, "{dir}");
    let agents = dir["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3);
    assert!(agents.iter().all(|a| a.get("email").is_none()));
    assert!(agents
        .iter()
        .any(|a| a["id"] == anna_id && a["role"] == "agent"));
    let (s, _) = relay.get("not-a-token", "/api/v1/directory").await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn unassigned_customers_are_open_to_every_agent() {
    let relay = Relay::start(&no_graph()).await;
    let ben = relay.login_as("ben@example.com", Role::Agent).await;
    relay
        .post_webhook(&text_body("447700000002", "wamid.c2", "Hallo"))
        .await;
    let (_, list) = relay.get(&ben, "/api/v1/conversations").await;
    assert_eq!(list["items"][0]["assignee_id"], Value::Null);
    let contact = list["items"][0]["contact"]["id"].as_i64().unwrap();
    let (s, body) = relay
        .put_json(
            &ben,
            &format!("/api/v1/contacts/{contact}/tags"),
            json!({"tags": ["Neukunde"]}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["tags"], json!(["neukunde"]));
}
