//! The shared harness (crates/testkit): the real relay and simulator on loopback ports chosen at
//! run time.
#![allow(unused_imports)]

pub use switchboard_testkit::*;

/// Runs `cmd serve` (the relay binary) and returns it with its base URL, read from its start-up
/// line; with `log`, every line it writes to stderr is also appended there.
#[allow(dead_code)]
pub fn serve_reading_address(
    mut cmd: std::process::Command,
    log: Option<std::path::PathBuf>,
) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader, Write};
    let mut child = cmd
        .arg("serve")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        let mut log = log.and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(f) = log.as_mut() {
                let _ = writeln!(f, "{line}");
            }
            if let Some(addr) = line.strip_prefix("switchboard-relay listening on ") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        }
    });
    let base = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("relay printed its address");
    (child, base)
}

/// A live stream (`/api/v1/stream`) of the test's relay.
#[allow(dead_code)]
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a stream with `token` as the bearer.
#[allow(dead_code)]
pub async fn connect_stream(
    relay: &Relay,
    token: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    connect_stream_at(&relay.addr(), token).await
}

/// Opens a stream on the relay at `addr` (`host:port`) with `token` as the bearer.
#[allow(dead_code)]
pub async fn connect_stream_at(
    addr: &str,
    token: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("ws://{addr}/api/v1/stream");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Asserts the stream is still open after `d` (frames may arrive; no close, no end).
#[allow(dead_code)]
pub async fn stays_open(ws: &mut Ws, d: std::time::Duration) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = std::time::Instant::now() + d;
    while let Ok(frame) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        match frame {
            Some(Ok(Message::Close(f))) => panic!("the stream was closed: {f:?}"),
            None | Some(Err(_)) => panic!("the stream ended"),
            Some(Ok(_)) => {}
        }
    }
}

/// The relay binary with a clean environment: data in `dir` (and, on the PostgreSQL pass, that
/// directory's schema), a loopback port chosen at start, the test app secret, the simulator's
/// access token and no reachable Graph API (override with `.env("WA_GRAPH_URL", ..)`).
#[allow(dead_code)]
pub fn relay_cmd(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard-relay"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWITCHBOARD_DATA_DIR", dir)
        .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("WA_APP_SECRET", APP_SECRET)
        .env("WA_VERIFY_TOKEN", "v")
        // The simulator's default access token (what Meta would check).
        .env("WA_ACCESS_TOKEN", "sim-access-token")
        .env("WA_GRAPH_URL", "http://127.0.0.1:9");
    if let Some(url) = test_database(dir) {
        c.env("SWITCHBOARD_DATABASE_URL", url);
    }
    c
}

/// Runs `cmd admin ARGS` (the admin CLI on the relay's store), feeding `stdin`; asserts success.
#[allow(dead_code)]
pub fn admin_cli(mut cmd: std::process::Command, args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .arg("admin")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        let mut input = input;
        input.write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until the server ends the stream; returns the close code it gave, if any. Panics when
/// the stream stays open for `limit`.
#[allow(dead_code)]
pub async fn closed_within(ws: &mut Ws, limit: std::time::Duration) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "the stream stayed open for {limit:?}");
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code.into()),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the stream stayed open for {limit:?}"),
        }
    }
}

/// A customer's signed-webhook body: a text message to the simulator's number.
#[allow(dead_code)]
pub fn text_body(wa: &str, wamid: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":format!("Kunde {wa}")},"wa_id":wa}],
        "messages":[{"from":wa,"id":wamid,"timestamp":"1790000000","type":"text","text":{"body":text}}]}}]}]}))
    .unwrap()
}

/// Waits until the media archive holds at least one stored file.
#[allow(dead_code)]
pub async fn a_file_archived(relay: &Relay, what: &str) {
    relay.a_file_archived(what).await
}
