//! Who may send a media id, against the real relay and simulator: a file uploaded for one
//! conversation goes out there (by whoever may see it), and anywhere else only for someone who
//! may currently see a message carrying it. A refused send queues nothing and reaches nobody.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

const WA_A: &str = "4915100000101";
const WA_B: &str = "4915100000102";

/// The customer writes; returns the relay's conversation with them once it is there.
async fn conversation_with(w: &World, sup: &str, wa_id: &str) -> i64 {
    w.sim
        .customer(wa_id)
        .named("Kunde")
        .says("Hallo")
        .await
        .unwrap();
    w.relay
        .eventually(Duration::from_secs(5), "the conversation", || async {
            let (_, list) = w.relay.get(sup, "/api/v1/conversations").await;
            list["items"]
                .as_array()?
                .iter()
                .find(|c| c["contact"]["wa_id"] == wa_id)?["id"]
                .as_i64()
        })
        .await
}

async fn assign(w: &World, sup: &str, conv: i64, agent: i64) {
    let (s, body) = w
        .relay
        .post(
            sup,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": agent, "force": true}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

async fn upload_png(w: &World, token: &str, conv: i64) -> String {
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[7u8; 64][..]].concat();
    let r = w
        .relay
        .http
        .post(w.relay.url(&format!(
            "/api/v1/conversations/{conv}/media?filename=beleg.png"
        )))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let up: Value = r.json().await.unwrap();
    up["media_id"].as_str().unwrap().to_string()
}

async fn send_image(w: &World, token: &str, conv: i64, media_id: &str) -> (u16, Value) {
    w.relay
        .post(
            token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"type": "image", "media_id": media_id}),
        )
        .await
}

/// Images naming `media_id` the simulator received for the customer `wa_id`.
async fn images_to(w: &World, wa_id: &str, media_id: &str) -> usize {
    let to = format!("+{wa_id}");
    w.sim
        .sent()
        .await
        .iter()
        .filter(|m| m.payload["to"] == to.as_str() && m.payload["image"]["id"] == media_id)
        .count()
}

#[tokio::test]
async fn a_media_id_goes_out_only_where_its_sender_may_see_it() {
    let w = World::start().await;
    let sup = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let anna_id = w.relay.user("anna@example.com", Role::Agent).await;
    let anna = w.relay.login("anna@example.com", "password123").await.token;
    let ben_id = w.relay.user("ben@example.com", Role::Agent).await;
    let ben = w.relay.login("ben@example.com", "password123").await.token;
    let conv_a = conversation_with(&w, &sup, WA_A).await;
    let conv_b = conversation_with(&w, &sup, WA_B).await;
    assign(&w, &sup, conv_a, anna_id).await;
    assign(&w, &sup, conv_b, ben_id).await;

    let media_id = upload_png(&w, &anna, conv_a).await;

    // Ben names Anna's file in his own conversation: refused as unknown, nothing queued.
    let (s, e) = send_image(&w, &ben, conv_b, &media_id).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["code"], "not_found");
    assert!(e["message"].as_str().unwrap().contains("media"), "{e}");
    // A supervisor may not move it to B either: it was uploaded for A and no message carries it.
    let (s, e) = send_image(&w, &sup, conv_b, &media_id).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(w.relay.count("outbox").await, 0);
    assert_eq!(w.relay.count("messages WHERE direction = 'out'").await, 0);

    // In A, the conversation it was uploaded for, Anna and the supervisor may send it.
    let (s, m) = send_image(&w, &anna, conv_a, &media_id).await;
    assert_eq!(s, 202, "{m}");
    let (s, m) = send_image(&w, &sup, conv_a, &media_id).await;
    assert_eq!(s, 202, "{m}");
    // Ben still may not, although messages in A now carry it: he does not see A.
    let (s, e) = send_image(&w, &ben, conv_b, &media_id).await;
    assert_eq!(s, 404, "{e}");

    // Ben's next message in B reaches the customer; the refused image never went before it.
    let (s, m) = w
        .relay
        .post(
            &ben,
            &format!("/api/v1/conversations/{conv_b}/messages"),
            json!({"type": "text", "text": "Gleich"}),
        )
        .await;
    assert_eq!(s, 202, "{m}");
    let to_b = format!("+{WA_B}");
    w.relay
        .eventually(
            Duration::from_secs(10),
            "Ben's text and Anna's images sent",
            || async {
                let sent = w.sim.sent().await;
                let text_to_b = sent
                    .iter()
                    .any(|m| m.payload["to"] == to_b.as_str() && m.payload["type"] == "text");
                (text_to_b && images_to(&w, WA_A, &media_id).await == 2).then_some(())
            },
        )
        .await;
    assert_eq!(images_to(&w, WA_B, &media_id).await, 0);
    assert_eq!(
        w.relay
            .count("messages WHERE direction = 'out' AND media_id IS NOT NULL")
            .await,
        2
    );

    // Once A is Ben's, he sees messages carrying the file and may forward it to B.
    assign(&w, &sup, conv_a, ben_id).await;
    let (s, m) = send_image(&w, &ben, conv_b, &media_id).await;
    assert_eq!(s, 202, "{m}");
    w.relay
        .eventually(Duration::from_secs(10), "the forwarded image", || async {
            (images_to(&w, WA_B, &media_id).await == 1).then_some(())
        })
        .await;
}
