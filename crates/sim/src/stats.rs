//! Counters for `GET /control/stats` and [`crate::Simulator::stats`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub customer_messages: AtomicU64,
    pub webhooks_queued: AtomicU64,
    pub webhooks_delivered: AtomicU64,
    pub webhooks_retried: AtomicU64,
    pub webhooks_failed_attempts: AtomicU64,
    pub webhooks_dropped: AtomicU64,
    pub sends_accepted: AtomicU64,
    pub sends_invalid: AtomicU64,
    pub sends_refused_by_fault: AtomicU64,
    pub reads: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A snapshot of the simulator's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// Customer messages written (`says`, control API, generator).
    pub customer_messages: u64,
    /// Webhooks handed to the sender (a duplicate counts as its own webhook).
    pub webhooks_queued: u64,
    /// Webhooks the receiver acknowledged with HTTP 200.
    pub webhooks_delivered: u64,
    /// Redelivery attempts (attempts after the first).
    pub webhooks_retried: u64,
    /// Attempts answered with anything but 200, or that failed to connect / timed out.
    pub webhooks_failed_attempts: u64,
    /// Webhooks given up after the last retry.
    pub webhooks_dropped: u64,
    /// Webhooks queued or scheduled (status ladders) and not yet delivered or dropped.
    pub webhooks_pending: u64,
    /// Sends answered 200 + wamid.
    pub sends_accepted: u64,
    /// Sends refused as malformed (or for unknown templates, numbers...).
    pub sends_invalid: u64,
    /// Sends refused by an injected fault.
    pub sends_refused_by_fault: u64,
    /// Mark-read calls.
    pub reads: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self, pending: u64) -> SimStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimStats {
            customer_messages: g(&self.customer_messages),
            webhooks_queued: g(&self.webhooks_queued),
            webhooks_delivered: g(&self.webhooks_delivered),
            webhooks_retried: g(&self.webhooks_retried),
            webhooks_failed_attempts: g(&self.webhooks_failed_attempts),
            webhooks_dropped: g(&self.webhooks_dropped),
            webhooks_pending: pending,
            sends_accepted: g(&self.sends_accepted),
            sends_invalid: g(&self.sends_invalid),
            sends_refused_by_fault: g(&self.sends_refused_by_fault),
            reads: g(&self.reads),
        }
    }
}
