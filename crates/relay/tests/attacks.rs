//! The attacks of `docs/security.md` against the real relay binary (`switchboard-relay serve`,
//! its own process, configured only through its environment and admin CLI), as an attacker would
//! meet it: a stream kept after logout or deactivation, a lower-case `bearer`, a replayed signed
//! body, a 1 MB sign-in, an oversized WebSocket frame and 200 half-sent requests, while `/healthz`
//! keeps answering.

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

/// Waits (up to 5 s) for the server to end the stream; the close code, if it sent one.
async fn ended(ws: &mut common::Ws) -> Option<u16> {
    common::closed_within(ws, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_binary_withstands_the_documented_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (email, role) in [("ada@example.com", "admin"), ("ben@example.com", "agent")] {
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

    // A 1 MB sign-in is refused without harm.
    let r = t
        .http
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"email": format!("{}@example.com", "a".repeat(1_000_000)), "password": "x"}))
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 400 | 413), "{}", r.status());

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
