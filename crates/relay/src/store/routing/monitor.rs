//! Reading for supervisors: the live monitor, an agent's conversations, measuring periods.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- reading: monitor, measures

pub(super) const HOUR_MS: i64 = 3600 * 1000;
pub(super) const DAY_MS: i64 = 24 * HOUR_MS;

/// The supervisor's snapshot at `now`: the store reads, [`crate::routing::monitor::aggregate`]
/// adds up.
pub fn monitor(conn: &Db, now: i64) -> Result<Monitor> {
    Ok(routing::monitor::aggregate(now, monitor_inputs(conn, now)?))
}

/// What the monitor at `now` is made of.
fn monitor_inputs(conn: &Db, now: i64) -> Result<routing::monitor::MonitorInputs> {
    let (_, _, overdue_ms) = settings_ms(conn)?;
    let agents: Vec<MonitorAgent> = {
        let mut stmt = conn.prepare_cached(
            "SELECT u.id, u.name, u.email, u.role, a.status, a.presence, a.connections, a.load, a.capacity, a.teams, a.skills
             FROM users u JOIN agent_routing a ON a.user_id = u.id ORDER BY u.id",
        )?;
        let rows = stmt.query_map((), |r| {
            let id: i64 = r.get(0)?;
            Ok(MonitorAgent {
                id,
                name: r.get(1)?,
                email: r.get(2)?,
                role: r.get(3)?,
                presence: AgentPresence {
                    user_id: id,
                    status: Status::parse(&r.get::<String>(4)?).unwrap_or(Status::Online),
                    presence: Status::parse(&r.get::<String>(5)?).unwrap_or(Status::Offline),
                    connections: r.get(6)?,
                    open: r.get(7)?,
                    capacity: r.get(8)?,
                },
                teams: id_list(&r.get::<String>(9)?),
                skills: list_column(&r.get::<String>(10)?),
                first_response: Default::default(),
                resolved_last_hour: 0,
                overdue: 0,
            })
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let first_responses: Vec<(i64, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT first_responder_id, first_response_at - first_inbound_at FROM conversation_periods
             WHERE first_response_at >= ?1 AND first_inbound_at IS NOT NULL AND first_responder_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([now - DAY_MS], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let resolved_last_hour: Vec<(i64, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT resolved_by, COUNT(*) FROM conversation_periods WHERE resolved_at >= ?1 AND resolved_by IS NOT NULL GROUP BY resolved_by",
        )?;
        let rows = stmt.query_map([now - HOUR_MS], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let overdue: Vec<OverdueConversation> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, assignee_id, phone_number_id, waiting_since FROM conversations
             WHERE waiting_since IS NOT NULL AND waiting_since <= ?1 AND status = 'open' ORDER BY waiting_since, id",
        )?;
        let rows = stmt.query_map([now - overdue_ms], |r| {
            let since: i64 = r.get(3)?;
            Ok(OverdueConversation {
                conversation_id: r.get(0)?,
                assignee_id: r.get(1)?,
                phone_number_id: r.get(2)?,
                waiting_since: since,
                waiting_s: (now - since) as f64 / 1000.0,
            })
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let queue: Vec<(Option<i64>, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT team_id, queued_at FROM conversations WHERE queued_at IS NOT NULL AND assignee_id IS NULL AND status = 'open'",
        )?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    Ok(routing::monitor::MonitorInputs {
        agents,
        first_responses,
        resolved_last_hour,
        overdue,
        queue,
        teams: teams(conn)?
            .into_iter()
            .map(|t| (t.id, t.name, t.members))
            .collect(),
        head: crate::store::events::head(conn)?,
    })
}

/// The conversations agent `?1` held since `?2` (assigned to them then, or theirs now and active).
const HELD_SINCE: &str =
    "SELECT conversation_id AS id FROM assignments WHERE to_user = ?1 AND at >= ?2
     UNION SELECT id FROM conversations WHERE assignee_id = ?1 AND updated_at >= ?2";

/// Conversations an agent held in the last 30 days (assigned to them then or now).
pub fn agent_conversations(conn: &Db, agent: i64, now: i64) -> Result<Vec<Conversation>> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare(&format!("{HELD_SINCE} ORDER BY 1 DESC LIMIT 1000"))?;
        let rows = stmt.query_map(params![agent, now - 30 * DAY_MS], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match crate::store::queries::conversation(conn, id) {
            Ok(c) => out.push(c),
            Err(StoreError::NotFound(_)) => {} // merged away since
            Err(e) => return Err(e),
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
    Ok(out)
}

pub use switchboard_protocol::routing::Period;

/// A conversation's measures, one entry per time it was open, oldest first.
pub fn periods(conn: &Db, conv: i64) -> Result<Vec<Period>> {
    let mut stmt = conn.prepare(
        "SELECT opened_at, first_inbound_at, assigned_at, first_response_at, first_responder_id, resolved_at
         FROM conversation_periods WHERE conversation_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([conv], |r| {
        let opened: i64 = r.get(0)?;
        let inbound: Option<i64> = r.get(1)?;
        let assigned: Option<i64> = r.get(2)?;
        let response: Option<i64> = r.get(3)?;
        let resolved: Option<i64> = r.get(5)?;
        Ok(Period {
            opened_at: opened,
            first_inbound_at: inbound,
            assigned_at: assigned,
            first_response_at: response,
            first_responder_id: r.get(4)?,
            resolved_at: resolved,
            time_to_assignment_ms: assigned.map(|a| a - opened),
            first_response_ms: match (inbound, response) {
                (Some(i), Some(r)) => Some((r - i).max(0)),
                _ => None,
            },
            resolution_ms: resolved.map(|r| r - opened),
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub use switchboard_protocol::routing::{AgentReport, QueuedConversation};

/// The most queued conversations the queue view lists.
const QUEUE_VIEW_LIMIT: i64 = 500;

/// Conversations waiting for an agent at `now`, in queue order, each with why it waits.
pub fn queue(conn: &Db, now: i64) -> Result<Vec<QueuedConversation>> {
    let ids = queued_ids(conn, QUEUE_VIEW_LIMIT)?;
    let seats: Vec<routing::queue::Seat> = {
        let mut stmt = conn.prepare_cached(
            "SELECT user_id, presence, load, capacity, skills, teams, last_assigned_at FROM agent_routing
             WHERE routable = 1",
        )?;
        let rows = stmt.query_map((), |r| {
            Ok(routing::queue::Seat {
                online: r.get::<String>(1)? == "online",
                agent: Candidate {
                    id: r.get(0)?,
                    load: r.get(2)?,
                    capacity: r.get(3)?,
                    skills: list_column(&r.get::<String>(4)?),
                    teams: id_list(&r.get::<String>(5)?),
                    last_assigned_at: r.get(6)?,
                },
            })
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut policies: HashMap<String, Policy> = HashMap::new();
    let mut waiting_list = Vec::with_capacity(ids.len());
    for id in ids {
        let f = conv_facts(conn, id)?;
        if !policies.contains_key(&f.pnid) {
            policies.insert(f.pnid.clone(), policy(conn, &f.pnid)?.0);
        }
        waiting_list.push(waiting(conn, id, &f, &policies[&f.pnid], None, now)?);
    }
    routing::queue_order(&mut waiting_list);
    Ok(waiting_list
        .into_iter()
        .map(|w| QueuedConversation {
            reason: routing::queue::why_waiting(&w, &seats),
            conversation_id: w.conversation_id,
            phone_number_id: w.phone_number_id,
            team_id: w.team_id,
            priority: w.priority,
            queued_at: w.queued_at,
            waiting_s: (now - w.queued_at).max(0) as f64 / 1000.0,
            required_skills: w.required_skills,
        })
        .collect())
}

/// How agent `agent` did in the `days` days before `now`; `NotFound` for an unknown user.
pub fn agent_report(conn: &Db, agent: i64, days: i64, now: i64) -> Result<AgentReport> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT id FROM users WHERE id = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("user {agent}")));
    }
    let since = now - days * DAY_MS;
    let conversations: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM ({HELD_SINCE}) held"))?
        .query_row(params![agent, since], |r| r.get(0))?;
    let first_responses: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT first_response_at - first_inbound_at FROM conversation_periods
             WHERE first_responder_id = ?1 AND first_response_at >= ?2 AND first_inbound_at IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![agent, since], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let resolutions: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT resolved_at - opened_at FROM conversation_periods
             WHERE resolved_by = ?1 AND resolved_at >= ?2",
        )?;
        let rows = stmt.query_map(params![agent, since], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    Ok(routing::queue::agent_report(
        agent,
        days,
        since,
        now,
        routing::queue::ReportInputs {
            conversations,
            first_responses,
            resolutions,
        },
    ))
}
