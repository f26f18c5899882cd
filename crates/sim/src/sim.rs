//! The [`Simulator`] handle: starts the HTTP server and holds the shared state every part of the
//! simulator works on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{SimConfig, SimNumber};
use crate::customer::Customer;
use crate::error::SimError;
use crate::faults::{FaultBook, FaultRule};
use crate::ids::IdGen;
use crate::media::MediaStore;
use crate::state::{ReadReceipt, SentMessage, SimState};
use crate::stats::{Counters, SimStats};
use crate::templates::{Template, TemplateStore};
use crate::webhooks::{Webhook, WebhookEngine};

/// A running simulator. Cheap to clone: all clones drive the same instance.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Mutex<SimState>,
    pub templates: Mutex<TemplateStore>,
    pub media: Mutex<MediaStore>,
    pub faults: Arc<FaultBook>,
    pub webhooks: Arc<WebhookEngine>,
    pub counters: Arc<Counters>,
    pub ids: IdGen,
    shutdown_tx: watch::Sender<bool>,
    pub shutdown_rx: watch::Receiver<bool>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

fn validate(config: &SimConfig) -> Result<(), SimError> {
    if config.phone_numbers.is_empty() {
        return Err(SimError::Config(
            "at least one phone number is needed".into(),
        ));
    }
    for (i, n) in config.phone_numbers.iter().enumerate() {
        if n.phone_number_id.is_empty() || n.waba_id.is_empty() {
            return Err(SimError::Config(format!(
                "phone number {i} needs a phone_number_id and a waba_id"
            )));
        }
        if config.phone_numbers[..i]
            .iter()
            .any(|m| m.phone_number_id == n.phone_number_id)
        {
            return Err(SimError::Config(format!(
                "phone_number_id {} is listed twice",
                n.phone_number_id
            )));
        }
    }
    if config.access_token.is_empty() {
        return Err(SimError::Config(
            "the access token must not be empty".into(),
        ));
    }
    Ok(())
}

impl Simulator {
    /// Starts serving on `listener` (in a spawned task) and returns at once.
    pub async fn start(config: SimConfig, listener: TcpListener) -> Result<Simulator, SimError> {
        validate(&config)?;
        let addr = listener.local_addr()?;
        let host = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, addr.port()));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let faults = Arc::new(FaultBook::default());
        let webhooks = Arc::new(WebhookEngine::new(
            &config,
            counters.clone(),
            faults.clone(),
            shutdown_rx.clone(),
        )?);
        let ids = IdGen::new();
        let templates = TemplateStore::seeded(|| ids.digits());
        let sim = Simulator {
            inner: Arc::new(Inner {
                config,
                addr,
                base_url,
                state: Mutex::new(SimState::default()),
                templates: Mutex::new(templates),
                media: Mutex::new(MediaStore::default()),
                faults,
                webhooks,
                counters,
                ids,
                shutdown_tx,
                shutdown_rx: shutdown_rx.clone(),
            }),
        };
        let app = crate::graph::routes()
            .merge(crate::control::routes())
            .fallback(crate::graph::fallback)
            .with_state(sim.clone());
        let mut stop = shutdown_rx;
        // Small answers go out at once (no Nagle delay waiting for the peer's ACK), as Meta's
        // servers do.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        tracing::info!(base_url = %sim.inner.base_url, "simulator started");
        Ok(sim)
    }

    /// `http://HOST:PORT` of the Graph and control API (what the relay uses as `WA_GRAPH_URL`).
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Points webhooks at a new callback URL (deliveries being retried use it from their next
    /// attempt).
    pub fn set_webhook_url(&self, url: &str) {
        self.inner.webhooks.set_url(url);
    }

    /// A customer, by phone number (digits), writing to the first business number unless
    /// [`Customer::on`] says otherwise.
    pub fn customer(&self, wa_id: &str) -> Customer {
        Customer::new(self.clone(), wa_id)
    }

    /// Every accepted send, oldest first.
    pub async fn sent(&self) -> Vec<SentMessage> {
        self.inner.state.lock().expect("state lock").sent.clone()
    }

    /// Every mark-read call, oldest first.
    pub async fn reads(&self) -> Vec<ReadReceipt> {
        self.inner.state.lock().expect("state lock").reads.clone()
    }

    pub fn add_fault(&self, rule: FaultRule) {
        tracing::info!(?rule, "fault added");
        self.inner.faults.add(rule);
    }

    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// The rules still active.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.inner.faults.list()
    }

    /// Waits until no webhook is queued, being retried, or scheduled (status ladders); false if
    /// that did not happen within `timeout`.
    pub async fn wait_webhooks_idle(&self, timeout: Duration) -> bool {
        self.inner.webhooks.wait_idle(timeout).await
    }

    /// Delivers any JSON body signed as is (for tests of odd payloads).
    pub async fn send_raw_webhook(&self, body: Value) {
        self.inner.webhooks.deliver(Webhook::raw(body), None);
    }

    /// Adds (or replaces, by name and language) a template in the store.
    pub fn add_template(&self, mut template: Template) {
        if template.id.is_empty() {
            template.id = self.inner.ids.digits();
        }
        self.inner
            .templates
            .lock()
            .expect("template lock")
            .upsert(template);
    }

    pub fn templates(&self) -> Vec<Template> {
        self.inner
            .templates
            .lock()
            .expect("template lock")
            .all()
            .to_vec()
    }

    pub fn stats(&self) -> SimStats {
        self.inner.counters.snapshot(self.inner.webhooks.pending())
    }

    pub fn phone_numbers(&self) -> &[SimNumber] {
        &self.inner.config.phone_numbers
    }

    /// Stops accepting connections, ends hanging requests and stops webhook deliveries.
    pub fn shutdown(&self) {
        self.inner.shutdown_tx.send_replace(true);
    }

    pub fn is_shut_down(&self) -> bool {
        *self.inner.shutdown_rx.borrow()
    }

    pub(crate) fn number(&self, phone_number_id: &str) -> Option<&SimNumber> {
        self.inner
            .config
            .phone_numbers
            .iter()
            .find(|n| n.phone_number_id == phone_number_id)
    }

    /// The business number `pnid`, or the first one.
    pub(crate) fn number_or_default(&self, pnid: Option<&str>) -> Result<SimNumber, SimError> {
        Ok(match pnid {
            Some(id) => self
                .number(id)
                .ok_or_else(|| SimError::UnknownPhoneNumber(id.to_string()))?
                .clone(),
            None => self.default_number().clone(),
        })
    }

    pub(crate) fn default_number(&self) -> &SimNumber {
        &self.inner.config.phone_numbers[0]
    }

    /// Resolves when the simulator is shut down.
    pub(crate) async fn shutdown_signal(&self) {
        let mut rx = self.inner.shutdown_rx.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}
