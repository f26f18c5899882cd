//! The send worker: drains the durable outbox through the Graph API.
//!
//! - At most one send per conversation is in flight, and only the oldest queued message of a
//!   conversation is taken, so a customer receives messages in the order agents wrote them.
//! - Up to [`MAX_IN_FLIGHT`] conversations are served at once, so one slow customer or a hung
//!   request does not hold up the others.
//! - Send rates follow [`crate::policy::ratelimit`]: per number (configured per minute), per
//!   customer (pair limit), agent replies before automatic replies before bulk sends, one
//!   conversation's oldest message at a time so conversations take turns. The worker asks the
//!   pure `plan` what may go now and sleeps until the plan's `wake_at`.
//! - Meta's rate-limit errors (130429, 131056, 80007) are not failures: the limiter backs off
//!   adaptively (pausing and slowing the number, or only that customer) and the message stays
//!   queued with its attempts unchanged, so throttling never loses or duplicates a message.
//! - Other transient errors (5xx, timeouts, ...) back off exponentially with jitter. After
//!   `send_max_attempts` the message fails with the last error. Terminal Graph errors are
//!   recorded on the message with Meta's code at once.
//! - Meta has no idempotency key: a timeout after Meta accepted a message and the retry that
//!   follows can deliver it twice. The wamid is stored the moment the response arrives to keep
//!   that window as small as it can be.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::graph::{GraphClient, SendOutcome};
use crate::metrics::Metrics;
use crate::policy::ratelimit::{self, Candidate, Feedback, Limiter};
use crate::store::{now_ms, outbox, Store};

pub const MAX_IN_FLIGHT: usize = 32;

