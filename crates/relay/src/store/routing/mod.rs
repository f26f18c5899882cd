//! Assignment, presence and the queue in the store: the I/O around [`crate::routing`].
//!
//! Every function here runs inside a write job of the single writer, so reading the agents'
//! loads, deciding and writing the assignment is one atomic step: two webhooks can never both
//! see the same free place. Agent loads are kept by triggers on `conversations` (migration 3),
//! whichever code path changes an assignee or a status.
//!
//! Triggers for routing: a conversation opens or reopens ([`route`]), capacity frees (a resolve,
//! an agent coming online, a capacity change: [`drain`]), an agent goes offline past the grace
//! period ([`tick`] requeues their conversations). Each assignment change is logged in
//! `assignments` and emitted as `conversation.assigned` with who and why.
//!
//! One file per concern: [`config`] (settings, policies, skills, teams, agent settings), [`tags`],
//! [`assign`] (the queue and assignment), [`lifecycle`] (open, reply, resolve, reopen, measures),
//! [`presence`] (streams, status, heartbeats, the tick) and [`monitor`] (what supervisors read).

mod assign;
mod config;
mod lifecycle;
mod monitor;
mod presence;
mod tags;

pub use assign::*;
pub use config::*;
pub use lifecycle::*;
pub use monitor::*;
pub use presence::*;
pub use tags::*;

#[allow(unused_imports)]
use std::collections::HashMap;

#[allow(unused_imports)]
use crate::store::db::{params, Db, Optional};
#[allow(unused_imports)]
use serde_json::json;
#[allow(unused_imports)]
use switchboard_protocol::api::{
    event_kind, AgentPresence, Assignment, Conversation, Monitor, MonitorAgent, MonitorTeam,
    OverdueConversation,
};

#[allow(unused_imports)]
use super::events::{Audience, NewEvent};
#[allow(unused_imports)]
use super::queries::emit_conversation;
#[allow(unused_imports)]
use super::{Result, StoreError, WriteCtx};
#[allow(unused_imports)]
use crate::routing::{self, Candidate, Mode, Policy, SkillRules, Status, Waiting};

/// mode, team, sticky days, skills JSON, priority tags JSON, round-robin cursor.
pub(super) type PolicyRow = (String, Option<i64>, i64, String, String, Option<i64>);
/// conversation, assignee, waiting since, alerted at, overdue at.
pub(super) type WaitRow = (i64, Option<i64>, i64, Option<i64>, Option<i64>);

/// The most queued conversations looked at per drain (the rest wait for the next one).
pub(super) const DRAIN_BATCH: i64 = 500;
