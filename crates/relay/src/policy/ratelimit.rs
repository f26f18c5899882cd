//! Send-rate decisions (pure, injected clock): per-number rate, pair limit, adaptive backoff,
//! and the dispatch plan the sender follows.
//!
//! - **Per number**: a GCRA (generic cell rate algorithm, a token bucket without a timer) with the
//!   configured rate per minute (default 80; users set 20-120) and a small burst. Over any window
//!   the number of sends is at most `rate * window + burst`, so the long-run rate is the
//!   configured one.
//! - **Pair limit**: per conversation (one business number to one customer) one message per
//!   `pair_interval` (Meta: 6 s); `pair_burst` > 1 enables Meta's burst rule (up to 45 in 6 s,
//!   borrowed from future quota, which a GCRA models exactly).
//! - **Adaptive backoff**: Meta's throughput errors (130429, 80007, 4) pause the number and halve
//!   its rate (down to 1/8); each accepted send wins back 5 % of the configured rate. The pair
//!   error 131056 delays only that customer, `4^x` seconds (1, 4, 16, 64) as Meta advises.
//! - **Plan**: candidates come in priority order (agent replies before auto-replies before
//!   bulk), each conversation with only its oldest message (per-conversation order); the plan
//!   dispatches what the limits allow and says when to look again.

use std::collections::HashMap;

pub use switchboard_protocol::policy::{NumberRate, RateSettings};

/// A GCRA cell: `tat` is the theoretical arrival time of the next send, in µs.
#[derive(Debug, Clone, Copy, Default)]
struct Gcra {
    tat_us: i64,
}

impl Gcra {
    /// When a send may happen (µs), given interval `t` and tolerance `tau`.
    fn ready_at(&self, tau: i64) -> i64 {
        self.tat_us - tau
    }
    fn take(&mut self, now_us: i64, t: i64) {
        self.tat_us = self.tat_us.max(now_us) + t;
    }
}

#[derive(Debug, Clone, Default)]
struct NumberState {
    gcra: Gcra,
    /// 1.0 = configured rate; lowered by throttling errors.
    factor: f64,
    paused_until_ms: i64,
    throttles_in_row: u32,
    throttled_total: u64,
}

#[derive(Debug, Clone, Default)]
struct PairState {
    gcra: Gcra,
    pair_errors_in_row: u32,
    /// When this conversation last got a send (for round-robin fairness).
    last_sent_ms: Option<i64>,
}

/// What the sender reports back after a Graph call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feedback {
    Accepted,
    /// 130429 / 80007 / 4: the number is over Meta's limit.
    NumberThrottled {
        code: i64,
    },
    /// 131056: too many messages to this customer.
    PairThrottled,
    /// Anything else (the limiter is not concerned).
    Other,
}

pub fn feedback_for(code: Option<i64>) -> Feedback {
    match code {
        Some(130429) | Some(80007) | Some(4) => Feedback::NumberThrottled {
            code: code.unwrap_or(0),
        },
        Some(131056) => Feedback::PairThrottled,
        _ => Feedback::Other,
    }
}

/// The limiter: all numbers and conversations. Lives behind a mutex in the sender.
#[derive(Debug, Default)]
pub struct Limiter {
    defaults: RateSettings,
    settings: HashMap<String, RateSettings>,
    numbers: HashMap<String, NumberState>,
    pairs: HashMap<i64, PairState>,
    /// First pause after a throughput error (doubles per error in a row); quota errors pause
    /// five times longer.
    pause_base_ms: i64,
}

const MIN_FACTOR: f64 = 0.125;

fn ceil_ms(us: i64) -> i64 {
    us.div_euclid(1000) + i64::from(us.rem_euclid(1000) != 0)
}

impl Limiter {
    pub fn new(defaults: RateSettings) -> Limiter {
        Limiter {
            defaults,
            pause_base_ms: 1000,
            ..Limiter::default()
        }
    }

    /// Sets the first pause after a throughput error (default 1 s).
    pub fn with_pause_base(mut self, ms: i64) -> Limiter {
        self.pause_base_ms = ms.max(1);
        self
    }

