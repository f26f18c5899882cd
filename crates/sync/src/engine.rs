//! The engine: the cache, the relay client and the sync loop that ties them together.
//!
//! Lifecycle (published as [`ConnectionState`]): `Connecting` → catch up from the event log in
//! pages and flush the outbox → open the live stream from the cursor → `Online`. A dropped
//! connection goes `Offline` and retries with exponential backoff and jitter (capped at 30 s);
//! a 401 goes `AuthExpired` and waits for a new sign-in; a 401 `account_deactivated` first
//! deletes the cache (the person no longer works here). Live frames whose `prev` is beyond the
//! cursor reveal a gap and trigger a refetch; frames at or below the cursor are ignored.
//!
//! Every change to the cache is announced on the change feed ([`Change`]), so a UI refreshes only
//! what changed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde::{Deserialize, Serialize};
use switchboard_protocol::api::{SendRequest, User};
use tokio::sync::{broadcast, watch, Notify};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::cache::apply::Applied;
use crate::cache::outbox::PendingMessage;
use crate::cache::raw::{RawEvent, RawStreamFrame};
use crate::cache::Cache;
use crate::client::RelayClient;
use crate::error::{Result, SyncError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Offline,
    Connecting,
    Online,
    AuthExpired,
    /// An admin deactivated the account; the cache was deleted.
    Deactivated,
}

/// What changed in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The conversation list changed (these ids were updated or removed).
    Conversations {
        ids: Vec<i64>,
    },
    /// The timeline of this conversation changed (new or updated messages, outbox rows).
    Timeline {
        conversation_id: i64,
    },
    Contacts {
        ids: Vec<i64>,
    },
    Outbox,
    State {
        state: ConnectionState,
    },
    /// The signed-in user's name, role or permissions changed (read at each connection).
    User {
        user: switchboard_protocol::api::User,
    },
    /// The cache started over (the user's role now shows more or less): read everything again.
    Resync,
    /// Escalation alerts arrived (see [`crate::cache::alerts`]).
    Alerts,
}

/// Outcome of one outbox flush.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlushReport {
    pub sent: usize,
    pub failed: usize,
    pub remaining: usize,
}

struct Inner {
    cache: Cache,
    client: tokio::sync::RwLock<RelayClient>,
    state: watch::Sender<ConnectionState>,
    changes: broadcast::Sender<Change>,
    wake: Notify,
    flush_lock: tokio::sync::Mutex<()>,
    page_size: usize,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    pub fn new(cache: Cache, client: RelayClient) -> Engine {
        let (state, _) = watch::channel(ConnectionState::Offline);
        let (changes, _) = broadcast::channel(1024);
        Engine {
            inner: Arc::new(Inner {
                cache,
                client: tokio::sync::RwLock::new(client),
                state,
                changes,
                wake: Notify::new(),
                flush_lock: tokio::sync::Mutex::new(()),
                page_size: 1000,
            }),
        }
    }

    /// Smaller catch-up pages (tests use this to interrupt a catch-up midway).
    pub fn with_page_size(self, page_size: usize) -> Engine {
        let inner = Arc::try_unwrap(self.inner)
            .unwrap_or_else(|_| panic!("with_page_size before sharing the engine"));
        Engine {
            inner: Arc::new(Inner {
                page_size: page_size.clamp(1, 1000),
                ..inner
            }),
        }
    }

    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    pub async fn client(&self) -> RelayClient {
        self.inner.client.read().await.clone()
    }

    /// Replaces the token (after a new sign-in); wakes the sync loop.
    pub async fn set_token(&self, token: Option<String>) {
        self.inner.client.write().await.set_token(token);
        self.inner.wake.notify_waiters();
        self.inner.wake.notify_one();
    }

    pub fn user(&self) -> Result<Option<User>> {
        self.inner.cache.user()
    }

