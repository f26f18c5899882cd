//! Routing decisions, sans I/O: who gets a waiting conversation, in which order the queue is
//! served, and what an agent's presence is. Plain functions over data with the clock passed in;
//! `store::routing` loads the data inside a write job, calls these and writes the outcome, so a
//! decision and its effect are one atomic step of the single writer (no conversation is assigned
//! twice and no agent goes over capacity, however many webhooks arrive at once).
//!
//! Rules, in the order users expect them to combine:
//! 1. **Sticky**: a returning customer goes back to their last agent if that agent is available
//!    with free capacity and the last conversation was resolved within `sticky_days`.
//! 2. **Skills**: the conversation's number, the customer's language and the customer's tags map
//!    to required skills; only agents with all of them qualify (and only the policy's team, or the
//!    team the conversation was transferred to).
//! 3. **Load rule** among those: least-loaded (fewest open conversations, then the one who waited
//!    longest since their last assignment, then the lowest id) or round-robin (the next agent id
//!    after the last one this number assigned to, wrapping around).
//!
//! An agent never receives a conversation at or over their capacity, under either rule.

use std::collections::HashMap;

/// The explicit status a person sets (`PUT /api/v1/me/status`), and effective presence.
pub use switchboard_protocol::api::AgentStatus as Status;
pub use switchboard_protocol::api::Durations;
pub use switchboard_protocol::routing::{Mode, Policy, SkillRules};

/// Effective presence: the explicit status, unless no live connection was open for the grace
/// period (then offline). An agent is routed to only when this is `Online`.
pub fn presence(
    explicit: Status,
    connections: i64,
    last_seen_at: Option<i64>,
    now: i64,
    grace_ms: i64,
) -> Status {
    if explicit == Status::Offline {
        return Status::Offline;
    }
    let connected = connections > 0 || last_seen_at.is_some_and(|t| now - t < grace_ms);
    if connected {
        explicit
    } else {
        Status::Offline
    }
}

/// An agent available for routing (presence online), as the router sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    /// Open conversations assigned now.
    pub load: i64,
    pub capacity: i64,
    pub skills: Vec<String>,
    pub teams: Vec<i64>,
    pub last_assigned_at: i64,
}

impl Candidate {
    fn has_room(&self) -> bool {
        self.load < self.capacity
    }
}

/// A conversation waiting for an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub conversation_id: i64,
    pub phone_number_id: String,
    pub priority: i64,
    /// Waiting since (queue order); for a conversation routed as it opens, now.
    pub queued_at: i64,
    pub required_skills: Vec<String>,
    /// The team it must stay within (a transfer to a team, or the policy's team).
    pub team_id: Option<i64>,
    /// The customer's last agent and when that conversation was resolved (sticky rule).
    pub previous: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Sticky,
    LeastLoaded,
    RoundRobin,
}

impl Reason {
    pub fn as_str(self, with_skills: bool) -> &'static str {
        match (self, with_skills) {
            (Reason::Sticky, _) => "sticky",
            (Reason::LeastLoaded, false) => "least_loaded",
            (Reason::RoundRobin, false) => "round_robin",
            (Reason::LeastLoaded, true) => "skills+least_loaded",
            (Reason::RoundRobin, true) => "skills+round_robin",
        }
    }
}

/// One assignment the router decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub conversation_id: i64,
    pub agent_id: i64,
    pub reason: &'static str,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Picks an agent for one waiting conversation, or `None` (it waits in the queue).
