//! Sending through the Graph API, against the real simulator over loopback: delivery states,
//! retries on throttling, 5xx and hung requests, terminal errors, idempotency, the 24-hour window,
//! per-conversation order, media and read receipts.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_sim::{FaultKind, FaultRule, SimConfig, Simulator};

struct World {
    sim: Simulator,
    relay: Relay,
    token: String,
}

async fn world() -> World {
    world_with(|_| {}).await
}

async fn world_with(tweak: impl FnOnce(&mut switchboard_relay::config::Config)) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(SimConfig::new("", APP_SECRET), listener)
        .await
        .unwrap();
    let relay = Relay::start_with(&sim.base_url(), |c| {
        c.graph_timeout = Duration::from_millis(700);
        tweak(c)
    })
    .await;
    sim.set_webhook_url(&relay.url("/webhooks/whatsapp"));
    let token = relay.login_as("agent@example.com", Role::Agent).await;
    World { sim, relay, token }
}

impl World {
    /// The customer writes; returns the relay's conversation id once the message is there.
    async fn customer_writes(&self, wa_id: &str, text: &str) -> i64 {
        let wamid = self
            .sim
            .customer(wa_id)
            .named("Kunde")
            .says(text)
            .await
            .unwrap();
        self.relay
            .eventually(Duration::from_secs(5), "inbound message", || async {
                let (_, convs) = self.relay.get(&self.token, "/api/v1/conversations").await;
                for c in convs["items"].as_array()? {
                    let (_, msgs) = self
                        .relay
                        .get(
                            &self.token,
                            &format!("/api/v1/conversations/{}/messages", c["id"]),
                        )
                        .await;
                    if msgs["items"]
                        .as_array()?
                        .iter()
                        .any(|m| m["wamid"] == wamid.as_str())
                    {
                        return c["id"].as_i64();
                    }
                }
                None
            })
            .await
    }

