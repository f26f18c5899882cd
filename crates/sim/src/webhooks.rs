//! The webhook sender, playing Meta: each body is serialised once with Meta's ASCII escaping,
//! signed (`X-Hub-Signature-256`) and POSTed to the callback URL; anything but HTTP 200 (or a
//! connection error / timeout) is retried on the configured schedule (at-least-once). Deliveries
//! run concurrently with a bound on requests in flight.
//!
//! Ordering: webhooks about the same customer on the same number share a *lane*: a webhook's
//! first attempt starts only after the previous one in its lane has had its first attempt. So
//! in healthy conditions a customer's messages and a send's statuses arrive in order (tests can
//! rely on it), while retries (and the `ReorderStatuses` fault) still reorder, as Meta does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::Value;
use switchboard_protocol::signature::sign;
use switchboard_protocol::webhook::to_meta_json;
use tokio::sync::{watch, Semaphore};

use crate::faults::{FaultBook, Side};
use crate::stats::{bump, Counters};

/// Webhook POSTs in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// A webhook to deliver, with what fault filters match on.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub body: Value,
    pub phone_number_id: Option<String>,
    /// Identities of the customer the webhook is about (phone, BSUID).
    pub customers: Vec<String>,
    /// Ordering lane (see the module doc); `None` for no ordering.
    pub lane: Option<String>,
}

/// The lane of webhooks about `customer` on `phone_number_id`.
pub(crate) fn lane(phone_number_id: &str, customer: &str) -> Option<String> {
    Some(format!("{phone_number_id}|{customer}"))
}

impl Webhook {
    /// A raw body: the number is read from the first change's metadata when present.
    pub(crate) fn raw(body: Value) -> Self {
        let phone_number_id = body
            .pointer("/entry/0/changes/0/value/metadata/phone_number_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        Webhook {
            body,
            phone_number_id,
            customers: Vec::new(),
            lane: None,
        }
    }
}

/// Counts one webhook as pending until dropped (delivered, given up, or never sent).
#[derive(Debug)]
pub(crate) struct PendingGuard {
    pending: Arc<watch::Sender<u64>>,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A webhook's place in its lane.
struct LanePlace {
    lane: String,
    previous: Option<watch::Receiver<bool>>,
    done: watch::Sender<bool>,
    own: watch::Receiver<bool>,
}

pub(crate) struct WebhookEngine {
    client: reqwest::Client,
    permits: Semaphore,
    pending: Arc<watch::Sender<u64>>,
    retry_schedule: Vec<Duration>,
    app_secret: Vec<u8>,
    /// Accounts whose Meta app signs with a secret of its own, by WABA id.
    secrets: HashMap<String, Vec<u8>>,
    url: RwLock<String>,
    /// lane → "first attempt done" signal of the last webhook queued in it.
    lanes: Mutex<HashMap<String, watch::Receiver<bool>>>,
    counters: Arc<Counters>,
    faults: Arc<FaultBook>,
    shutdown: watch::Receiver<bool>,
}

impl WebhookEngine {
    pub(crate) fn new(
        config: &crate::SimConfig,
        counters: Arc<Counters>,
        faults: Arc<FaultBook>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .build()?;
        Ok(WebhookEngine {
            client,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            pending: Arc::new(watch::channel(0).0),
            retry_schedule: config.retry_schedule.clone(),
            app_secret: config.app_secret.clone().into_bytes(),
            secrets: config
                .accounts
                .iter()
                .map(|a| (a.waba_id.clone(), a.app_secret.clone().into_bytes()))
                .collect(),
            url: RwLock::new(config.webhook_url.clone()),
            lanes: Mutex::default(),
            counters,
            faults,
            shutdown,
        })
    }

    pub(crate) fn set_url(&self, url: &str) {
        *self.url.write().expect("url lock") = url.to_string();
    }

    fn url(&self) -> String {
        self.url.read().expect("url lock").clone()
    }

    /// Counts a webhook that will be delivered later (status ladders reserve up front, so
    /// "idle" means nothing queued *or scheduled*).
    pub(crate) fn reserve(&self) -> PendingGuard {
        self.pending.send_modify(|n| *n += 1);
        PendingGuard {
            pending: self.pending.clone(),
        }
    }

    pub(crate) fn pending(&self) -> u64 {
        *self.pending.borrow()
    }

