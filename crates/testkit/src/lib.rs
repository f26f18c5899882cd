//! Test harness shared by the crates' integration tests: the real relay on a loopback port
//! chosen at run time (in-process, with its own temporary data directory, restartable on the same
//! address), the real Cloud API simulator wired to it, and helpers that speak to both over HTTP.
//!
//! Back-end: embedded SQLite in the test's data directory by default; with
//! `SWITCHBOARD_TEST_BACKEND=postgres` every relay runs on PostgreSQL at `SWITCHBOARD_TEST_PG_URL`,
//! each data directory in a fresh schema of its own ([`test_database`]), so the same suite runs
//! against both back-ends.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use switchboard_protocol::api::LoginResponse;
use switchboard_protocol::signature;
use switchboard_relay::config::Config;
use switchboard_relay::store::{queries, Store};

pub const APP_SECRET: &str = "test-app-secret";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/whatsapp/fixtures")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// The back-end the integration tests run against (`SWITCHBOARD_TEST_BACKEND`).
pub fn backend() -> switchboard_relay::store::Backend {
    match std::env::var("SWITCHBOARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => switchboard_relay::store::Backend::Postgres,
        Ok("sqlite") | Ok("") | Err(_) => switchboard_relay::store::Backend::Sqlite,
        Ok(other) => panic!("SWITCHBOARD_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The PostgreSQL server tests use (`SWITCHBOARD_TEST_PG_URL`), if any.
pub fn pg_url() -> Option<String> {
    std::env::var("SWITCHBOARD_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh schema on the test server; returns a URL whose connections use it. Schemas of earlier
/// runs older than six hours are dropped on the way.
pub fn fresh_pg_schema(base: &str) -> String {
    // The synchronous client must not run inside the test's async runtime.
    let base = base.to_string();
    std::thread::spawn(move || make_schema(&base))
        .join()
        .unwrap()
}

fn make_schema(base: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = format!(
        "sbt_{secs}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap_or_else(|e| {
        panic!("cannot reach the test PostgreSQL at SWITCHBOARD_TEST_PG_URL: {e}")
    });
    let old: Vec<String> = client
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'sbt\\_%'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|n| {
            n.split('_')
                .nth(1)
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|t| t + 6 * 3600 < secs)
        })
        .collect();
    for n in old {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {n} CASCADE"));
    }
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{name}")
}

/// The database of the relay whose data directory is `dir`: `None` for SQLite (the default file
/// in `dir`); on PostgreSQL a schema made for this directory the first time and kept with it, so
/// a restart on the same directory finds the same data.
pub fn test_database(dir: &std::path::Path) -> Option<String> {
    if backend() != switchboard_relay::store::Backend::Postgres {
        return None;
    }
    let base = pg_url().expect(
        "SWITCHBOARD_TEST_BACKEND=postgres needs SWITCHBOARD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test)",
    );
    let marker = dir.join("pg-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let url = fresh_pg_schema(&base);
    std::fs::write(&marker, &url).unwrap();
    Some(url)
}

/// Opens the store of the data directory `dir` on the test back-end (tests that drive the store
/// without a server).
pub fn open_store(dir: &std::path::Path) -> Store {
    match test_database(dir) {
        Some(url) => Store::open_postgres(&url).unwrap(),
        None => Store::open(&dir.join("relay.db")).unwrap(),
    }
}

pub struct Relay {
    pub base: String,
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay whose Graph API is at `graph_url`.
    pub async fn start(graph_url: &str) -> Relay {
        Self::start_with(graph_url, |_| {}).await
    }

    pub async fn start_with(graph_url: &str, tweak: impl FnOnce(&mut Config)) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, graph_url, tweak).await
    }

    pub async fn start_in(
        dir: tempfile::TempDir,
        graph_url: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Relay {
        Self::start_at(dir, "127.0.0.1:0", graph_url, tweak).await
    }

    /// Starts on a given address (a restart on the address the relay had before).
    pub async fn start_at(
        dir: tempfile::TempDir,
        addr: &str,
        graph_url: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> Relay {
        let mut config = Config::for_test(dir.path(), graph_url, APP_SECRET);
        if let Some(url) = test_database(dir.path()) {
            config.database = switchboard_relay::config::DatabaseUrl::Postgres(
                switchboard_relay::config::Secret::new(url),
            );
        }
        tweak(&mut config);
        let store = switchboard_relay::open_store(&config).unwrap();
        let listener = bind_retrying(addr).await;
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = store.clone();
        let task = tokio::spawn(async move {
            switchboard_relay::serve_with_store(config, st, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let relay = Relay {
            base,
            store,
            dir,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        };
        relay.wait_healthy().await;
        relay
    }

    /// The address it listens on (`127.0.0.1:PORT`).
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Stops serving but keeps the data directory; `start_again` brings it back on the same
    /// address.
    pub async fn pause(&mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub async fn wait_healthy(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("relay did not become healthy");
    }

    /// Stops the server and closes the store; returns the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close();
        self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_webhook(&self, body: &[u8]) -> reqwest::Response {
        self.http
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                signature::sign(APP_SECRET.as_bytes(), body),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Waits until the media archive holds at least one stored file.
    pub async fn a_file_archived(&self, what: &str) {
        self.eventually(Duration::from_secs(10), what, || async {
            let rows = self
                .store
                .read(switchboard_relay::store::archive::entries)
                .await
                .ok()?;
            rows.iter().any(|r| r.1 == "stored").then_some(())
        })
        .await;
    }

    /// Creates a user with a role (a predefined `switchboard_protocol::api::Role` or a role's name); returns their id.
    pub async fn user(&self, email: &str, role: impl AsRef<str>) -> i64 {
        let hash = switchboard_relay::auth::hash_password("password123").unwrap();
        let email = email.to_string();
        let role = role.as_ref().to_string();
        self.store
            .write(move |ctx| {
                Ok(
                    queries::create_user(ctx.conn, &email, "Test Person", &role, &hash, ctx.now)?
                        .id,
                )
            })
            .await
            .unwrap()
    }

    /// Creates a user with that role and returns a bearer token for them.
    pub async fn login_as(&self, email: &str, role: impl AsRef<str>) -> String {
        self.user(email, role).await;
        self.login(email, "password123").await.token
    }

    pub async fn login(&self, email: &str, password: &str) -> LoginResponse {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login failed: {}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Sends an authenticated request; returns the status and the body as JSON (or as a string
    /// when it is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The relay's OpenAPI document (`/api/v1/openapi.json`).
    pub async fn openapi(&self) -> Value {
        self.http
            .get(self.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    pub async fn put_json(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, token, path, Some(body))
            .await
    }

    pub async fn count(&self, table_where: &'static str) -> i64 {
        self.store
            .read(move |c| queries::count(c, table_where))
            .await
            .unwrap()
    }

    /// Polls `check` until it returns Some, or panics after `timeout`.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn bind_retrying(addr: &str) -> tokio::net::TcpListener {
    for _ in 0..100 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("cannot bind {addr}");
}

/// The simulator wired to a relay: customers write through the sim, the relay stores it.
pub struct World {
    pub sim: switchboard_sim::Simulator,
    pub relay: Relay,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> World {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = switchboard_sim::Simulator::start(
            switchboard_sim::SimConfig::new("", APP_SECRET),
            listener,
        )
        .await
        .unwrap();
        let relay = Relay::start_with(&sim.base_url(), |c| {
            c.graph_timeout = Duration::from_millis(700);
            tweak(c)
        })
        .await;
        sim.set_webhook_url(&relay.url("/webhooks/whatsapp"));
        World { sim, relay }
    }

    /// Stops the relay and starts it again on the same address with the same data.
    pub async fn restart_relay(&mut self) {
        let addr = self.relay.addr();
        let dir = self.relay.pause().await;
        self.relay = Relay::start_at(dir, &addr, &self.sim.base_url(), |c| {
            c.graph_timeout = Duration::from_millis(700)
        })
        .await;
    }
}

/// A Graph URL nothing listens on (tests that never send).
pub fn no_graph() -> String {
    "http://127.0.0.1:9".into()
}