    pub fn set(&mut self, phone_number_id: &str, s: RateSettings) {
        self.settings.insert(phone_number_id.to_string(), s);
    }

    pub fn settings(&self, phone_number_id: &str) -> RateSettings {
        self.settings
            .get(phone_number_id)
            .copied()
            .unwrap_or(self.defaults)
    }

    fn number(&mut self, pnid: &str) -> &mut NumberState {
        self.numbers
            .entry(pnid.to_string())
            .or_insert_with(|| NumberState {
                factor: 1.0,
                ..NumberState::default()
            })
    }

    /// (interval µs, tolerance µs) of a number, after backoff.
    fn number_params(&self, pnid: &str) -> (i64, i64) {
        let s = self.settings(pnid);
        let factor = self.numbers.get(pnid).map_or(1.0, |n| n.factor);
        let t = (60_000_000.0 / (s.per_minute.max(1) as f64 * factor)).round() as i64;
        (t, t * (s.burst.max(1) as i64 - 1))
    }

    fn pair_params(&self, pnid: &str) -> (i64, i64) {
        let s = self.settings(pnid);
        let t = s.pair_interval_ms * 1000;
        (t, t * (s.pair_burst.max(1) as i64 - 1))
    }

    /// When a send on `pnid` to conversation `conv` may go (ms); `<= now` means now.
    pub fn ready_at(&mut self, now_ms: i64, pnid: &str, conv: i64) -> i64 {
        let number_ready = self.number_ready_at(pnid);
        let (_, ptau) = self.pair_params(pnid);
        // With the pair limit off, the pair state still carries 131056 backoffs.
        let pair_ready = self
            .pairs
            .get(&conv)
            .map_or(now_ms, |p| ceil_ms(p.gcra.ready_at(ptau)));
        number_ready.max(pair_ready)
    }

    /// When the number's own limit (rate, pause) next allows a send (ms).
    fn number_ready_at(&mut self, pnid: &str) -> i64 {
        let (_, tau) = self.number_params(pnid);
        let n = self.number(pnid);
        ceil_ms(n.gcra.ready_at(tau)).max(n.paused_until_ms)
    }

    /// Takes a send if the limits allow it now; otherwise returns when to try again (ms).
    pub fn try_acquire(&mut self, now_ms: i64, pnid: &str, conv: i64) -> Result<(), i64> {
        let ready = self.ready_at(now_ms, pnid, conv);
        if ready > now_ms {
            return Err(ready);
        }
        let now_us = now_ms * 1000;
        let (t, _) = self.number_params(pnid);
        let (pt, _) = self.pair_params(pnid);
        self.number(pnid).gcra.take(now_us, t);
        let pair = self.pairs.entry(conv).or_default();
        if pt > 0 {
            pair.gcra.take(now_us, pt);
        }
        pair.last_sent_ms = Some(now_ms);
        Ok(())
    }

    /// Adapts to what the Graph API answered.
    pub fn feedback(&mut self, now_ms: i64, pnid: &str, conv: i64, f: Feedback) {
        match f {
            Feedback::Accepted => {
                let n = self.number(pnid);
                n.throttles_in_row = 0;
                n.factor = (n.factor + 0.05).min(1.0);
                if let Some(p) = self.pairs.get_mut(&conv) {
                    p.pair_errors_in_row = 0;
                }
            }
            Feedback::NumberThrottled { code } => {
                let pause_base = self.pause_base_ms;
                let n = self.number(pnid);
                n.factor = (n.factor * 0.5).max(MIN_FACTOR);
                n.throttles_in_row += 1;
                n.throttled_total += 1;
                // Throughput (130429): seconds; WABA/app quotas (80007, 4): longer.
                let base = if code == 130429 {
                    pause_base
                } else {
                    pause_base * 5
                };
                let pause = (base << (n.throttles_in_row - 1).min(6)).min(60_000);
                n.paused_until_ms = n.paused_until_ms.max(now_ms + pause);
                // Nothing may go before the pause ends, and then only at the lowered rate.
                n.gcra.tat_us = n.gcra.tat_us.max(n.paused_until_ms * 1000);
            }
            Feedback::PairThrottled => {
                let p = self.pairs.entry(conv).or_default();
                let wait_s = 4i64.pow(p.pair_errors_in_row.min(3));
                p.pair_errors_in_row += 1;
                p.gcra.tat_us = p.gcra.tat_us.max((now_ms + wait_s * 1000) * 1000);
                self.number(pnid).throttled_total += 1;
            }
            Feedback::Other => {}
        }
    }

