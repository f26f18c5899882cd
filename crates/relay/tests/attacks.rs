//! The attacks of `docs/security.md` against the real relay binary (`switchboard-relay serve`,
//! its own process, configured only through its environment and admin CLI), as an attacker would
//! meet it: a stream kept after logout or deactivation, a lower-case `bearer`, a replayed signed
//! body, a hundred 1 MB sign-ins at once (memory stays bounded), an oversized WebSocket frame and
//! 200 half-sent requests, while `/healthz` keeps answering; and an agent who lost a conversation
//! replaying the log for its note or sending a media id of a conversation not theirs.

mod common;

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{json, Value};
use switchboard_protocol::signature;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const PASSWORD: &str = "relay-attack-secret";

fn admin(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) {
    common::admin_cli(common::relay_cmd(dir), args, stdin);
}

struct Target {
    base: String,
    http: reqwest::Client,
}

impl Target {
    async fn login(&self, email: &str) -> (String, i64) {
        let r: Value = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            r["token"].as_str().unwrap().to_string(),
            r["id"].as_i64().unwrap(),
        )
    }

    async fn status(&self, token: &str, path: &str) -> u16 {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn call(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn webhook(&self, body: Vec<u8>) {
        let r = self
            .http
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header(
                "x-hub-signature-256",
                signature::sign(common::APP_SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn healthy(&self) -> bool {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    async fn stream(&self, token: &str) -> common::Ws {
        common::connect_stream_at(self.base.trim_start_matches("http://"), token)
            .await
            .unwrap()
    }
}

/// The relay process's resident memory now and at its peak, in KiB (Linux `/proc`).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Admin CLI set-up shared by the tests: an admin, the given agents, the simulator's number.
fn set_up(d: &std::path::Path, agents: &[&str]) {
    let users =
        std::iter::once(("ada@example.com", "admin")).chain(agents.iter().map(|a| (*a, "agent")));
    for (email, role) in users {
        admin(
            d,
            &[
                "create-user",
                "--email",
                email,
                "--name",
                email,
                "--role",
                role,
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
    }
    admin(
        d,
        &[
            "add-number",
            "--phone-number-id",
            "200000000000002",
            "--display-phone-number",
            "15550001111",
            "--name",
            "Support",
        ],
        None,
    );
}

/// Waits (up to 5 s) for the server to end the stream; the close code, if it sent one.
async fn ended(ws: &mut common::Ws) -> Option<u16> {
    common::closed_within(ws, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_binary_withstands_the_documented_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    set_up(d, &["ben@example.com"]);
    let (mut child, base) = common::serve_reading_address(common::relay_cmd(d), None);
    let t = Target {
        base,
        http: reqwest::Client::new(),
    };
    let (ada, _) = t.login("ada@example.com").await;

    // A stream outlives neither a logout (with a lower-case scheme) nor a deactivation.
    let (ben, ben_id) = t.login("ben@example.com").await;
    let mut ws = t.stream(&ben).await;
    let r = t
        .http
        .post(format!("{}/api/v1/auth/logout", t.base))
        .header("authorization", format!("bearer {ben}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(ended(&mut ws).await, Some(1008));
    assert_eq!(t.status(&ben, "/api/v1/me").await, 401);

    let (ben, _) = t.login("ben@example.com").await;
    let mut ws = t.stream(&ben).await;
    let r = t
        .http
        .patch(format!("{}/api/v1/admin/users/{ben_id}", t.base))
        .bearer_auth(&ada)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(ended(&mut ws).await, Some(1008));
    assert_eq!(t.status(&ben, "/api/v1/conversations").await, 401);
    let r = t
        .http
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"email": "ben@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A replayed signed body is acknowledged but stored once.
    let body = common::text_body("4915100000001", "wamid.attack1", "Hallo");
    for _ in 0..2 {
        let r = t
            .http
            .post(format!("{}/webhooks/whatsapp", t.base))
            .header(
                "x-hub-signature-256",
                signature::sign(common::APP_SECRET.as_bytes(), &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let metrics = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_webhooks_replayed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_messages_in_total 1"),
        "{metrics}"
    );

    // A hundred 1 MB sign-ins at once are refused without holding them: the relay's peak memory
    // grows by far less than the 100 MB they carry.
    let (rss_before, _) = memory_kib(child.id());
    let huge = serde_json::to_vec(
        &json!({"email": format!("{}@example.com", "a".repeat(1_000_000)), "password": "x"}),
    )
    .unwrap();
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (http, url, body) = (
            t.http.clone(),
            format!("{}/api/v1/auth/login", t.base),
            huge.clone(),
        );
        logins.spawn(async move {
            match http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
            {
                Ok(r) => r.status().as_u16(),
                // The relay may answer 413 and close before the whole body is sent.
                Err(_) => 413,
            }
        });
    }
    while let Some(status) = logins.join_next().await {
        assert_eq!(status.unwrap(), 413);
    }
    let (_, peak) = memory_kib(child.id());
    assert!(
        peak.saturating_sub(rss_before) < 16 * 1024,
        "peak memory grew by {} KiB for 100 MB of sign-ins",
        peak.saturating_sub(rss_before)
    );
    assert!(t.healthy().await);

    // An oversized frame ends its stream.
    let mut ws = t.stream(&ada).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        ws.send(WsMessage::Text("x".repeat(1024 * 1024).into())),
    )
    .await;
    ended(&mut ws).await;
    assert!(t.healthy().await);

    // 200 half-sent requests are dropped (default header timeout: 10 s) while /healthz answers.
    let addr = t.base.trim_start_matches("http://").to_string();
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(b"POST /api/v1/auth/lo").await.unwrap();
        readers.spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut dropped = 0;
    while dropped < 200 {
        tokio::select! {
            r = readers.join_next() => { r.unwrap().unwrap(); dropped += 1; }
            () = tokio::time::sleep(Duration::from_millis(500)) => assert!(t.healthy().await, "healthz while {dropped} were dropped"),
            () = tokio::time::sleep_until(deadline) => panic!("only {dropped} of 200 half-sent requests dropped in 45 s"),
        }
    }
    assert!(t.healthy().await);
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test]
async fn an_agent_who_lost_a_conversation_gets_neither_its_note_nor_its_media() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    set_up(d, &["cara@example.com", "dan@example.com"]);
    let (mut child, base) = common::serve_reading_address(common::relay_cmd(d), None);
    let t = Target {
        base,
        http: reqwest::Client::new(),
    };
    let (ada, _) = t.login("ada@example.com").await;
    let (cara, cara_id) = t.login("cara@example.com").await;
    let (dan, dan_id) = t.login("dan@example.com").await;

    // Three customers write (now: their 24-hour windows are open): a text, a photo, a text.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let text_now = |wa: &str, wamid: &str, text: &str| {
        String::from_utf8(common::text_body(wa, wamid, text))
            .unwrap()
            .replace("1790000000", &now)
            .into_bytes()
    };
    t.webhook(text_now("4915100000011", "wamid.n1", "Hallo"))
        .await;
    let photo = serde_json::to_vec(&json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":"Foto"},"wa_id":"4915100000012"}],
        "messages":[{"from":"4915100000012","id":"wamid.n2","timestamp":now,"type":"image",
                     "image":{"id":"1234567890123456","mime_type":"image/jpeg","sha256":"x"}}]}}]}]}))
    .unwrap();
    t.webhook(photo).await;
    t.webhook(text_now("4915100000013", "wamid.n3", "Moin"))
        .await;
    let (s, list) = t
        .call("GET", &ada, "/api/v1/conversations?limit=50", None)
        .await;
    assert_eq!(s, 200, "{list}");
    let conv_of = |wa: &str| {
        let c = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["contact"]["wa_id"] == wa)
            .unwrap_or_else(|| panic!("no conversation with {wa}: {list}"));
        (
            c["id"].as_i64().unwrap(),
            c["contact"]["id"].as_i64().unwrap(),
        )
    };
    let ((text_conv, text_contact), (photo_conv, _), (cara_conv, _)) = (
        conv_of("4915100000011"),
        conv_of("4915100000012"),
        conv_of("4915100000013"),
    );
    let assign = |conv: i64, agent: i64| {
        let (t, ada) = (&t, &ada);
        async move {
            let (s, body) = t
                .call(
                    "POST",
                    ada,
                    &format!("/api/v1/conversations/{conv}/assign"),
                    Some(json!({"agent_id": agent, "force": true})),
                )
                .await;
            assert_eq!(s, 200, "{body}");
        }
    };
    assign(text_conv, cara_id).await;
    assign(photo_conv, dan_id).await;
    assign(cara_conv, cara_id).await;

    // A note on Cara's customer reaches her log while the conversation is hers...
    let notes = format!("/api/v1/contacts/{text_contact}/notes");
    let secret_note = "Kundin zahlt nur per Vorkasse";
    let (s, _) = t
        .call("POST", &ada, &notes, Some(json!({"text": secret_note})))
        .await;
    assert_eq!(s, 201);
    let log = |token: &str| {
        let (t, token) = (&t, token.to_string());
        async move {
            let (s, page) = t
                .call("GET", &token, "/api/v1/events?after=0&limit=500", None)
                .await;
            assert_eq!(s, 200, "{page}");
            page.to_string()
        }
    };
    assert!(log(&cara).await.contains(secret_note));
    // ...and no longer, by any route, once it went to Dan.
    assign(text_conv, dan_id).await;
    assert!(
        !log(&cara).await.contains(secret_note),
        "the log replayed the note"
    );
    assert_eq!(t.call("GET", &cara, &notes, None).await.0, 404);
    assert_eq!(t.call("GET", &dan, &notes, None).await.0, 200);

    // Cara names the photo's media id (Dan's conversation) in her own: refused, nothing queued.
    let send = |token: &str, conv: i64| {
        let (t, token) = (&t, token.to_string());
        async move {
            t.call(
                "POST",
                &token,
                &format!("/api/v1/conversations/{conv}/messages"),
                Some(json!({"type": "image", "media_id": "1234567890123456"})),
            )
            .await
        }
    };
    let (s, body) = send(&cara, cara_conv).await;
    assert_eq!(s, 404, "{body}");
    let (_, msgs) = t
        .call(
            "GET",
            &cara,
            &format!("/api/v1/conversations/{cara_conv}/messages"),
            None,
        )
        .await;
    assert!(
        msgs.to_string().matches("1234567890123456").count() == 0,
        "nothing carrying the foreign media id was queued: {msgs}"
    );
    assert_eq!(
        t.call(
            "GET",
            &cara,
            &format!("/api/v1/conversations/{photo_conv}/messages"),
            None
        )
        .await
        .0,
        404
    );
    // Dan, who may see the photo, may forward it to his customer.
    let (s, body) = send(&dan, photo_conv).await;
    assert_eq!(s, 202, "{body}");

    child.kill().unwrap();
    let _ = child.wait();
}
