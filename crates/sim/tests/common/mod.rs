//! Test helpers: a tiny webhook receiver that verifies signatures and parses bodies with
//! `switchboard-protocol`, and a simulator wired to it.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use switchboard_protocol::signature::verify;
use switchboard_protocol::webhook::{
    parse_notification, Change, InboundMessage, Notification, Status,
};
use switchboard_sim::{SimConfig, Simulator};
use tokio::sync::watch;

pub const SECRET: &str = "test-app-secret";
pub const TOKEN: &str = "sim-access-token";
pub const PNID: &str = "200000000000002";
pub const WAIT: Duration = Duration::from_secs(10);

/// One webhook POST as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Bytes,
    pub signature_ok: bool,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub notification: Option<Notification>,
}

impl Received {
    pub fn messages(&self) -> Vec<InboundMessage> {
        self.changes().flat_map(|m| m.messages.clone()).collect()
    }
    pub fn statuses(&self) -> Vec<Status> {
        self.changes().flat_map(|m| m.statuses.clone()).collect()
    }
    pub fn changes(&self) -> impl Iterator<Item = &switchboard_protocol::webhook::MessagesValue> {
        self.notification
            .iter()
            .flat_map(|n| n.entries.iter())
            .flat_map(|e| e.changes.iter())
            .filter_map(|c| match c {
                Change::Messages(m) => Some(m),
                _ => None,
            })
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Responder = Arc<dyn Fn(usize) -> StatusCode + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    hooks: Arc<Mutex<Vec<Received>>>,
    count: Arc<watch::Sender<usize>>,
    respond: Responder,
}

/// A webhook receiver on 127.0.0.1:0.
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
}

async fn receive(State(s): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let signature_ok = verify(
        SECRET.as_bytes(),
        &body,
        header("x-hub-signature-256").as_deref(),
    );
    let received = Received {
        notification: parse_notification(&body).ok(),
        body,
        signature_ok,
        content_type: header("content-type"),
        user_agent: header("user-agent"),
    };
    let index = {
        let mut hooks = s.hooks.lock().unwrap();
        hooks.push(received);
        hooks.len() - 1
    };
    s.count.send_modify(|n| *n += 1);
    (s.respond)(index)
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Receiver {
        Receiver::with_responder(|_| StatusCode::OK).await
    }

    /// A receiver answering `respond(index of this POST)`.
    pub async fn with_responder(
        respond: impl Fn(usize) -> StatusCode + Send + Sync + 'static,
    ) -> Receiver {
        let state = ReceiverState {
            hooks: Arc::default(),
            count: Arc::new(watch::channel(0).0),
            respond: Arc::new(respond),
        };
        let app = Router::new()
            .route("/webhook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, state }
    }

    pub fn all(&self) -> Vec<Received> {
        self.state.hooks.lock().unwrap().clone()
    }

    /// Waits until `pred` holds over everything received so far; panics after [`WAIT`].
    pub async fn wait_until(
        &self,
        what: &str,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let mut rx = self.state.count.subscribe();
        let wait = async {
            loop {
                let all = self.all();
                if pred(&all) {
                    return all;
                }
                rx.changed().await.unwrap();
            }
        };
        match tokio::time::timeout(WAIT, wait).await {
            Ok(all) => all,
            Err(_) => panic!("timed out waiting for {what}; got {:#?}", self.all()),
        }
    }

    /// Waits for at least `n` POSTs.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.wait_until(&format!("{n} webhooks"), |all| all.len() >= n)
            .await
    }

    /// All statuses received so far for `wamid`, in arrival order.
    pub fn statuses_of(&self, wamid: &str) -> Vec<Status> {
        self.all()
            .iter()
            .flat_map(|r| r.statuses())
            .filter(|s| s.wamid == wamid)
            .collect()
    }

    /// Waits for `n` statuses of `wamid`.
    pub async fn wait_statuses(&self, wamid: &str, n: usize) -> Vec<Status> {
        self.wait_until(&format!("{n} statuses of {wamid}"), |all| {
            all.iter()
                .flat_map(|r| r.statuses())
                .filter(|s| s.wamid == wamid)
                .count()
                >= n
        })
        .await;
        self.statuses_of(wamid)
    }
}

/// A fast test configuration (short retries) pointing at `url`.
pub fn config(url: &str) -> SimConfig {
    let mut c = SimConfig::new(url, SECRET);
    c.retry_schedule = vec![
        Duration::from_millis(50),
        Duration::from_millis(100),
        Duration::from_millis(200),
    ];
    c.webhook_timeout = Duration::from_secs(2);
    c
}

pub async fn start_sim(config: SimConfig) -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(config, listener).await.unwrap()
}

/// A receiver answering 200 and a simulator pointed at it.
pub async fn setup() -> (Simulator, Receiver) {
    let rx = Receiver::start().await;
    let sim = start_sim(config(&rx.url)).await;
    (sim, rx)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `POST {base}/v25.0/{pnid}/messages` with the right token.
pub async fn send(sim: &Simulator, body: serde_json::Value) -> reqwest::Response {
    send_to(sim, PNID, body).await
}

pub async fn send_to(sim: &Simulator, pnid: &str, body: serde_json::Value) -> reqwest::Response {
    client()
        .post(format!("{}/v25.0/{pnid}/messages", sim.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub fn text(to: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    })
}

pub fn template(to: &str, name: &str, lang: &str, params: &[&str]) -> serde_json::Value {
    let parameters: Vec<_> = params
        .iter()
        .map(|p| serde_json::json!({"type": "text", "text": p}))
        .collect();
    serde_json::json!({
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": lang},
            "components": [{"type": "body", "parameters": parameters}],
        },
    })
}

/// The Graph error of a failed answer: (HTTP status, envelope).
pub async fn graph_error(
    resp: reqwest::Response,
) -> (u16, switchboard_protocol::graph::GraphApiError) {
    let status = resp.status().as_u16();
    let env: switchboard_protocol::graph::ErrorEnvelope = resp.json().await.unwrap();
    (status, env.error)
}