    /// Forgets conversations idle for longer than their interval (bounded memory).
    pub fn prune(&mut self, now_ms: i64) {
        let now_us = now_ms * 1000;
        self.pairs.retain(|_, p| {
            p.gcra.tat_us > now_us
                || p.pair_errors_in_row > 0
                || p.last_sent_ms.is_some_and(|t| now_ms - t < 600_000)
        });
    }

    /// When a conversation last got a send, if remembered.
    pub fn last_sent(&self, conv: i64) -> Option<i64> {
        self.pairs.get(&conv).and_then(|p| p.last_sent_ms)
    }

    pub fn snapshot(&self, now_ms: i64) -> Vec<NumberRate> {
        let mut ids: Vec<&String> = self.settings.keys().chain(self.numbers.keys()).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let s = self.settings(id);
                let n = self.numbers.get(id);
                let factor = n.map_or(1.0, |n| n.factor);
                NumberRate {
                    phone_number_id: id.clone(),
                    settings: s,
                    effective_per_minute: (s.per_minute as f64 * factor * 100.0).round() / 100.0,
                    paused_until: n.map(|n| n.paused_until_ms).filter(|&p| p > now_ms),
                    throttled_total: n.map_or(0, |n| n.throttled_total),
                }
            })
            .collect()
    }
}

/// One queued message the sender could send now (the oldest of its conversation).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub message_id: i64,
    pub conversation_id: i64,
    pub phone_number_id: String,
    /// 2 agent reply, 1 automatic (auto-reply, away message), 0 bulk.
    pub priority: i64,
}

/// What to do now.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Indexes into the candidates, to dispatch now.
    pub dispatch: Vec<usize>,
    /// The earliest time a held-back candidate may go (ms).
    pub wake_at: Option<i64>,
}

