//! Status ladders: after an accepted send, Meta reports `sent` → `delivered` → `read` (only
//! `sent` for reactions; `played` after `read` for voice messages), or a single `failed` with the error, each as its own webhook after the
//! configured delay. A `ReorderStatuses` fault emits the same statuses in reverse order (their
//! timestamps still tell the true order).

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use crate::config::SimNumber;
use crate::faults::Side;
use crate::meta_error::webhook_error;
use crate::payloads::{self, Party, StatusUpdate};
use crate::sim::Simulator;
use crate::state::unix_secs;
use crate::webhooks::Webhook;

/// How an accepted send ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The ordinary ladder; reactions only get `sent`, audio (voice messages) also `played`
    /// after `read`.
    Delivered { reaction: bool, audio: bool },
    /// A `failed` status with this error code.
    Failed { code: i64 },
}

/// Everything needed to report on one accepted send.
#[derive(Debug, Clone)]
pub(crate) struct Ladder {
    pub number: SimNumber,
    pub wamid: String,
    pub recipient: Party,
    /// Identities for fault filters.
    pub customers: Vec<String>,
    /// Ordering lane of the customer's webhooks.
    pub lane: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
    pub pricing: Value,
    pub outcome: Outcome,
}

impl Simulator {
    /// Schedules the status webhooks of an accepted send. They count as pending at once.
    pub(crate) fn schedule_statuses(&self, ladder: Ladder) {
        let accepted_at = SystemTime::now();
        let delays = self.inner.config.status_delays;
        let steps: Vec<(&'static str, Duration)> = match ladder.outcome {
            Outcome::Failed { .. } => vec![("failed", delays.sent)],
            Outcome::Delivered { reaction: true, .. } => vec![("sent", delays.sent)],
            Outcome::Delivered {
                reaction: false,
                audio,
            } => {
                let mut v = vec![("sent", delays.sent), ("delivered", delays.delivered)];
                if let Some(read) = delays.read {
                    v.push(("read", read));
                    if audio {
                        // The customer plays the voice message a moment after opening the chat.
                        v.push(("played", read + Duration::from_millis(30)));
                    }
                }
                v
            }
        };
        let customers: Vec<&str> = ladder.customers.iter().map(String::as_str).collect();
        let reorder = steps.len() > 1
            && self
                .inner
                .faults
                .take(
                    Side::Reorder,
                    Some(&ladder.number.phone_number_id),
                    &customers,
                )
                .is_some();
        let updates: Vec<StatusUpdate> = steps
            .iter()
            .map(|(status, delay)| StatusUpdate {
                wamid: ladder.wamid.clone(),
                status,
                timestamp: unix_secs(accepted_at + *delay),
                recipient: ladder.recipient.clone(),
                biz_opaque_callback_data: ladder.biz_opaque_callback_data.clone(),
                pricing: matches!(*status, "sent" | "delivered").then(|| ladder.pricing.clone()),
                errors: match ladder.outcome {
                    Outcome::Failed { code } => vec![webhook_error(code, None)],
                    Outcome::Delivered { .. } => Vec::new(),
                },
            })
            .collect();
        let mut fire_at: Vec<Duration> = steps.iter().map(|(_, d)| *d).collect();
        fire_at.sort();
        let ordered: Vec<StatusUpdate> = if reorder {
            updates.into_iter().rev().collect()
        } else {
            updates
        };
        let plan: Vec<_> = fire_at
            .into_iter()
            .zip(ordered)
            .map(|(at, update)| (at, update, self.inner.webhooks.reserve()))
            .collect();
        let sim = self.clone();
        let start = Instant::now();
        tokio::spawn(async move {
            for (at, update, guard) in plan {
                tokio::select! {
                    _ = tokio::time::sleep_until(start + at) => {}
                    _ = sim.shutdown_signal() => return,
                }
                let body = payloads::status(&ladder.number, &update);
                sim.inner.webhooks.deliver(
                    Webhook {
                        body,
                        phone_number_id: Some(ladder.number.phone_number_id.clone()),
                        customers: ladder.customers.clone(),
                        lane: ladder.lane.clone(),
                    },
                    Some(guard),
                );
            }
        });
    }
}
