//! Routing settings as the relay's admin and supervisor API exchanges them: per-number policies
//! and skill rules, global settings, teams, skills, agents' settings and conversation measures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Mode {
    LeastLoaded,
    RoundRobin,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::LeastLoaded => "least_loaded",
            Mode::RoundRobin => "round_robin",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "least_loaded" => Some(Mode::LeastLoaded),
            "round_robin" => Some(Mode::RoundRobin),
            _ => None,
        }
    }
}

/// What a conversation's number, customer language and customer tags require.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SkillRules {
    /// Skills every conversation of this number requires.
    #[serde(default)]
    pub number: Vec<String>,
    /// Customer language (`de`, `en`, ...) to required skills.
    #[serde(default)]
    pub languages: BTreeMap<String, Vec<String>>,
    /// Customer tag to required skills.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<String>>,
}

impl SkillRules {
    /// Every skill the rules name (for validation).
    pub fn named(&self) -> Vec<&str> {
        self.number
            .iter()
            .chain(self.languages.values().flatten())
            .chain(self.tags.values().flatten())
            .map(String::as_str)
            .collect()
    }

    /// The skills a conversation needs, sorted and without repeats.
    pub fn required(&self, language: &str, tags: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self.number.clone();
        if let Some(s) = self.languages.get(language) {
            out.extend(s.iter().cloned());
        }
        for t in tags {
            if let Some(s) = self.tags.get(t) {
                out.extend(s.iter().cloned());
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// A number's routing policy.
/// Not `deny_unknown_fields`: clients read it from responses too (a field added later must not
/// break them); the relay refuses unknown fields in every request body itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Policy {
    pub mode: Mode,
    /// Route only to members of this team.
    pub team_id: Option<i64>,
    /// 0: not sticky.
    pub sticky_days: i64,
    pub skills: SkillRules,
    /// Customer tags whose conversations go first in the queue (default `["vip"]`).
    pub priority_tags: Vec<String>,
}

impl Default for Policy {
    /// A fresh install routes sensibly: least-loaded (capacity 6 per agent by default).
    fn default() -> Self {
        Policy {
            mode: Mode::LeastLoaded,
            team_id: None,
            sticky_days: 0,
            skills: SkillRules::default(),
            priority_tags: vec!["vip".into()],
        }
    }
}

impl Policy {
    /// Queue priority of a customer with these tags: 1 with a priority tag, else 0.
    pub fn priority(&self, tags: &[String]) -> i64 {
        i64::from(tags.iter().any(|t| self.priority_tags.contains(t)))
    }
}

/// Global routing settings (`/api/v1/admin/routing`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Settings {
    /// An agent with no open stream for this long counts as offline (their conversations return
    /// to the queue, per team).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 31536000))]
    pub grace_period_s: i64,
    /// A customer waiting this long for a reply re-alerts the assigned agent.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31536000))]
    pub alert_after_s: i64,
    /// Past this, the conversation shows as overdue to supervisors (at least `alert_after_s`).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31536000))]
    pub overdue_after_s: i64,
}

/// The skills agents may carry and policies may require.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Skills {
    pub skills: Vec<String>,
}

/// A team (`/api/v1/admin/teams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    /// Members' open conversations return to the queue when they go offline past the grace
    /// period (default true).
    pub requeue_on_offline: bool,
}

/// A team as admins write it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewTeam {
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    #[serde(default)]
    pub members: Vec<i64>,
    /// Default true.
    #[serde(default)]
    pub requeue_on_offline: Option<bool>,
}

/// An agent's routing settings (`/api/v1/admin/agents/{id}/routing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgentSettings {
    /// Open conversations this agent is given at most (default 6).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub capacity: i64,
    pub skills: Vec<String>,
    pub teams: Vec<i64>,
}

/// Measures of one open period of a conversation (milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Period {
    pub opened_at: i64,
    pub first_inbound_at: Option<i64>,
    pub assigned_at: Option<i64>,
    pub first_response_at: Option<i64>,
    pub first_responder_id: Option<i64>,
    pub resolved_at: Option<i64>,
    /// From opening to the first assignment.
    pub time_to_assignment_ms: Option<i64>,
    /// From the customer's first message to the first human reply.
    pub first_response_ms: Option<i64>,
    /// From opening to resolution.
    pub resolution_ms: Option<i64>,
}

/// Why a queued conversation has no agent yet, as the router would see it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum WaitReason {
    /// No agent who takes conversations is online.
    NobodyOnline,
    /// It waits for a team none of whose members is online.
    TeamOffline,
    /// Agents are online, but none has every skill it requires.
    MissingSkills,
    /// Everyone who qualifies is at capacity.
    AllBusy,
    /// Someone qualifies and has room: it goes out with the next assignment round.
    Next,
}

/// `GET /api/v1/monitor/queue`: one conversation waiting for an agent, in queue order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QueuedConversation {
    pub conversation_id: i64,
    pub phone_number_id: String,
    /// The team it waits for, if any.
    pub team_id: Option<i64>,
    /// 1 for a customer with a priority tag (served first), else 0.
    pub priority: i64,
    /// When it joined the queue (ms since the epoch).
    pub queued_at: i64,
    pub waiting_s: f64,
    /// Skills an agent needs to take it (from the number's skill rules).
    pub required_skills: Vec<String>,
    pub reason: WaitReason,
}

/// `GET /api/v1/monitor/agents/{id}/report`: how one agent did over the last `days` days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgentReport {
    pub agent_id: i64,
    pub days: i64,
    /// The period: `since` (inclusive) to `until`, ms since the epoch.
    pub since: i64,
    pub until: i64,
    /// Conversations the agent held in the period (assigned to them then, or now and active).
    pub conversations: i64,
    /// Conversation periods the agent resolved in the period.
    pub resolved: i64,
    /// First response times (the customer's first message to the agent's first reply) of the
    /// periods the agent answered first.
    pub first_response: crate::api::Durations,
    /// Opening to resolution of the periods the agent resolved.
    pub resolution: crate::api::Durations,
}

/// Query of `GET /api/v1/monitor/agents/{id}/report`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ReportQuery {
    /// 1 to 365; 30 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 365))]
    pub days: Option<i64>,
}