/// `rr_last`: the agent this number's round-robin assigned to last.
pub fn choose(
    policy: &Policy,
    w: &Waiting,
    candidates: &[Candidate],
    rr_last: Option<i64>,
    now: i64,
) -> Option<(i64, Reason)> {
    if policy.sticky_days > 0 {
        if let Some((agent, resolved_at)) = w.previous {
            if now - resolved_at <= policy.sticky_days * DAY_MS {
                if let Some(c) = candidates.iter().find(|c| c.id == agent && c.has_room()) {
                    return Some((c.id, Reason::Sticky));
                }
            }
        }
    }
    let qualifies = |c: &&Candidate| {
        c.has_room()
            && w.team_id.is_none_or(|t| c.teams.contains(&t))
            && w.required_skills.iter().all(|s| c.skills.contains(s))
    };
    match policy.mode {
        Mode::LeastLoaded => candidates
            .iter()
            .filter(qualifies)
            .min_by_key(|c| (c.load, c.last_assigned_at, c.id))
            .map(|c| (c.id, Reason::LeastLoaded)),
        Mode::RoundRobin => {
            let mut eligible: Vec<&Candidate> = candidates.iter().filter(qualifies).collect();
            eligible.sort_by_key(|c| c.id);
            let after = rr_last.unwrap_or(i64::MIN);
            eligible
                .iter()
                .find(|c| c.id > after)
                .or(eligible.first())
                .map(|c| (c.id, Reason::RoundRobin))
        }
    }
}

/// Queue order: priority first, then the longest wait, then the oldest conversation.
pub fn queue_order(queue: &mut [Waiting]) {
    queue.sort_by_key(|w| (-w.priority, w.queued_at, w.conversation_id));
}

/// Serves `queue` in queue order against `candidates`, as if each decision were applied before
/// the next (loads and round-robin cursors move). Returns the assignments; the rest wait.
pub fn plan(
    mut queue: Vec<Waiting>,
    candidates: &mut [Candidate],
    policies: &HashMap<String, Policy>,
    rr_last: &mut HashMap<String, i64>,
    now: i64,
) -> Vec<Decision> {
    queue_order(&mut queue);
    let default = Policy::default();
    let mut out = Vec::new();
    for w in &queue {
        if !candidates.iter().any(Candidate::has_room) {
            break;
        }
        let policy = policies.get(&w.phone_number_id).unwrap_or(&default);
        let last = rr_last.get(&w.phone_number_id).copied();
        if let Some((agent, reason)) = choose(policy, w, candidates, last, now) {
            if let Some(c) = candidates.iter_mut().find(|c| c.id == agent) {
                c.load += 1;
                c.last_assigned_at = now;
            }
            if reason == Reason::RoundRobin {
                rr_last.insert(w.phone_number_id.clone(), agent);
            }
            out.push(Decision {
                conversation_id: w.conversation_id,
                agent_id: agent,
                reason: reason.as_str(!w.required_skills.is_empty()),
            });
        }
    }
    out
}

/// Summarises durations given in milliseconds (nearest-rank percentiles).
pub fn summarize(mut ms: Vec<i64>) -> Durations {
    if ms.is_empty() {
        return Durations::default();
    }
    ms.sort_unstable();
    let n = ms.len();
    let rank = |p: f64| ms[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1000.0;
    Durations {
        count: n,
        avg_s: Some(ms.iter().sum::<i64>() as f64 / n as f64 / 1000.0),
        median_s: Some(rank(0.5)),
        p90_s: Some(rank(0.9)),
    }
}

/// Waiting alerts for a conversation whose customer has waited since `waiting_since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alerts {
    /// Re-alert the assigned agent now.
    pub realert: bool,
    /// Show it as overdue to supervisors now.
    pub overdue: bool,
}

/// Which waiting alerts are due; each goes out once per wait (`alerted_at` / `overdue_at` are
/// when they went out, compared with the start of the current wait).
pub fn alerts_due(
    waiting_since: i64,
    alerted_at: Option<i64>,
    overdue_at: Option<i64>,
    assigned: bool,
    now: i64,
    alert_after_ms: i64,
    overdue_ms: i64,
) -> Alerts {
    let waited = now - waiting_since;
    let sent = |at: Option<i64>| at.is_some_and(|a| a >= waiting_since);
    Alerts {
        realert: assigned && waited >= alert_after_ms && !sent(alerted_at),
        overdue: waited >= overdue_ms && !sent(overdue_at),
    }
}

#[cfg(test)]
mod tests;

pub mod live;
pub mod monitor;
pub mod queue;
