//! The relay's API: authentication, roles and visibility, the event log and its live stream,
//! the generated OpenAPI document and metrics.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn login_logout_and_rate_limit() {
    let relay = Relay::start_with(&no_graph(), |c| c.login_attempts_per_minute = 5).await;
    let uid = relay.user("Agent@Example.com", Role::Agent).await;
    let ok = relay.login("agent@example.com", "password123").await;
    assert_eq!(ok.id, uid);
    assert_eq!(ok.user.role, Role::Agent.as_str());
    assert!(ok.user.permissions.is_empty());
    let (status, me) = relay.get(&ok.token, "/api/v1/me").await;
    assert_eq!((status, me["id"].as_i64()), (200, Some(uid)));

    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .json(&json!({"email":"agent@example.com","password":"nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "wrong email or password");
    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .json(&json!({"email":"ghost@example.com","password":"nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .body("{broken")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Brute force is slowed down per account.
    let mut limited = false;
    for _ in 0..8 {
        let r = relay
            .http
            .post(relay.url("/api/v1/auth/login"))
            .json(&json!({"email":"agent@example.com","password":"guess"}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "login attempts are rate-limited");

    let r = relay
        .http
        .post(relay.url("/api/v1/auth/logout"))
        .bearer_auth(&ok.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(relay.get(&ok.token, "/api/v1/me").await.0, 401);
    assert_eq!(
        relay.get("not-a-token", "/api/v1/conversations").await.0,
        401
    );
    let r = relay
        .http
        .get(relay.url("/api/v1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn assign(relay: &Relay, conversation: i64, to: Option<i64>) {
    relay
        .store
        .write(move |ctx| {
            ctx.conn.execute(
                "UPDATE conversations SET assignee_id = ?2 WHERE id = ?1",
                rusqlite_params(conversation, to),
            )?;
            switchboard_relay::store::queries::emit_conversation(ctx, conversation, Some(None))
        })
        .await
        .unwrap();
}

fn rusqlite_params(a: i64, b: Option<i64>) -> (i64, Option<i64>) {
    (a, b)
}

#[tokio::test]
async fn agents_see_only_their_own_or_unassigned_conversations() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let anna_id = relay.user("anna@example.com", Role::Agent).await;
    let anna = relay.login("anna@example.com", "password123").await.token;
    let ben_id = relay.user("ben@example.com", Role::Agent).await;
    let ben = relay.login("ben@example.com", "password123").await.token;
    relay.post_webhook(&fixture("text.json")).await;
    relay.post_webhook(&fixture("batched_multiple.json")).await;
    let (_, all) = relay.get(&sup, "/api/v1/conversations").await;
    let ids: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 2);
    assign(&relay, ids[0], Some(anna_id)).await;

    let (_, for_anna) = relay.get(&anna, "/api/v1/conversations").await;
    assert_eq!(for_anna["items"].as_array().unwrap().len(), ids.len());
    let (_, for_ben) = relay.get(&ben, "/api/v1/conversations").await;
    assert_eq!(for_ben["items"].as_array().unwrap().len(), ids.len() - 1);
    assert!(for_ben["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != ids[0]));
    assert_eq!(
        relay
            .get(&ben, &format!("/api/v1/conversations/{}", ids[0]))
            .await
            .0,
        404
    );
    assert_eq!(
        relay
            .get(&ben, &format!("/api/v1/conversations/{}/messages", ids[0]))
            .await
            .0,
        404
    );
    let (st, _) = relay
        .post(
            &ben,
            &format!("/api/v1/conversations/{}/messages", ids[0]),
            json!({"type":"text","text":"hi"}),
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(
        relay
            .get(&anna, &format!("/api/v1/conversations/{}/messages", ids[0]))
            .await
            .0,
        200
    );
    let (_, mine) = relay.get(&anna, "/api/v1/conversations?assignee=me").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // The event log hides what Ben may not see, but tells him the conversation left his list.
    let (_, page) = relay.get(&ben, "/api/v1/events?after=0").await;
    let evs = page["events"].as_array().unwrap();
    assert!(evs
        .iter()
        .all(|e| e["kind"] != "message.created" || e["conversation_id"] != ids[0]));
    let last_conv_event = evs
        .iter()
        .rfind(|e| e["conversation_id"] == ids[0])
        .unwrap();
    assert_eq!(last_conv_event["data"]["assignee_id"], anna_id);
    assert_eq!(page["next_after"], page["head"]);

    // Admin-only and supervisor-only routes refuse agents.
    assert_eq!(relay.get(&ben, "/api/v1/admin/users").await.0, 403);
    assert_eq!(relay.get(&sup, "/api/v1/admin/users").await.0, 200);
    let (st, _) = relay
        .post(
            &sup,
            "/api/v1/admin/numbers",
            json!({"phone_number_id":"1","display_phone_number":"1","name":"x"}),
        )
        .await;
    assert_eq!(st, 403);
    let _ = ben_id;
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    relay.post_webhook(&fixture("text.json")).await;
    let (_, all) = relay.get(&sup, "/api/v1/conversations").await;
    let id = all["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{id}/messages");
    for (body, code) in [
        (json!({"type":"text","text":""}), 422),
        (json!({"type":"text","text":"x".repeat(5000)}), 422),
        (json!({"type":"fax","text":"x"}), 400),
        (json!({"type":"text"}), 400),
        (json!({"type":"image","link":"ftp://x"}), 422),
        (json!({"type":"text","text":"x","reply_to":999999}), 422),
    ] {
        let (st, err) = relay.post(&sup, &path, body.clone()).await;
        assert_eq!(st, code, "{body} -> {err}");
        assert!(
            err["code"].is_string() && err["message"].as_str().unwrap().len() > 3,
            "{err}"
        );
    }
    assert_eq!(
        relay.count("outbox").await,
        0,
        "nothing queued by bad requests"
    );
    assert_eq!(
        relay.get(&sup, "/api/v1/conversations?limit=0").await.0,
        400
    );
    assert_eq!(
        relay
            .get(&sup, "/api/v1/conversations?before=garbage")
            .await
            .0,
        400
    );
    assert_eq!(relay.get(&sup, "/api/v1/events?limit=5000").await.0, 400);
    assert_eq!(relay.get(&sup, "/api/v1/conversations/424242").await.0, 404);
}

#[tokio::test]
async fn stream_sends_backlog_then_live_events() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    relay.post_webhook(&fixture("text.json")).await;
    let ws_url = relay
        .url("/api/v1/stream?after=0")
        .replace("http://", "ws://");
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {sup}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut last_seq = 0;
    // Backlog: the first message; then live: a second one written while connected.
    while seen.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let e: Value = serde_json::from_str(&t).unwrap();
            let seq = e["seq"].as_i64().unwrap();
            assert!(seq > last_seq, "strictly increasing");
            last_seq = seq;
            if e["kind"] == "message.created" {
                seen.push(e["data"]["wamid"].as_str().unwrap().to_string());
                if seen.len() == 1 {
                    relay.post_webhook(&fixture("image.json")).await;
                }
            }
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // Without a token the stream is refused.
    let r = relay
        .http
        .get(relay.url("/api/v1/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn openapi_matches_the_routes_and_metrics_render() {
    let relay = Relay::start(&no_graph()).await;
    let spec = relay.openapi().await;
    let paths = spec["paths"].as_object().unwrap();
    for (p, method) in [
        ("/webhooks/whatsapp", "post"),
        ("/webhooks/whatsapp", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/events", "get"),
        ("/api/v1/stream", "get"),
        ("/api/v1/messages/{id}/media", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(p).and_then(|x| x.get(method)).is_some(),
            "{method} {p} missing from the spec"
        );
    }
    // Every documented path answers (not 404/405 from the router) when called as documented.
    for (p, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = relay.url(&p.replace("{id}", "1"));
            let r = relay
                .http
                .request(method.to_uppercase().parse().unwrap(), url)
                .send()
                .await
                .unwrap();
            assert!(
                r.status() != 405,
                "{method} {p} is documented but not routed"
            );
            if !p.contains("{id}") {
                assert!(
                    r.status() != 404 || p.contains("media"),
                    "{method} {p} is documented but not routed"
                );
            }
        }
    }
    assert!(spec["components"]["schemas"]["SendRequest"].is_object());
    let metrics = relay
        .http
        .get(relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "switchboard_webhooks_accepted_total",
        "switchboard_messages_in_total",
        "switchboard_messages_out_total",
        "switchboard_send_queue_depth",
        "switchboard_event_log_head",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}
