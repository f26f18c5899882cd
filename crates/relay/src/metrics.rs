//! Prometheus counters and gauges, rendered by hand in the text exposition format.
//!
//! A few dozen series do not justify a metrics framework; atomics keep the hot path (webhook
//! ingest) free of locks. Gauges that live in the database (queue depth, log head) are read when
//! `/metrics` is scraped. Label values (phone number ids, refusal and error codes) are escaped
//! with [`label`].

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
    /// Signed bodies whose bytes were in the inbox already: acknowledged, not stored again.
    pub webhooks_replayed: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub send_retries: AtomicU64,
    /// Sends Meta answered with a rate-limit error (130429, 131056, 80007, 4).
    pub send_throttled: AtomicU64,
    pub auto_replies: AtomicU64,
    send_failures: Mutex<BTreeMap<i64, u64>>,
    policy_refusals: Mutex<BTreeMap<String, u64>>,
    /// Time from enqueue to dispatch: count, sum, max (ms).
    wait_count: AtomicU64,
    wait_sum_ms: AtomicU64,
    wait_max_ms: AtomicU64,
    /// The sender (on the cluster leader only): sends in flight, conversations busy, and its
    /// passes through the queue (a counter that stops moving means a stuck sender).
    sender_in_flight: AtomicU64,
    sender_busy: AtomicU64,
    sender_passes: AtomicU64,
    /// 1 while this relay leads its cluster (always on SQLite).
    pub leader: AtomicU64,
}

/// A label value escaped for the Prometheus text format: backslash, double quote and line feed
/// become `\\`, `\"` and `\n`, so a value can neither end the label nor the line.
pub fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Queue gauges read from the store and the limiter when `/metrics` is scraped.
#[derive(Debug, Default, Clone)]
pub struct QueueGauges {
    /// (priority, depth, oldest wait ms)
    pub by_priority: Vec<(i64, i64, i64)>,
    /// (phone_number_id, effective per minute, paused)
    pub numbers: Vec<(String, f64, bool)>,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn queue_wait(&self, ms: i64) {
        let ms = ms.max(0) as u64;
        self.wait_count.fetch_add(1, Relaxed);
        self.wait_sum_ms.fetch_add(ms, Relaxed);
        self.wait_max_ms.fetch_max(ms, Relaxed);
    }

    /// Records the sender's state after one pass through the queue.
    pub fn sender_state(&self, in_flight: usize, busy: usize) {
        self.sender_in_flight.store(in_flight as u64, Relaxed);
        self.sender_busy.store(busy as u64, Relaxed);
        self.sender_passes.fetch_add(1, Relaxed);
    }

    pub fn policy_refused(&self, code: &str) {
        *self
            .policy_refusals
            .lock()
            .expect("metrics lock")
            .entry(code.to_string())
            .or_default() += 1;
    }

