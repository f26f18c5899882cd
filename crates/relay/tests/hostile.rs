//! The relay against hostile clients, over real sockets: one user cannot open streams without
//! end, a client cannot push huge frames into its stream, half-sent requests and connections over
//! the limit are dropped, and only a trusted proxy's `X-Forwarded-For` names the client of a
//! sign-in. Through all of it `/healthz` keeps answering.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// A client that keeps no idle connections: every request goes on a new one (the relay closes
/// idle ones after its header timeout, which some of these tests make short).
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn healthz(relay: &Relay, http: &reqwest::Client) -> u16 {
    match http
        .get(relay.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(e) => panic!("/healthz did not answer: {e}"),
    }
}

#[tokio::test]
async fn a_user_over_the_stream_cap_is_refused_with_429_while_another_user_connects() {
    let relay = Relay::start_with(&no_graph(), |c| c.max_streams_per_user = 2).await;
    let anna = relay.login_as("anna@example.com", Role::Agent).await;
    let ben = relay.login_as("ben@example.com", Role::Agent).await;
    let mut first = connect_stream(&relay, &anna).await.expect("first stream");
    let second = connect_stream(&relay, &anna).await.expect("second stream");

    match connect_stream(&relay, &anna).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body = response.body().clone().unwrap_or_default();
            let body = String::from_utf8_lossy(&body);
            assert!(body.contains("\"too_many_streams\""), "{body}");
        }
        Ok(_) => panic!("a third stream of one user was opened"),
        Err(e) => panic!("the third stream failed otherwise: {e}"),
    }
    let mut bens = connect_stream(&relay, &ben)
        .await
        .expect("another user still connects");
    stays_open(&mut bens, Duration::from_millis(500)).await;
    stays_open(&mut first, Duration::from_millis(500)).await;

    // A stream that ends gives its place back.
    drop(second);
    let _third = relay
        .eventually(Duration::from_secs(5), "the freed place", || async {
            connect_stream(&relay, &anna).await.ok()
        })
        .await;
}

#[tokio::test]
async fn a_client_sending_a_huge_frame_loses_its_stream_and_the_relay_keeps_answering() {
    let relay = Relay::start(&no_graph()).await;
    let token = relay.login_as("anna@example.com", Role::Agent).await;
    let mut ws = connect_stream(&relay, &token).await.unwrap();
    // The relay stops reading at the frame's header, so sending may fail part-way.
    let huge = WsMessage::Text("x".repeat(1024 * 1024).into());
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.send(huge)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(WsMessage::Close(_)))) => break,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the stream stayed open after a 1 MiB frame"),
        }
    }
    assert_eq!(healthz(&relay, &fresh_client()).await, 200);

    // What clients really send (small messages) keeps a stream open.
    let mut ws = connect_stream(&relay, &token).await.unwrap();
    ws.send(WsMessage::Text("y".repeat(1024).into()))
        .await
        .unwrap();
    stays_open(&mut ws, Duration::from_millis(1000)).await;
}