    /// Waits until nothing is pending; false on timeout.
    pub(crate) async fn wait_idle(&self, timeout: Duration) -> bool {
        let mut rx = self.pending.subscribe();
        let idle = tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok());
        idle
    }

    /// Serialises, signs and queues a webhook (twice under a `DuplicateWebhooks` fault).
    pub(crate) fn deliver(self: &Arc<Self>, hook: Webhook, guard: Option<PendingGuard>) {
        let guard = guard.unwrap_or_else(|| self.reserve());
        let body = Bytes::from(to_meta_json(&hook.body));
        // Signed by the Meta app of the account the body is about.
        let secret = hook
            .body
            .pointer("/entry/0/id")
            .and_then(serde_json::Value::as_str)
            .and_then(|w| self.secrets.get(w))
            .unwrap_or(&self.app_secret);
        let signature = sign(secret, &body);
        let customers: Vec<&str> = hook.customers.iter().map(String::as_str).collect();
        let duplicate = self
            .faults
            .take(Side::Duplicate, hook.phone_number_id.as_deref(), &customers)
            .is_some();
        let mut guards = vec![guard];
        if duplicate {
            guards.push(self.reserve());
        }
        for guard in guards {
            bump(&self.counters.webhooks_queued);
            let order = hook.lane.as_ref().map(|lane| self.enter_lane(lane));
            let this = self.clone();
            let (body, signature) = (body.clone(), signature.clone());
            tokio::spawn(async move { this.run(body, signature, guard, order).await });
        }
    }

    /// Takes the next place in `lane`: the previous webhook's signal and our own.
    fn enter_lane(&self, lane: &str) -> LanePlace {
        let (done, rx) = watch::channel(false);
        let previous = self
            .lanes
            .lock()
            .expect("lane lock")
            .insert(lane.to_string(), rx.clone());
        LanePlace {
            lane: lane.to_string(),
            previous,
            done,
            own: rx,
        }
    }

    /// Signals the first attempt done and forgets the lane if nobody queued behind us.
    fn leave_lane(&self, place: LanePlace) {
        place.done.send_replace(true);
        let mut lanes = self.lanes.lock().expect("lane lock");
        if lanes
            .get(&place.lane)
            .is_some_and(|last| last.same_channel(&place.own))
        {
            lanes.remove(&place.lane);
        }
    }

    async fn run(
        self: Arc<Self>,
        body: Bytes,
        signature: String,
        _guard: PendingGuard,
        mut order: Option<LanePlace>,
    ) {
        let mut shutdown = self.shutdown.clone();
        if let Some(previous) = order.as_mut().and_then(|p| p.previous.as_mut()) {
            tokio::select! {
                // An error means the previous webhook's task ended: go ahead.
                _ = previous.wait_for(|done| *done) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
        for attempt in 0..=self.retry_schedule.len() {
            if attempt > 0 {
                let wait = self.retry_schedule[attempt - 1];
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                bump(&self.counters.webhooks_retried);
            }
            if *shutdown.borrow() {
                return;
            }
            let result = self.attempt(&body, &signature).await;
            if let Some(place) = order.take() {
                self.leave_lane(place);
            }
            match result {
                Ok(()) => {
                    bump(&self.counters.webhooks_delivered);
                    return;
                }
                Err(reason) => {
                    bump(&self.counters.webhooks_failed_attempts);
                    tracing::debug!(attempt, %reason, "webhook delivery failed");
                }
            }
        }
        bump(&self.counters.webhooks_dropped);
        tracing::warn!(
            attempts = self.retry_schedule.len() + 1,
            "webhook dropped after the last retry"
        );
    }

    async fn attempt(&self, body: &Bytes, signature: &str) -> Result<(), String> {
        let url = self.url();
        if url.is_empty() {
            return Err("no webhook URL configured".into());
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| "sender closed".to_string())?;
        let mut shutdown = self.shutdown.clone();
        let request = self
            .client
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "facebookexternalua")
            .header("X-Hub-Signature-256", signature)
            .body(body.clone());
        let response = tokio::select! {
            r = request.send() => r.map_err(|e| e.to_string())?,
            _ = shutdown.wait_for(|s| *s) => return Err("shut down".into()),
        };
        let status = response.status();
        // Drain the body so the connection can be reused.
        let _ = response.bytes().await;
        if status == reqwest::StatusCode::OK {
            Ok(())
        } else {
            Err(format!("receiver answered {status}"))
        }
    }
}