    /// Queue depth and waits by priority and the limiter's state per number.
    pub fn render_queue(&self, q: &QueueGauges) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP switchboard_send_queue_depth_by_priority Queued messages by priority (2 agent, 1 automatic, 0 bulk).\n# TYPE switchboard_send_queue_depth_by_priority gauge");
        for (p, d, _) in &q.by_priority {
            let _ = writeln!(
                s,
                "switchboard_send_queue_depth_by_priority{{priority=\"{p}\"}} {d}"
            );
        }
        let _ = writeln!(s, "# HELP switchboard_send_queue_oldest_wait_ms Age of the oldest queued message by priority.\n# TYPE switchboard_send_queue_oldest_wait_ms gauge");
        for (p, _, w) in &q.by_priority {
            let _ = writeln!(
                s,
                "switchboard_send_queue_oldest_wait_ms{{priority=\"{p}\"}} {w}"
            );
        }
        let _ = writeln!(s, "# HELP switchboard_send_queue_wait_ms Time from enqueue to the Graph call.\n# TYPE switchboard_send_queue_wait_ms summary");
        let _ = writeln!(
            s,
            "switchboard_send_queue_wait_ms_sum {}",
            self.wait_sum_ms.load(Relaxed)
        );
        let _ = writeln!(
            s,
            "switchboard_send_queue_wait_ms_count {}",
            self.wait_count.load(Relaxed)
        );
        let _ = writeln!(s, "# HELP switchboard_send_queue_wait_max_ms Longest wait so far.\n# TYPE switchboard_send_queue_wait_max_ms gauge\nswitchboard_send_queue_wait_max_ms {}", self.wait_max_ms.load(Relaxed));
        let _ = writeln!(s, "# HELP switchboard_send_rate_per_minute Send rate in force per number (after adaptive backoff).\n# TYPE switchboard_send_rate_per_minute gauge");
        for (n, r, _) in &q.numbers {
            let _ = writeln!(
                s,
                "switchboard_send_rate_per_minute{{phone_number_id=\"{}\"}} {r}",
                label(n)
            );
        }
        let _ = writeln!(s, "# HELP switchboard_send_paused Whether a number is paused after WhatsApp throttling.\n# TYPE switchboard_send_paused gauge");
        for (n, _, p) in &q.numbers {
            let _ = writeln!(
                s,
                "switchboard_send_paused{{phone_number_id=\"{}\"}} {}",
                label(n),
                u8::from(*p)
            );
        }
        let _ = writeln!(s, "# HELP switchboard_send_throttled_total Sends WhatsApp answered with a rate-limit error.\n# TYPE switchboard_send_throttled_total counter\nswitchboard_send_throttled_total {}", self.send_throttled.load(Relaxed));
        let _ = writeln!(s, "# HELP switchboard_auto_replies_total Automatic replies queued (keyword rules and away messages).\n# TYPE switchboard_auto_replies_total counter\nswitchboard_auto_replies_total {}", self.auto_replies.load(Relaxed));
        let _ = writeln!(s, "# HELP switchboard_policy_refusals_total Outbound messages refused by the policy, by reason.\n# TYPE switchboard_policy_refusals_total counter");
        for (code, n) in self.policy_refusals.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                s,
                "switchboard_policy_refusals_total{{code=\"{}\"}} {n}",
                label(code)
            );
        }
        s
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
            "switchboard_webhooks_replayed_total",
            "Signed bodies already in the inbox (replays): acknowledged, not stored or applied again.",
            self.webhooks_replayed.load(Relaxed),
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
            let _ = writeln!(
                s,
                "switchboard_send_failures_total{{code=\"{}\"}} {n}",
                label(&code.to_string())
            );
        }
        let mut gauge = |name: &str, help: &str, v: i64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "switchboard_leader",
            "1 while this relay runs the cluster's sender and timers.",
            self.leader.load(Relaxed) as i64,
        );
        gauge(
            "switchboard_sender_in_flight",
            "Graph API sends in flight on this relay.",
            self.sender_in_flight.load(Relaxed) as i64,
        );
        gauge(
            "switchboard_sender_busy_conversations",
            "Conversations with a send in flight on this relay.",
            self.sender_busy.load(Relaxed) as i64,
        );
        gauge(
            "switchboard_sender_passes",
            "Passes of this relay's sender through the queue so far.",
            self.sender_passes.load(Relaxed) as i64,
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("200000000000002"), "200000000000002");
        assert_eq!(label(r#"a"b"#), r#"a\"b"#);
        assert_eq!(label(r"a\b"), r"a\\b");
        assert_eq!(label("a\nb"), r"a\nb");
        assert_eq!(label("\\\"\n"), r#"\\\"\n"#);
        assert_eq!(label("übersetzt"), "übersetzt");
    }

    #[test]
    fn a_hostile_label_value_stays_inside_its_series() {
        let m = Metrics::default();
        m.policy_refused("x\"} 1\nswitchboard_fake_total 99\n#");
        let q = QueueGauges {
            by_priority: vec![],
            numbers: vec![("1\"\n".into(), 80.0, false)],
        };
        let text = m.render_queue(&q);
        assert!(
            text.contains(r#"switchboard_policy_refusals_total{code="x\"} 1\nswitchboard_fake_total 99\n#"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"switchboard_send_rate_per_minute{phone_number_id="1\"\n"} 80"#),
            "{text}"
        );
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("switchboard_fake_total")),
            "{text}"
        );
    }

    #[test]
    fn replayed_bodies_are_counted() {
        let m = Metrics::default();
        Metrics::inc(&m.webhooks_replayed);
        let text = m.render(0, 0, 0);
        assert!(
            text.contains("# TYPE switchboard_webhooks_replayed_total counter\nswitchboard_webhooks_replayed_total 1\n"),
            "{text}"
        );
    }
}
