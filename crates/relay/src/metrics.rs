//! Prometheus counters and gauges, rendered by hand in the text exposition format.
//!
//! Six counters and two gauges do not justify a metrics framework; atomics keep the hot path
//! (webhook ingest) free of locks. Gauges that live in the database (queue depth, log head) are
//! read when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    pub webhooks_accepted: AtomicU64,
    pub webhooks_rejected_signature: AtomicU64,
    pub webhooks_rejected_other: AtomicU64,
    pub webhooks_dead: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub send_retries: AtomicU64,
    send_failures: Mutex<BTreeMap<i64, u64>>,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn send_failed(&self, code: i64) {
        *self
            .send_failures
            .lock()
            .expect("metrics lock")
            .entry(code)
            .or_default() += 1;
    }

    pub fn render(&self, queue_depth: i64, event_head: i64, inbox_pending: i64) -> String {
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "switchboard_webhooks_accepted_total",
            "Signed webhook bodies committed and acknowledged.",
            self.webhooks_accepted.load(Relaxed),
        );
        counter(
            "switchboard_webhooks_dead_total",
            "Acknowledged bodies that could not be parsed (dead letters).",
            self.webhooks_dead.load(Relaxed),
        );
        counter(
            "switchboard_messages_in_total",
            "Inbound customer messages stored.",
            self.messages_in.load(Relaxed),
        );
        counter(
            "switchboard_messages_out_total",
            "Outbound messages accepted by the Graph API.",
            self.messages_out.load(Relaxed),
        );
        counter(
            "switchboard_send_retries_total",
            "Graph API sends retried after a transient error.",
            self.send_retries.load(Relaxed),
        );
        let _ = writeln!(s, "# HELP switchboard_webhooks_rejected_total Webhook requests refused.\n# TYPE switchboard_webhooks_rejected_total counter");
        let _ = writeln!(
            s,
            "switchboard_webhooks_rejected_total{{reason=\"signature\"}} {}",
            self.webhooks_rejected_signature.load(Relaxed)
        );
        let _ = writeln!(
            s,
            "switchboard_webhooks_rejected_total{{reason=\"other\"}} {}",
            self.webhooks_rejected_other.load(Relaxed)
        );
        let _ = writeln!(s, "# HELP switchboard_send_failures_total Sends that failed for good, by Graph error code.\n# TYPE switchboard_send_failures_total counter");
        for (code, n) in self.send_failures.lock().expect("metrics lock").iter() {
            let _ = writeln!(s, "switchboard_send_failures_total{{code=\"{code}\"}} {n}");
        }
        let mut gauge = |name: &str, help: &str, v: i64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "switchboard_send_queue_depth",
            "Messages waiting for the Graph API.",
            queue_depth,
        );
        gauge(
            "switchboard_event_log_head",
            "Sequence number of the newest event.",
            event_head,
        );
        gauge(
            "switchboard_webhook_inbox_pending",
            "Acknowledged webhook bodies not yet applied.",
            inbox_pending,
        );
        s
    }
}