/// Chooses what goes now: candidates in priority order, within a priority the conversation
/// served least recently first (round robin: a customer with a long backlog does not starve the
/// others), then oldest message first; at most `free`, each only if its number's and its
/// customer's limits allow. A candidate held back by its number's limit also holds back that
/// number's lower-ranked ones (they would take its slot).
pub fn plan(now_ms: i64, candidates: &[Candidate], limiter: &mut Limiter, free: usize) -> Plan {
    let mut order: Vec<(i64, Option<i64>, i64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                -c.priority,
                limiter.last_sent(c.conversation_id),
                c.message_id,
                i,
            )
        })
        .collect();
    order.sort();
    let order: Vec<usize> = order.into_iter().map(|o| o.3).collect();
    let mut out = Plan::default();
    let mut number_blocked: Vec<&str> = Vec::new();
    for i in order {
        let c = &candidates[i];
        if number_blocked.contains(&c.phone_number_id.as_str()) {
            continue;
        }
        if out.dispatch.len() >= free {
            break;
        }
        match limiter.try_acquire(now_ms, &c.phone_number_id, c.conversation_id) {
            Ok(()) => out.dispatch.push(i),
            Err(at) => {
                // If the number itself is the limit, nothing else of it can go now, and the
                // number (not this customer) decides when to look again.
                let number_ready = limiter.number_ready_at(&c.phone_number_id);
                let at = if number_ready > now_ms {
                    number_blocked.push(&c.phone_number_id);
                    number_ready
                } else {
                    at
                };
                out.wake_at = Some(out.wake_at.map_or(at, |w: i64| w.min(at)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, VecDeque};

    fn settings(per_minute: u32) -> RateSettings {
        RateSettings {
            per_minute,
            burst: 5,
            pair_interval_ms: 6000,
            pair_burst: 1,
        }
    }

    /// A simulated hour: 200 conversations with a deep backlog each on one number, plus agent
    /// replies trickling in. The sender follows `plan` on a virtual clock, waking exactly when the
    /// plan says. The configured rate must hold within 1 % and no customer may get two messages
    /// less than 6 s apart.
    fn simulated_hour(per_minute: u32) {
        let mut limiter = Limiter::new(settings(per_minute));
        let pnid = "200000000000002";
        let mut queues: BTreeMap<i64, VecDeque<(i64, i64)>> = BTreeMap::new(); // conv -> (id, prio)
        let mut next_id = 0;
        for conv in 0..200 {
            let q = queues.entry(conv).or_default();
            for _ in 0..100 {
                next_id += 1;
                q.push_back((next_id, 0));
            }
        }
        // Three customers an agent writes to non-stop: the pair limit binds for them.
        for conv in 20_000..20_003 {
            let q = queues.entry(conv).or_default();
            for _ in 0..1000 {
                next_id += 1;
                q.push_back((next_id, 2));
            }
        }
        let hour = 3_600_000;
        let mut now = 0i64;
        let mut sends: Vec<(i64, i64, i64)> = Vec::new(); // (at, conv, prio)
        let mut next_agent = 0i64;
        while now < hour {
            // An agent reply every 20 s to a fresh conversation.
            while next_agent <= now {
                next_id += 1;
                queues
                    .entry(10_000 + next_agent / 20_000)
                    .or_default()
                    .push_back((next_id, 2));
                next_agent += 20_000;
            }
            let cands: Vec<Candidate> = queues
                .iter()
                .filter_map(|(conv, q)| {
                    q.front().map(|(id, prio)| Candidate {
                        message_id: *id,
                        conversation_id: *conv,
                        phone_number_id: pnid.into(),
                        priority: *prio,
                    })
                })
                .collect();
            let p = plan(now, &cands, &mut limiter, 32);
            for i in &p.dispatch {
                let c = &cands[*i];
                queues.get_mut(&c.conversation_id).unwrap().pop_front();
                sends.push((now, c.conversation_id, c.priority));
                limiter.feedback(now, pnid, c.conversation_id, Feedback::Accepted);
            }
            now = p.wake_at.unwrap_or(now + 1000).max(now + 1).min(next_agent);
        }
        if std::env::var("DBG").is_ok() && per_minute == 80 {
            for w in sends.windows(2).take(400) {
                eprintln!("{} {} {} gap {}", w[1].0, w[1].1, w[1].2, w[1].0 - w[0].0);
            }
        }
        let expected = per_minute as f64 * 60.0;
        let got = sends.len() as f64;
        assert!(
            (got - expected).abs() / expected <= 0.01,
            "{per_minute}/min: {got} sends in an hour, expected {expected}"
        );
        // Any 60 s window holds at most rate + burst.
        let times: Vec<i64> = sends.iter().map(|s| s.0).collect();
        for (i, &t) in times.iter().enumerate() {
            let in_minute = times[i..].iter().take_while(|&&u| u < t + 60_000).count();
            assert!(
                in_minute as u32 <= per_minute + 5,
                "window at {t}: {in_minute}"
            );
        }
        // Pair limit: never two sends to one customer within 6 s.
        let mut last: HashMap<i64, i64> = HashMap::new();
        for (at, conv, _) in &sends {
            if let Some(prev) = last.insert(*conv, *at) {
                assert!(at - prev >= 6000, "conversation {conv}: {prev} then {at}");
            }
        }
        // Agent replies jump the bulk backlog: each leaves within a couple of send slots.
        let fresh = sends
            .iter()
            .filter(|s| (10_000..20_000).contains(&s.1))
            .count();
        assert!(fresh >= 179, "agent replies sent: {fresh}");
        // The busy customers never get more than the pair limit allows (one per 6 s), and get
        // all of it when the number's rate leaves room.
        for conv in 20_000..20_003 {
            let n = sends.iter().filter(|s| s.1 == conv).count();
            assert!(n <= 600, "conversation {conv}: {n}");
            if per_minute >= 80 {
                assert!(n >= 599, "conversation {conv}: {n}");
            }
        }
    }

    #[test]
    fn limiter_holds_the_rate_within_one_percent_over_a_simulated_hour() {
        for rate in [20, 80, 120] {
            simulated_hour(rate);
        }
    }

    #[test]
    fn pair_limit_with_one_busy_customer() {
        let mut l = Limiter::new(settings(120));
        assert!(l.try_acquire(0, "n", 1).is_ok());
        assert_eq!(l.try_acquire(1, "n", 1), Err(6000));
        // Another customer is not held up by the first.
        assert!(l.try_acquire(600, "n", 2).is_ok());
        assert!(l.try_acquire(6000, "n", 1).is_ok());
        // Meta's burst rule when enabled: 3 at once, then one per 6 s.
        let mut l = Limiter::new(RateSettings {
            pair_burst: 3,
            burst: 10,
            ..settings(120)
        });
        for _ in 0..3 {
            assert!(l.try_acquire(0, "n", 7).is_ok());
        }
        assert_eq!(l.try_acquire(0, "n", 7), Err(6000));
    }

    #[test]
    fn adaptive_backoff_on_meta_throttling() {
        let mut l = Limiter::new(settings(120));
        assert!(l.try_acquire(0, "n", 1).is_ok());
        l.feedback(0, "n", 1, feedback_for(Some(130429)));
        // Paused for a second, then at half the rate.
        assert!(l.try_acquire(500, "n", 2).is_err());
        assert!(l.try_acquire(1000, "n", 2).is_ok());
        assert_eq!(l.snapshot(1000)[0].effective_per_minute, 60.0);
        // A second throttle in a row pauses longer (2 s) and halves again.
        l.feedback(1000, "n", 2, feedback_for(Some(130429)));
        assert!(l.try_acquire(2999, "n", 3).is_err());
        assert_eq!(l.snapshot(1000)[0].effective_per_minute, 30.0);
        // Successes win the rate back step by step.
        for i in 0..20 {
            l.feedback(10_000 + i, "n", 3, Feedback::Accepted);
        }
        assert_eq!(l.snapshot(20_000)[0].effective_per_minute, 120.0);
        // 80007 pauses for longer (5 s).
        l.feedback(30_000, "n", 3, feedback_for(Some(80007)));
        assert!(l.try_acquire(34_999, "n", 4).is_err());
        assert!(l.try_acquire(35_000, "n", 4).is_ok());
        // 131056: only that customer waits, 1 s, then 4 s.
        l.feedback(40_000, "n", 9, feedback_for(Some(131056)));
        assert!(l.try_acquire(40_500, "n", 9).is_err());
        assert!(l.try_acquire(40_500, "n", 10).is_ok());
        l.feedback(41_000, "n", 9, feedback_for(Some(131056)));
        assert_eq!(l.try_acquire(42_000, "n", 9), Err(45_000));
    }

    #[test]
    fn plan_prefers_agent_replies_and_stays_fair() {
        let mut l = Limiter::new(RateSettings {
            burst: 2,
            ..settings(60)
        });
        let c = |id, conv, prio| Candidate {
            message_id: id,
            conversation_id: conv,
            phone_number_id: "n".into(),
            priority: prio,
        };
        let cands = vec![c(1, 1, 0), c(2, 2, 1), c(3, 3, 2), c(4, 4, 0)];
        let p = plan(0, &cands, &mut l, 32);
        // Two slots (burst 2): the agent reply, then the auto-reply.
        assert_eq!(p.dispatch, vec![2, 1]);
        assert_eq!(p.wake_at, Some(1000));
        let p = plan(1000, &cands[..1], &mut l, 32);
        assert_eq!(p.dispatch, vec![0]);
    }
}