#[derive(Clone)]
pub struct SenderConfig {
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// Delay before attempt `attempts + 1`, with ±25 % jitter.
pub fn backoff(cfg: &SenderConfig, attempts: u32, throttled: bool) -> Duration {
    let factor = if throttled { 2 } else { 1 };
    let exp = attempts.saturating_sub(1).min(20);
    let base = cfg
        .backoff_base
        .saturating_mul(factor)
        .saturating_mul(1u32 << exp);
    let capped = base.min(cfg.backoff_max);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    capped.mul_f64(jitter)
}

/// The limiter's state stays usable after a panic elsewhere (it holds counters, no invariants a
/// half-done update could break badly): a poisoned lock must not stop every send.
fn lock(limiter: &Mutex<Limiter>) -> std::sync::MutexGuard<'_, Limiter> {
    limiter
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: Store,
    graph: GraphClient,
    cfg: SenderConfig,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    limiter: Arc<Mutex<Limiter>>,
    shutdown: Arc<Notify>,
) {
    let mut in_flight: JoinSet<i64> = JoinSet::new();
    let mut busy: HashSet<i64> = HashSet::new();
    let mut last_prune = now_ms();
    loop {
        let free = MAX_IN_FLIGHT - in_flight.len();
        let mut wake_at: Option<i64> = None;
        if free > 0 {
            let busy_list: Vec<i64> = busy.iter().copied().collect();
            // More candidates than free slots: some may be held back by their customer's limit.
            let want = free * 4;
            let now = now_ms();
            match store
                .read(move |c| outbox::due(c, now, want, &busy_list))
                .await
            {
                Ok(items) => {
                    let candidates: Vec<Candidate> = items
                        .iter()
                        .map(|i| Candidate {
                            message_id: i.message_id,
                            conversation_id: i.conversation_id,
                            phone_number_id: i.phone_number_id.clone(),
                            priority: i.priority,
                        })
                        .collect();
                    let now = now_ms();
                    let plan = {
                        let mut l = lock(&limiter);
                        if now - last_prune > 60_000 {
                            l.prune(now);
                            last_prune = now;
                        }
                        ratelimit::plan(now, &candidates, &mut l, free)
                    };
                    tracing::debug!(
                        due = items.len(),
                        dispatch = plan.dispatch.len(),
                        wake_in_ms = plan.wake_at.map(|w| w - now),
                        in_flight = in_flight.len(),
                        "sender pass"
                    );
                    wake_at = plan.wake_at;
                    if items.len() == want && plan.dispatch.len() < free {
                        // There may be more due candidates beyond this page: look again soon.
                        wake_at = Some(wake_at.map_or(now + 50, |w| w.min(now + 50)));
                    }
                    let mut items: Vec<Option<outbox::OutboxItem>> =
                        items.into_iter().map(Some).collect();
                    for i in plan.dispatch {
                        let Some(item) = items[i].take() else {
                            continue;
                        };
                        metrics.queue_wait((now - item.enqueued_at).max(0));
                        busy.insert(item.conversation_id);
                        let (store, graph, cfg, metrics, limiter) = (
                            store.clone(),
                            graph.clone(),
                            cfg.clone(),
                            metrics.clone(),
                            limiter.clone(),
                        );
                        in_flight.spawn(async move {
                            let conv = item.conversation_id;
                            // A panic must not leave the conversation marked busy for good: the
                            // task always hands its conversation back.
                            let sent = std::panic::AssertUnwindSafe(send_one(
                                &store, &graph, &cfg, &metrics, &limiter, item,
                            ))
                            .catch_unwind()
                            .await;
                            match sent {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => tracing::error!(error = %e, "recording a send outcome failed; it will be retried"),
                                Err(_) => tracing::error!(conversation_id = conv, "a send panicked; the message stays queued"),
                            }
                            conv
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "reading the outbox failed"),
            }
        }
        let sleep_for = if in_flight.len() >= MAX_IN_FLIGHT {
            Duration::from_secs(3600)
        } else {
            let now = now_ms();
            let db_next = match store.read(move |c| outbox::next_due_after(c, now)).await {
                Ok(v) => v,
                Err(_) => Some(now + 1000),
            };
            match [db_next, wake_at].into_iter().flatten().min() {
                Some(at) => Duration::from_millis((at - now_ms()).clamp(1, 60_000) as u64),
                None => Duration::from_secs(60),
            }
        };
        tokio::select! {
            _ = shutdown.notified() => break,
            _ = wake.notified() => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok(conv) = done { busy.remove(&conv); }
            }
            _ = tokio::time::sleep(sleep_for) => {}
        }
        // Collect whatever else finished meanwhile.
        while let Some(done) = in_flight.try_join_next() {
            if let Ok(conv) = done {
                busy.remove(&conv);
            }
        }
        metrics.sender_state(in_flight.len(), busy.len());
    }
    in_flight.abort_all();
    metrics.sender_state(0, 0);
}

async fn send_one(
    store: &Store,
    graph: &GraphClient,
    cfg: &SenderConfig,
    metrics: &Metrics,
    limiter: &Mutex<Limiter>,
    item: outbox::OutboxItem,
) -> Result<(), crate::store::StoreError> {
    let outcome = graph.send(&item.phone_number_id, &item.payload).await;
    let id = item.message_id;
    let feedback = match &outcome {
        SendOutcome::Accepted { .. } => Feedback::Accepted,
        SendOutcome::Retry { code, .. } => ratelimit::feedback_for(*code),
        SendOutcome::Terminal { code, .. } => ratelimit::feedback_for(Some(*code)),
    };
    lock(limiter).feedback(
        now_ms(),
        &item.phone_number_id,
        item.conversation_id,
        feedback,
    );
    match outcome {
        SendOutcome::Accepted { wamid } => {
            Metrics::inc(&metrics.messages_out);
            store
                .write(move |ctx| outbox::accepted(ctx, id, &wamid))
                .await
        }
        // Meta's rate limits: the limiter decides when this number / customer may send again;
        // the message keeps its place and its attempts (throttling is not the message's fault).
        _ if matches!(
            feedback,
            Feedback::NumberThrottled { .. } | Feedback::PairThrottled
        ) =>
        {
            Metrics::inc(&metrics.send_retries);
            Metrics::inc(&metrics.send_throttled);
            let code = match &outcome {
                SendOutcome::Retry { code, .. } => *code,
                SendOutcome::Terminal { code, .. } => Some(*code),
                _ => None,
            };
            let next = {
                let mut l = lock(limiter);
                l.ready_at(now_ms(), &item.phone_number_id, item.conversation_id)
            };
            let attempts = item.attempts;
            tracing::info!(
                message_id = id,
                ?code,
                "throttled by the Graph API; backing off"
            );
            let error = format!("throttled by WhatsApp ({})", code.unwrap_or(0));
            store
                .write(move |ctx| outbox::retry_later(ctx, id, attempts, next, &error))
                .await
        }
        SendOutcome::Retry {
            code,
            error,
            throttled,
        } => {
            let attempts = item.attempts + 1;
            if attempts >= cfg.max_attempts {
                let code = code.unwrap_or(0);
                metrics.send_failed(code);
                tracing::warn!(
                    message_id = id,
                    code,
                    attempts,
                    "send gave up after retries"
                );
                let title = format!("Gave up after {attempts} attempts: {error}");
                store
                    .write(move |ctx| outbox::failed(ctx, id, code, &title, None))
                    .await
            } else {
                Metrics::inc(&metrics.send_retries);
                let next = now_ms() + backoff(cfg, attempts, throttled).as_millis() as i64;
                tracing::info!(message_id = id, ?code, attempts, "send will be retried");
                store
                    .write(move |ctx| outbox::retry_later(ctx, id, attempts, next, &error))
                    .await
            }
        }
        SendOutcome::Terminal {
            code,
            title,
            details,
        } => {
            metrics.send_failed(code);
            tracing::warn!(message_id = id, code, "send refused by the Graph API");
            store
                .write(move |ctx| outbox::failed(ctx, id, code, &title, details.as_deref()))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let cfg = SenderConfig {
            max_attempts: 8,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
        };
        let d1 = backoff(&cfg, 1, false);
        assert!(d1 >= Duration::from_millis(75) && d1 <= Duration::from_millis(125));
        let d3 = backoff(&cfg, 3, false);
        assert!(d3 >= Duration::from_millis(300) && d3 <= Duration::from_millis(500));
        let t3 = backoff(&cfg, 3, true);
        assert!(t3 >= Duration::from_millis(600));
        assert!(backoff(&cfg, 30, true) <= Duration::from_millis(2500));
    }
}