    async fn send(&self, conv: i64, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut req = self
            .relay
            .http
            .post(
                self.relay
                    .url(&format!("/api/v1/conversations/{conv}/messages")),
            )
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn message(&self, conv: i64, id: i64) -> Value {
        let (_, msgs) = self
            .relay
            .get(
                &self.token,
                &format!("/api/v1/conversations/{conv}/messages?limit=500"),
            )
            .await;
        msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap()
    }

    async fn wait_status(&self, conv: i64, id: i64, status: &str) -> Value {
        self.relay
            .eventually(
                Duration::from_secs(10),
                &format!("status {status}"),
                || async {
                    let m = self.message(conv, id).await;
                    (m["status"] == status).then_some(m)
                },
            )
            .await
    }
}

#[tokio::test]
async fn reply_goes_out_and_moves_through_sent_delivered_read() {
    let w = world().await;
    let conv = w
        .customer_writes("4915112345678", "Hallo, wo ist mein Paket?")
        .await;
    let (status, msg) = w
        .send(
            conv,
            json!({"type":"text","text":"Es ist unterwegs!"}),
            None,
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(msg["status"], "queued");
    let id = msg["id"].as_i64().unwrap();
    let read = w.wait_status(conv, id, "read").await;
    assert!(read["wamid"].as_str().unwrap().starts_with("wamid."));
    let sent = w.sim.sent().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload["text"]["body"], "Es ist unterwegs!");
    assert_eq!(sent[0].payload["to"], "+4915112345678");
    assert_eq!(sent[0].wamid, read["wamid"].as_str().unwrap());

    // Every state change reached the event log, in order.
    let (_, page) = w
        .relay
        .get(&w.token, "/api/v1/events?after=0&limit=1000")
        .await;
    let states: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["id"] == id && e["kind"].as_str().unwrap().starts_with("message."))
        .map(|e| e["data"]["status"].as_str().unwrap().to_string())
        .collect();
    let mut dedup = states.clone();
    dedup.dedup();
    assert_eq!(dedup, ["queued", "sent", "delivered", "read"], "{states:?}");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_delivered_once() {
    let w = world().await;
    let conv = w.customer_writes("4915100000002", "Preis?").await;
    w.sim
        .add_fault(FaultRule::times(FaultKind::RateLimit { code: 130429 }, 2));
    w.sim
        .add_fault(FaultRule::times(FaultKind::ServerError { code: 131000 }, 1));
    w.sim
        .add_fault(FaultRule::times(FaultKind::RateLimit { code: 80007 }, 1));
    let (_, msg) = w
        .send(conv, json!({"type":"text","text":"19,99 EUR"}), None)
        .await;
    let id = msg["id"].as_i64().unwrap();
    w.wait_status(conv, id, "delivered").await;
    assert_eq!(w.sim.sent().await.len(), 1, "accepted exactly once");
    let metrics = w
        .relay
        .http
        .get(w.relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_send_retries_total 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_hung_graph_call_times_out_and_is_retried() {
    let w = world().await;
    let conv = w.customer_writes("4915100000003", "Hallo?").await;
    w.sim.add_fault(FaultRule::times(FaultKind::Hang, 1));
    let (_, msg) = w
        .send(conv, json!({"type":"text","text":"Bin da"}), None)
        .await;
    let id = msg["id"].as_i64().unwrap();
    w.wait_status(conv, id, "delivered").await;
    assert_eq!(w.sim.sent().await.len(), 1);
}

#[tokio::test]
async fn terminal_errors_are_recorded_with_metas_code() {
    let w = world().await;
    let conv = w.customer_writes("4915100000004", "Hi").await;
    w.sim.add_fault(FaultRule::times(
        FaultKind::TerminalError { code: 131026 },
        1,
    ));
    let (_, msg) = w
        .send(conv, json!({"type":"text","text":"Antwort"}), None)
        .await;
    let failed = w
        .wait_status(conv, msg["id"].as_i64().unwrap(), "failed")
        .await;
    assert_eq!(failed["error"]["code"], 131026);
    assert!(failed["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("could not be delivered"));
    assert!(w.sim.sent().await.is_empty());
    // The queue moves on: the next message goes out.
    let (_, next) = w
        .send(conv, json!({"type":"text","text":"Zweiter Versuch"}), None)
        .await;
    w.wait_status(conv, next["id"].as_i64().unwrap(), "delivered")
        .await;
    let metrics = w
        .relay
        .http
        .get(w.relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_send_failures_total{code=\"131026\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_sends_once() {
    let w = world().await;
    let conv = w.customer_writes("4915100000005", "Hallo").await;
    let body = json!({"type":"text","text":"Nur einmal bitte"});
    let (a, b) = tokio::join!(
        w.send(conv, body.clone(), Some("key-123")),
        w.send(conv, body.clone(), Some("key-123"))
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [200, 202]);
    assert_eq!(a.1["id"], b.1["id"]);
    let (again, m) = w.send(conv, body.clone(), Some("key-123")).await;
    assert_eq!((again, &m["id"]), (200, &a.1["id"]));
    assert_eq!(m["client_id"], "key-123");
    let (conflict, err) = w
        .send(
            conv,
            json!({"type":"text","text":"etwas anderes"}),
            Some("key-123"),
        )
        .await;
    assert_eq!(conflict, 409, "{err}");
    w.wait_status(conv, a.1["id"].as_i64().unwrap(), "delivered")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.sim.sent().await.len(), 1, "one Graph send for one key");
}

#[tokio::test]
async fn outside_the_window_meta_reports_131047() {
    let w = world().await;
    let conv = w.customer_writes("4915100000006", "Gestern").await;
    w.sim
        .customer("4915100000006")
        .set_last_inbound(SystemTime::now() - Duration::from_secs(25 * 3600));
    let (_, msg) = w
        .send(conv, json!({"type":"text","text":"Zu spät"}), None)
        .await;
    let failed = w
        .wait_status(conv, msg["id"].as_i64().unwrap(), "failed")
        .await;
    assert_eq!(failed["error"]["code"], 131047);
    assert!(failed["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("24 hours"));
    // A template is allowed outside the window.
    let (_, t) = w
        .send(
            conv,
            json!({"type":"template","template":{"name":"hello_world","language":"en_US"}}),
            None,
        )
        .await;
    w.wait_status(conv, t["id"].as_i64().unwrap(), "delivered")
        .await;
}

#[tokio::test]
async fn messages_to_one_customer_leave_in_order() {
    let w = world_with(|c| c.send_backoff_base = Duration::from_millis(20)).await;
    let conv = w.customer_writes("4915100000007", "Erzähl mal").await;
    // A throttled first attempt must not let later messages overtake it.
    w.sim
        .add_fault(FaultRule::times(FaultKind::RateLimit { code: 130429 }, 1));
    let mut ids = Vec::new();
    for i in 0..8 {
        let (_, m) = w
            .send(
                conv,
                json!({"type":"text","text":format!("Teil {i}")}),
                None,
            )
            .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    w.wait_status(conv, *ids.last().unwrap(), "delivered").await;
    let bodies: Vec<String> = w
        .sim
        .sent()
        .await
        .iter()
        .map(|s| s.payload["text"]["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..8).map(|i| format!("Teil {i}")).collect();
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn inbound_media_is_fetched_once_and_only_for_allowed_users() {
    let w = world().await;
    let wamid = w
        .sim
        .customer("4915100000008")
        .sends_image("Schaden am Paket")
        .await
        .unwrap();
    let (conv, msg_id) = w
        .relay
        .eventually(Duration::from_secs(5), "image message", || async {
            let (_, convs) = w.relay.get(&w.token, "/api/v1/conversations").await;
            let c = convs["items"].as_array()?.first()?.clone();
            let (_, msgs) = w
                .relay
                .get(
                    &w.token,
                    &format!("/api/v1/conversations/{}/messages", c["id"]),
                )
                .await;
            let m = msgs["items"]
                .as_array()?
                .iter()
                .find(|m| m["wamid"] == wamid.as_str())?
                .clone();
            Some((c["id"].as_i64()?, m["id"].as_i64()?))
        })
        .await;
    let url = w.relay.url(&format!("/api/v1/messages/{msg_id}/media"));
    let r = w
        .relay
        .http
        .get(&url)
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/"));
    let bytes = r.bytes().await.unwrap();
    assert!(!bytes.is_empty());
    // Served from the cache the second time (the simulator is no longer needed).
    w.sim.shutdown();
    let again = w
        .relay
        .http
        .get(&url)
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.bytes().await.unwrap(), bytes);
    // Nobody else's agent may fetch it once the conversation is someone else's.
    let other = w.relay.login_as("other@example.com", Role::Agent).await;
    w.relay
        .store
        .write(move |ctx| {
            Ok(ctx.conn.execute(
                "UPDATE conversations SET assignee_id = 1 WHERE id = ?1",
                [conv],
            )?)
        })
        .await
        .unwrap();
    assert_eq!(
        w.relay
            .http
            .get(&url)
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(w.relay.http.get(&url).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn mark_read_clears_unread_and_sends_a_read_receipt() {
    let w = world().await;
    let conv = w.customer_writes("4915100000009", "Eins").await;
    let (_, c) = w
        .relay
        .get(&w.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(c["unread_count"], 1);
    let (status, _) = w
        .relay
        .post(
            &w.token,
            &format!("/api/v1/conversations/{conv}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, c) = w
        .relay
        .get(&w.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(c["unread_count"], 0);
    w.relay
        .eventually(
            Duration::from_secs(5),
            "read receipt at the simulator",
            || async { (!w.sim.reads().await.is_empty()).then_some(()) },
        )
        .await;
}

/// An agent attaches a file: the relay uploads it to WhatsApp (multipart, like Meta's API), the
/// send names the uploaded id, the simulator receives `{"image": {"id": ...}}`, and the relay
/// serves the file back for the agent's own bubble. Bad files are refused clearly, unsent.
#[tokio::test]
async fn attachments_are_uploaded_then_sent_by_id() {
    let w = world().await;
    let conv = w
        .customer_writes("4915100000042", "Schicken Sie mir die Rechnung?")
        .await;
    let upload = |mime: &'static str, name: &'static str, body: Vec<u8>| {
        let req = w
            .relay
            .http
            .post(w.relay.url(&format!(
                "/api/v1/conversations/{conv}/media?filename={name}"
            )))
            .bearer_auth(&w.token)
            .header("content-type", mime)
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    // A tiny PNG (signature + IHDR is enough for WhatsApp's type check here).
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64][..]].concat();
    let (s, up) = upload("image/png", "beleg.png", png.clone()).await;
    assert_eq!(s, 201, "{up}");
    assert_eq!(up["kind"], "image");
    assert_eq!(up["filename"], "beleg.png");
    let media_id = up["media_id"].as_str().unwrap().to_string();

    let (s, msg) = w
        .send(
            conv,
            json!({"type": "image", "media_id": media_id, "caption": "Ihr Beleg"}),
            Some("attach-1"),
        )
        .await;
    assert_eq!(s, 202, "{msg}");
    let id = msg["id"].as_i64().unwrap();
    w.wait_status(conv, id, "sent").await;
    let sent = w.sim.sent().await;
    let out = sent
        .iter()
        .find(|m| m.payload["type"] == "image")
        .expect("the simulator received the image");
    assert_eq!(out.payload["image"]["id"], media_id.as_str());
    assert_eq!(out.payload["image"]["caption"], "Ihr Beleg");
    assert!(out.payload["image"].get("link").is_none());
    // The agent's own bubble shows the file, served by the relay.
    let r = w
        .relay
        .http
        .get(w.relay.url(&format!("/api/v1/messages/{id}/media")))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // A document keeps its (cleaned) name.
    let (s, doc) = upload(
        "application/pdf",
        "..%2F..%2Fetc%2Frechnung.pdf",
        b"%PDF-1.4 x".to_vec(),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(doc["kind"], "document");
    assert_eq!(doc["filename"], "rechnung.pdf");

    // Refused before anything reaches WhatsApp: a type WhatsApp cannot send, an empty file, an
    // image over 5 MB, both link and media_id, a media id that is not one.
    let before = w.sim.sent().await.len();
    let (s, e) = upload("application/x-msdownload", "setup.exe", b"MZ".to_vec()).await;
    assert_eq!(s, 415, "{e}");
    assert_eq!(e["code"], "unsupported_media_type");
    let (s, e) = upload("image/png", "leer.png", Vec::new()).await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = upload("image/jpeg", "gross.jpg", vec![0u8; 5 * 1024 * 1024 + 1]).await;
    assert_eq!(s, 413, "{e}");
    assert!(e["message"].as_str().unwrap().contains("5 MB"), "{e}");
    let (s, e) = w
        .send(
            conv,
            json!({"type": "image", "media_id": media_id, "link": "https://example.com/a.png"}),
            None,
        )
        .await;
    assert!(s == 400 || s == 422, "{s} {e}");
    let (s, e) = w
        .send(conv, json!({"type": "document", "media_id": "../x"}), None)
        .await;
    assert!(s == 400 || s == 422, "{s} {e}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.sim.sent().await.len(), before);
    assert_eq!(w.relay.count("uploads").await, 2);
}