#[tokio::test]
async fn half_sent_requests_are_dropped_after_the_header_timeout_while_healthz_answers() {
    let relay = Relay::start_with(&no_graph(), |c| {
        c.header_read_timeout = Duration::from_secs(2)
    })
    .await;
    let http = fresh_client();
    let started = Instant::now();
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(relay.addr()).await.unwrap();
        tcp.write_all(b"GET /heal").await.unwrap();
        readers.spawn(async move {
            let mut buf = [0u8; 1024];
            loop {
                match tcp.read(&mut buf).await {
                    // Closed or reset by the relay.
                    Ok(0) | Err(_) => return,
                    // An error answer (408) before the close is fine.
                    Ok(_) => {}
                }
            }
        });
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut probe = tokio::time::interval(Duration::from_millis(250));
    let mut dropped = 0;
    let mut probes = 0;
    while dropped < 200 {
        tokio::select! {
            done = readers.join_next() => {
                done.expect("a reader").expect("the reader ran");
                dropped += 1;
            }
            _ = probe.tick() => {
                assert_eq!(healthz(&relay, &http).await, 200, "while {dropped} of 200 were dropped");
                probes += 1;
            }
            () = tokio::time::sleep_until(deadline) => {
                panic!("after 45 s only {dropped} of 200 half-sent requests were dropped");
            }
        }
    }
    assert!(probes > 0);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "dropped before their headers could have timed out"
    );
    assert_eq!(healthz(&relay, &http).await, 200);
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    // A long header timeout: whatever closes early here is the limit.
    let relay = Relay::start_with(&no_graph(), |c| {
        c.max_connections = 3;
        c.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    // (`relay.http` may still hold the connection it checked /healthz on: it counts too.)
    let mut held = Vec::new();
    loop {
        let mut tcp = TcpStream::connect(relay.addr()).await.unwrap();
        let _ = tcp.write_all(b"GET /heal").await;
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(1), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => panic!("the relay answered a half-sent request"),
            Err(_) => held.push(tcp),
        }
        assert!(
            held.len() <= 3,
            "{} connections open beside each other with max_connections = 3",
            held.len()
        );
    }
    assert!(!held.is_empty(), "the limit closed the first connection");

    // Places come back when connections close.
    drop(held);
    let http = fresh_client();
    relay
        .eventually(
            Duration::from_secs(5),
            "/healthz with places free",
            || async {
                let r = http.get(relay.url("/healthz")).send().await.ok()?;
                (r.status() == 200).then_some(())
            },
        )
        .await;
}

async fn sign_in(relay: &Relay, email: &str, password: &str, forwarded_for: &str) -> (u16, Value) {
    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

async fn session_ip(relay: &Relay, token: &str) -> String {
    let (code, sessions) = relay.get(token, "/api/v1/me/sessions").await;
    assert_eq!(code, 200, "{sessions}");
    sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .expect("the current session")["ip"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_of_a_sign_in_and_nobody_else_does() {
    // The tests connect from 127.0.0.1: here that is the proxy.
    let relay = Relay::start_with(&no_graph(), |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.login_attempts_per_minute = 3;
    })
    .await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    relay.user("anna@example.com", Role::Agent).await;
    // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
    let (code, body) = sign_in(
        &relay,
        "anna@example.com",
        "password123",
        "6.6.6.6, 198.51.100.7",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        session_ip(&relay, body["token"].as_str().unwrap()).await,
        "198.51.100.7"
    );

    // The per-address limit holds for the forwarded client (a loopback peer alone is exempt).
    let mut codes = Vec::new();
    for i in 0..5 {
        let email = format!("nobody{i}@example.com");
        codes.push(sign_in(&relay, &email, "guess", "198.51.100.9").await.0);
    }
    assert_eq!(&codes[..3], &[401, 401, 401], "{codes:?}");
    assert_eq!(codes[4], 429, "{codes:?}");
    let (code, _) = sign_in(&relay, "nobody9@example.com", "guess", "198.51.100.10").await;
    assert_eq!(code, 401, "another client is not limited");
    let audit = relay.get(&admin, "/api/v1/admin/audit").await.1;
    let failed_from = |ip: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "login.failed" && e["details"]["ip"] == ip)
            .count()
    };
    assert_eq!(failed_from("198.51.100.9"), 3, "{audit}");
    assert_eq!(failed_from("198.51.100.10"), 1, "{audit}");

    // Without trusted proxies the header is anybody's: ignored.
    let plain = Relay::start_with(&no_graph(), |c| c.login_attempts_per_minute = 3).await;
    plain.user("anna@example.com", Role::Agent).await;
    let (code, body) = sign_in(&plain, "anna@example.com", "password123", "198.51.100.7").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        session_ip(&plain, body["token"].as_str().unwrap()).await,
        "127.0.0.1"
    );
    for i in 0..5 {
        let email = format!("nobody{i}@example.com");
        let (code, _) = sign_in(&plain, &email, "guess", "198.51.100.9").await;
        assert_eq!(
            code, 401,
            "a forged address is not limited, nor is loopback"
        );
    }
}