    pub fn state(&self) -> ConnectionState {
        *self.inner.state.borrow()
    }

    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state.subscribe()
    }

    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    fn set_state(&self, s: ConnectionState) {
        if self.inner.state.send_replace(s) != s {
            let _ = self.inner.changes.send(Change::State { state: s });
        }
    }

    fn announce(&self, a: &Applied) {
        let ch = &self.inner.changes;
        let mut convs: Vec<i64> = a
            .conversations
            .iter()
            .chain(a.removed.iter())
            .copied()
            .collect();
        convs.sort_unstable();
        if !convs.is_empty() {
            let _ = ch.send(Change::Conversations { ids: convs });
        }
        for c in &a.messages {
            let _ = ch.send(Change::Timeline {
                conversation_id: *c,
            });
        }
        if !a.contacts.is_empty() {
            let _ = ch.send(Change::Contacts {
                ids: a.contacts.iter().copied().collect(),
            });
        }
        if a.outbox_settled > 0 {
            let _ = ch.send(Change::Outbox);
        }
        if a.alerts > 0 {
            let _ = ch.send(Change::Alerts);
        }
    }

    /// Pages through the event log from the cursor until caught up. Returns events applied.
    ///
    /// The next page is fetched while the current one is written, so the relay, the network and
    /// the cache work at the same time.
    pub async fn catch_up(&self) -> Result<usize> {
        let client = self.client().await;
        let size = self.inner.page_size;
        let mut total = 0;
        let mut cursor = self.inner.cache.cursor()?;
        let mut page = client.events(cursor, size).await?;
        loop {
            let next = page.next_after;
            let done = next <= cursor || next >= page.head;
            let prefetch = (!done).then(|| {
                let c = client.clone();
                tokio::spawn(async move { c.events(next, size).await })
            });
            let applied = {
                let cache = &self.inner.cache;
                let events = std::mem::take(&mut page.events);
                // SQLite work off the async threads.
                tokio::task::block_in_place(|| cache.apply_raw_page(&events, next))?
            };
            total += applied.events;
            self.announce(&applied);
            match prefetch {
                None => return Ok(total),
                Some(task) => {
                    cursor = next;
                    page = task
                        .await
                        .map_err(|e| SyncError::Offline(e.to_string()))??;
                }
            }
        }
    }

    /// Queues a message: stored locally as pending (shown at once) and sent when possible.
    pub fn send(&self, conversation_id: i64, request: SendRequest) -> Result<PendingMessage> {
        let p = self.inner.cache.enqueue(conversation_id, &request)?;
        let _ = self
            .inner
            .changes
            .send(Change::Timeline { conversation_id });
        let _ = self.inner.changes.send(Change::Outbox);
        self.inner.wake.notify_one();
        Ok(p)
    }

    pub fn retry(&self, client_id: &str) -> Result<()> {
        self.inner.cache.retry(client_id)?;
        let _ = self.inner.changes.send(Change::Outbox);
        self.inner.wake.notify_one();
        Ok(())
    }

    pub fn discard(&self, client_id: &str) -> Result<()> {
        self.inner.cache.discard(client_id)?;
        let _ = self.inner.changes.send(Change::Outbox);
        Ok(())
    }

    /// Sends pending outbox rows in the order they were written. Stops at the first transient
    /// error (the relay is unreachable: the rest stays queued); refusals mark the row failed.
    pub async fn flush_outbox(&self) -> Result<FlushReport> {
        let _one_at_a_time = self.inner.flush_lock.lock().await;
        let client = self.client().await;
        let mut report = FlushReport::default();
        let pending = self.inner.cache.pending()?;
        for (i, p) in pending.iter().enumerate() {
            match client
                .send(p.conversation_id, &p.request, &p.client_id)
                .await
            {
                Ok(message) => {
                    self.inner.cache.settle(&p.client_id, &message)?;
                    report.sent += 1;
                }
                Err(e)
                    if e.is_transient()
                        || matches!(e, SyncError::AuthExpired | SyncError::Deactivated) =>
                {
                    // The rest stays queued (pending.len() - i rows) for the next flush.
                    tracing::info!(remaining = pending.len() - i, error = %e, "outbox flush paused");
                    self.announce_outbox(p.conversation_id);
                    return Err(e);
                }
                Err(e) => {
                    self.inner
                        .cache
                        .mark_failed(&p.client_id, e.code(), &e.to_string())?;
                    report.failed += 1;
                }
            }
            self.announce_outbox(p.conversation_id);
        }
        Ok(report)
    }

    fn announce_outbox(&self, conversation_id: i64) {
        let _ = self
            .inner
            .changes
            .send(Change::Timeline { conversation_id });
        let _ = self.inner.changes.send(Change::Outbox);
    }

    /// Catch up and flush once (the CLI's `sync`, and the first step of every connection).
    pub async fn sync_once(&self) -> Result<(usize, FlushReport)> {
        let applied = self.catch_up().await.inspect_err(|e| self.on_error(e))?;
        let report = self.flush_outbox().await?;
        // Apply the echoes of what was just sent.
        let more = if report.sent > 0 {
            self.catch_up().await?
        } else {
            0
        };
        Ok((applied + more, report))
    }

    /// Fetches a conversation's older messages from the relay once (newest pages first, up to
    /// [`HISTORY_LIMIT`] messages): the log delivers only what happened while the user could see
    /// the conversation, so one transferred to them or reopened by a returning customer would
    /// otherwise start in the middle. Returns how many messages were added; `0` when the history
    /// was already complete. Offline it fails with `Offline` and the cache stays as it was.
    pub async fn fetch_history(&self, conversation_id: i64) -> Result<usize> {
        if self.inner.cache.history_complete(conversation_id)? {
            return Ok(0);
        }
        let client = self.client().await;
        let mut before = None;
        let mut fetched = 0;
        let mut added = 0;
        loop {
            let page = client
                .messages(conversation_id, before, HISTORY_PAGE)
                .await?;
            fetched += page.items.len();
            let complete = page.next_before.is_none() || fetched >= HISTORY_LIMIT;
            added += self
                .inner
                .cache
                .store_history(conversation_id, &page.items, complete)?;
            if complete {
                break;
            }
            before = page.next_before;
        }
        if added > 0 {
            let _ = self
                .inner
                .changes
                .send(Change::Timeline { conversation_id });
        }
        Ok(added)
    }

    /// Marks a conversation read at the relay (the change comes back through the log).
    pub async fn mark_read(&self, conversation_id: i64) -> Result<()> {
        self.client().await.mark_read(conversation_id).await
    }

    /// A deactivated account's cache is deleted at the first answer that says so (outbox,
    /// alerts and all), so a device that is no longer the person's keeps nothing of customers.
    /// The engine calls it on its own errors; a caller that asked the relay itself passes its
    /// error here too.
    pub fn on_error(&self, e: &SyncError) {
        if matches!(e, SyncError::Deactivated) {
            match self.inner.cache.wipe() {
                Ok(()) => tracing::warn!("account deactivated: the local cache was deleted"),
                Err(err) => {
                    tracing::error!(error = %err, "account deactivated, but the cache could not be deleted")
                }
            }
            // Screens read everything again (and find nothing).
            let _ = self.inner.changes.send(Change::Resync);
        }
    }

    /// Runs the sync loop until `shutdown` resolves.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let outcome = tokio::select! {
                _ = &mut shutdown => return,
                r = self.connect_and_stream() => r,
            };
            if let Err(e) = &outcome {
                self.on_error(e);
            }
            let wait = match outcome {
                Err(SyncError::Deactivated) => {
                    self.set_state(ConnectionState::Deactivated);
                    None
                }
                Err(SyncError::AuthExpired) | Err(SyncError::NotSignedIn) => {
                    self.set_state(ConnectionState::AuthExpired);
                    None
                }
                Err(e) => {
                    tracing::info!(error = %e, "sync connection lost");
                    self.set_state(ConnectionState::Offline);
                    failures = failures.saturating_add(1);
                    Some(backoff(failures))
                }
                Ok(()) => {
                    self.set_state(ConnectionState::Offline);
                    failures = 1;
                    Some(backoff(failures))
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.inner.wake.notified() => { failures = 0; }
                _ = async { match wait { Some(d) => tokio::time::sleep(d).await, None => std::future::pending().await } } => {}
            }
        }
    }

    /// Re-reads the signed-in user: an admin may have changed their role or its permissions since
    /// they signed in. When what they may see changed, the cache starts the log over (keeping the
    /// outbox), so it holds exactly what the relay now shows them.
    pub async fn refresh_user(&self) -> Result<()> {
        let me: switchboard_protocol::api::User =
            self.client().await.get_json("/api/v1/me").await?;
        let old = self.inner.cache.user()?;
        if old.as_ref() == Some(&me) {
            return Ok(());
        }
        if old.as_ref().is_some_and(|u| u.sees_all() != me.sees_all()) {
            self.inner.cache.restart_log()?;
            let _ = self.inner.changes.send(Change::Resync);
        }
        self.inner.cache.set_user(&me)?;
        let _ = self.inner.changes.send(Change::User { user: me });
        Ok(())
    }

    async fn connect_and_stream(&self) -> Result<()> {
        self.set_state(ConnectionState::Connecting);
        self.refresh_user().await?;
        self.sync_once().await?;
        let mut ws = self
            .client()
            .await
            .stream(self.inner.cache.cursor()?)
            .await?;
        self.set_state(ConnectionState::Online);
        let mut retry = tokio::time::interval(Duration::from_secs(15));
        retry.tick().await;
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(SyncError::Offline(e.to_string())),
                    Some(Ok(WsMessage::Text(text))) => {
                        let frame: RawStreamFrame = serde_json::from_str(&text)?;
                        self.on_frame(frame).await?;
                    }
                    Some(Ok(WsMessage::Ping(p))) => { let _ = ws.send(WsMessage::Pong(p)).await; }
                    Some(Ok(WsMessage::Close(_))) => return Ok(()),
                    Some(Ok(_)) => {}
                },
                _ = self.inner.wake.notified() => { self.flush_outbox().await?; }
                _ = retry.tick() => {
                    if self.inner.cache.counts()?.outbox_pending > 0 { self.flush_outbox().await?; }
                }
            }
        }
    }

    async fn on_frame(&self, frame: RawStreamFrame) -> Result<()> {
        let (event, prev): (RawEvent, i64) = frame.into_event();
        let cursor = self.inner.cache.cursor()?;
        if event.seq <= cursor {
            return Ok(()); // already applied (a page overlapped the stream)
        }
        if prev > cursor {
            // Something between our cursor and this frame was missed: refetch the range.
            self.catch_up().await?;
            if event.seq <= self.inner.cache.cursor()? {
                return Ok(());
            }
        }
        let seq = event.seq;
        let cache = &self.inner.cache;
        let applied = tokio::task::block_in_place(|| {
            cache.apply_raw_page(std::slice::from_ref(&event), seq)
        })?;
        self.announce(&applied);
        Ok(())
    }
}

/// Exponential backoff with full jitter: up to 0.5 s · 2^n, capped at 30 s.
/// Messages per page and at most in all when fetching a conversation's history.
pub const HISTORY_PAGE: usize = 200;
pub const HISTORY_LIMIT: usize = 5000;

pub fn backoff(failures: u32) -> Duration {
    let cap = Duration::from_millis(500)
        .saturating_mul(1u32 << failures.min(6))
        .min(Duration::from_secs(30));
    let ms = rand::thread_rng().gen_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        assert!(backoff(1) <= Duration::from_secs(1));
        assert!(backoff(1) >= Duration::from_millis(500));
        assert!(backoff(20) <= Duration::from_secs(30));
        assert!(backoff(20) >= Duration::from_secs(15));
    }
}
