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

use std::collections::HashMap;

use crate::store::db::{params, Db, Optional};
use serde_json::json;
use switchboard_protocol::api::{
    event_kind, AgentPresence, Assignment, Conversation, Monitor, MonitorAgent, MonitorTeam,
    OverdueConversation, Role,
};

use super::events::{Audience, NewEvent};
use super::queries::emit_conversation;
use super::{Result, StoreError, WriteCtx};
use crate::routing::{self, Candidate, Mode, Policy, SkillRules, Status, Waiting};

/// mode, team, sticky days, skills JSON, priority tags JSON, round-robin cursor.
type PolicyRow = (String, Option<i64>, i64, String, String, Option<i64>);
/// conversation, assignee, waiting since, alerted at, overdue at.
type WaitRow = (i64, Option<i64>, i64, Option<i64>, Option<i64>);

/// The most queued conversations looked at per drain (the rest wait for the next one).
const DRAIN_BATCH: i64 = 500;

// ---------------------------------------------------------------- settings

/// Global routing settings (`/api/v1/admin/routing`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// An agent with no open stream for this long counts as offline (their conversations return
    /// to the queue, per team).
    pub grace_period_s: i64,
    /// A customer waiting this long for a reply re-alerts the assigned agent.
    pub alert_after_s: i64,
    /// Past this, the conversation shows as overdue to supervisors.
    pub overdue_after_s: i64,
}

pub fn settings(conn: &Db) -> Result<Settings> {
    Ok(conn
        .prepare_cached(
            "SELECT grace_ms, alert_after_ms, overdue_ms FROM routing_settings WHERE id = 1",
        )?
        .query_row((), |r| {
            Ok(Settings {
                grace_period_s: r.get::<i64>(0)? / 1000,
                alert_after_s: r.get::<i64>(1)? / 1000,
                overdue_after_s: r.get::<i64>(2)? / 1000,
            })
        })?)
}

fn settings_ms(conn: &Db) -> Result<(i64, i64, i64)> {
    Ok(conn
        .prepare_cached(
            "SELECT grace_ms, alert_after_ms, overdue_ms FROM routing_settings WHERE id = 1",
        )?
        .query_row((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

pub fn put_settings(ctx: &mut WriteCtx<'_>, s: &Settings) -> Result<()> {
    if s.grace_period_s < 0 || s.alert_after_s < 1 || s.overdue_after_s < s.alert_after_s {
        return Err(StoreError::Invalid(
            "grace_period_s must be >= 0, alert_after_s >= 1 and overdue_after_s >= alert_after_s"
                .into(),
        ));
    }
    ctx.conn.exec(
        "UPDATE routing_settings SET grace_ms = ?1, alert_after_ms = ?2, overdue_ms = ?3, updated_at = ?4 WHERE id = 1",
        params![s.grace_period_s * 1000, s.alert_after_s * 1000, s.overdue_after_s * 1000, ctx.now],
    )?;
    // A shorter grace period may put someone offline right away.
    tick(ctx)?;
    Ok(())
}

/// A number's routing policy (`/api/v1/admin/numbers/{phone_number_id}/routing`).
pub fn policy(conn: &Db, pnid: &str) -> Result<(Policy, Option<i64>)> {
    let row: Option<PolicyRow> = conn
        .prepare_cached(
            "SELECT mode, team_id, sticky_days, skills, priority_tags, rr_last FROM routing_policies WHERE phone_number_id = ?1",
        )?
        .query_row([pnid], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    Ok(match row {
        None => (Policy::default(), None),
        Some((mode, team_id, sticky_days, skills, tags, rr)) => (
            Policy {
                mode: Mode::parse(&mode).unwrap_or(Mode::LeastLoaded),
                team_id,
                sticky_days,
                skills: serde_json::from_str(&skills)?,
                priority_tags: serde_json::from_str(&tags)?,
            },
            rr,
        ),
    })
}

/// Validates and stores a number's policy: an unknown team or skill is refused by name.
pub fn put_policy(ctx: &mut WriteCtx<'_>, pnid: &str, p: &Policy) -> Result<()> {
    if p.sticky_days < 0 || p.sticky_days > 365 {
        return Err(StoreError::Invalid(
            "sticky_days must be between 0 and 365".into(),
        ));
    }
    if let Some(t) = p.team_id {
        ensure_team(ctx.conn, t)?;
    }
    for s in p.skills.named() {
        ensure_skill(ctx.conn, s)?;
    }
    ctx.conn.exec(
        "INSERT INTO routing_policies (phone_number_id, mode, team_id, sticky_days, skills, priority_tags, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (phone_number_id) DO UPDATE SET mode = excluded.mode, team_id = excluded.team_id,
            sticky_days = excluded.sticky_days, skills = excluded.skills, priority_tags = excluded.priority_tags,
            updated_at = excluded.updated_at",
        params![
            pnid,
            p.mode.as_str(),
            p.team_id,
            p.sticky_days,
            serde_json::to_string(&p.skills)?,
            serde_json::to_string(&p.priority_tags)?,
            ctx.now
        ],
    )?;
    drain(ctx)?;
    Ok(())
}

fn ensure_team(conn: &Db, id: i64) -> Result<()> {
    let found: Option<i64> = conn
        .query_row("SELECT id FROM teams WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::Invalid(format!("unknown team {id}")))
}

fn ensure_skill(conn: &Db, name: &str) -> Result<()> {
    let found: Option<String> = conn
        .query_row("SELECT name FROM skills WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    found.map(|_| ()).ok_or_else(|| {
        StoreError::Invalid(format!(
            "unknown skill {name:?}: add it to /api/v1/admin/skills first"
        ))
    })
}

pub fn skills(conn: &Db) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM skills ORDER BY name")?;
    let rows = stmt.query_map((), |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Replaces the list of skills; a skill still held by an agent or named by a policy is refused.
pub fn put_skills(ctx: &mut WriteCtx<'_>, names: &[String]) -> Result<()> {
    for old in skills(ctx.conn)? {
        if names.contains(&old) {
            continue;
        }
        let held: i64 = ctx.conn.query_row(
            "SELECT COUNT(*) FROM agent_skills WHERE skill = ?1",
            [&old],
            |r| r.get(0),
        )?;
        if held > 0 {
            return Err(StoreError::Invalid(format!(
                "skill {old:?} is still held by {held} agent(s)"
            )));
        }
        let mut stmt = ctx
            .conn
            .prepare("SELECT phone_number_id, skills FROM routing_policies")?;
        let policies: Vec<(String, String)> = stmt
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<crate::store::db::Result<_>>()?;
        for (pnid, rules) in policies {
            let rules: SkillRules = serde_json::from_str(&rules)?;
            if rules.named().contains(&old.as_str()) {
                return Err(StoreError::Invalid(format!(
                    "skill {old:?} is still named by the routing policy of number {pnid}"
                )));
            }
        }
        ctx.conn
            .exec("DELETE FROM skills WHERE name = ?1", [&old])?;
    }
    for n in names {
        if n.trim().is_empty() || n.contains(',') {
            return Err(StoreError::Invalid(format!(
                "skill names must be non-empty and without commas: {n:?}"
            )));
        }
        ctx.conn.exec(
            "INSERT INTO skills (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![n, ctx.now],
        )?;
    }
    Ok(())
}

/// A team (`/api/v1/admin/teams`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    /// Members' open conversations return to the queue when they go offline past the grace
    /// period (default true).
    pub requeue_on_offline: bool,
}

pub fn teams(conn: &Db) -> Result<Vec<Team>> {
    let mut stmt = conn.prepare("SELECT id, name, requeue_on_offline FROM teams ORDER BY id")?;
    let mut teams: Vec<Team> = stmt
        .query_map((), |r| {
            Ok(Team {
                id: r.get(0)?,
                name: r.get(1)?,
                members: Vec::new(),
                requeue_on_offline: r.get(2)?,
            })
        })?
        .collect::<crate::store::db::Result<_>>()?;
    let mut stmt =
        conn.prepare("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")?;
    for row in stmt.query_map((), |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))? {
        let (t, u) = row?;
        if let Some(team) = teams.iter_mut().find(|x| x.id == t) {
            team.members.push(u);
        }
    }
    Ok(teams)
}

fn ensure_user(conn: &Db, id: i64) -> Result<()> {
    let found: Option<i64> = conn
        .query_row("SELECT id FROM users WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::Invalid(format!("unknown user {id}")))
}

/// Creates (`id` None) or replaces a team.
pub fn put_team(
    ctx: &mut WriteCtx<'_>,
    id: Option<i64>,
    name: &str,
    members: &[i64],
    requeue_on_offline: bool,
) -> Result<Team> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a team needs a name".into()));
    }
    for m in members {
        ensure_user(ctx.conn, *m)?;
    }
    let clash: Option<i64> = ctx
        .conn
        .query_row(
            "SELECT id FROM teams WHERE name = ?1 AND id IS DISTINCT FROM ?2",
            params![name.trim(), id],
            |r| r.get(0),
        )
        .optional()?;
    if clash.is_some() {
        return Err(StoreError::Conflict(format!(
            "a team named {name:?} exists"
        )));
    }
    let id = match id {
        Some(id) => {
            ensure_team(ctx.conn, id).map_err(|_| StoreError::NotFound(format!("team {id}")))?;
            ctx.conn.exec(
                "UPDATE teams SET name = ?2, requeue_on_offline = ?3 WHERE id = ?1",
                params![id, name.trim(), requeue_on_offline],
            )?;
            id
        }
        None => {
            ctx.conn.query_row(
                "INSERT INTO teams (name, requeue_on_offline, created_at) VALUES (?1, ?2, ?3) RETURNING id",
                params![name.trim(), requeue_on_offline, ctx.now],
                |r| r.get(0),
            )?
        }
    };
    let old: Vec<i64> = members_of(ctx.conn, id)?;
    ctx.conn
        .exec("DELETE FROM team_members WHERE team_id = ?1", [id])?;
    for m in members {
        ctx.conn.exec(
            "INSERT INTO team_members (team_id, user_id) VALUES (?1, ?2) ON CONFLICT (team_id, user_id) DO NOTHING",
            params![id, m],
        )?;
    }
    for u in old.iter().chain(members) {
        refresh_lists(ctx.conn, *u)?;
    }
    drain(ctx)?;
    teams(ctx.conn)?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("team {id}")))
}

fn members_of(conn: &Db, team: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT user_id FROM team_members WHERE team_id = ?1")?;
    let rows = stmt.query_map([team], |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Deletes a team; refused while a number's policy routes to it.
pub fn delete_team(ctx: &mut WriteCtx<'_>, id: i64) -> Result<()> {
    ensure_team(ctx.conn, id).map_err(|_| StoreError::NotFound(format!("team {id}")))?;
    let used: Option<String> = ctx
        .conn
        .query_row(
            "SELECT phone_number_id FROM routing_policies WHERE team_id = ?1 LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(pnid) = used {
        return Err(StoreError::Invalid(format!(
            "team {id} is used by the routing policy of number {pnid}"
        )));
    }
    let members = members_of(ctx.conn, id)?;
    ctx.conn
        .exec("DELETE FROM team_members WHERE team_id = ?1", [id])?;
    ctx.conn.exec("DELETE FROM teams WHERE id = ?1", [id])?;
    // Conversations waiting for that team wait for anyone now.
    ctx.conn.exec(
        "UPDATE conversations SET team_id = NULL WHERE team_id = ?1",
        [id],
    )?;
    for m in members {
        refresh_lists(ctx.conn, m)?;
    }
    drain(ctx)?;
    Ok(())
}

/// Rebuilds the denormalised skill and team lists the router reads with one query.
fn refresh_lists(conn: &Db, user: i64) -> Result<()> {
    conn.exec(
        "UPDATE agent_routing SET
            skills = ',' || COALESCE((SELECT string_agg(skill, ',' ORDER BY skill) FROM agent_skills WHERE user_id = ?1) || ',', ''),
            teams = ',' || COALESCE((SELECT string_agg(CAST(team_id AS TEXT), ',' ORDER BY team_id) FROM team_members WHERE user_id = ?1) || ',', '')
         WHERE user_id = ?1",
        [user],
    )?;
    Ok(())
}

/// An agent's routing settings (`/api/v1/admin/agents/{id}/routing`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Open conversations this agent is given at most (default 6).
    pub capacity: i64,
    pub skills: Vec<String>,
    pub teams: Vec<i64>,
}

fn list_column(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn id_list(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|p| p.parse().ok()).collect()
}

pub fn agent_settings(conn: &Db, user: i64) -> Result<AgentSettings> {
    conn.query_row(
        "SELECT capacity, skills, teams FROM agent_routing WHERE user_id = ?1",
        [user],
        |r| {
            Ok(AgentSettings {
                capacity: r.get(0)?,
                skills: list_column(&r.get::<String>(1)?),
                teams: id_list(&r.get::<String>(2)?),
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {user}")))
}

pub fn put_agent_settings(ctx: &mut WriteCtx<'_>, user: i64, s: &AgentSettings) -> Result<()> {
    agent_settings(ctx.conn, user)?;
    if !(0..=1000).contains(&s.capacity) {
        return Err(StoreError::Invalid(
            "capacity must be between 0 and 1000".into(),
        ));
    }
    for k in &s.skills {
        ensure_skill(ctx.conn, k)?;
    }
    for t in &s.teams {
        ensure_team(ctx.conn, *t)?;
    }
    ctx.conn.exec(
        "UPDATE agent_routing SET capacity = ?2 WHERE user_id = ?1",
        params![user, s.capacity],
    )?;
    ctx.conn
        .exec("DELETE FROM agent_skills WHERE user_id = ?1", [user])?;
    for k in &s.skills {
        ctx.conn.exec(
            "INSERT INTO agent_skills (user_id, skill) VALUES (?1, ?2) ON CONFLICT (user_id, skill) DO NOTHING",
            params![user, k],
        )?;
    }
    ctx.conn
        .exec("DELETE FROM team_members WHERE user_id = ?1", [user])?;
    for t in &s.teams {
        ctx.conn.exec(
            "INSERT INTO team_members (team_id, user_id) VALUES (?1, ?2) ON CONFLICT (team_id, user_id) DO NOTHING",
            params![t, user],
        )?;
    }
    refresh_lists(ctx.conn, user)?;
    emit_presence(ctx, user)?;
    drain(ctx)?;
    Ok(())
}

pub use super::queries::contact_tags;

/// Longest tag and most tags per customer.
pub const MAX_TAG_CHARS: usize = 40;
pub const MAX_TAGS: usize = 30;

/// Checks and normalises tags: trimmed, lower-case, letters, digits, `-`, `_`, `.` and inner
/// spaces; duplicates folded.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() {
            return Err(StoreError::Invalid("a tag must not be empty".into()));
        }
        if t.chars().count() > MAX_TAG_CHARS {
            return Err(StoreError::Invalid(format!(
                "tag {t:?} is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        if let Some(bad) = t
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')))
        {
            return Err(StoreError::Invalid(format!(
                "tag {t:?} contains {bad:?}: use letters, digits, '-', '_', '.' and spaces"
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(StoreError::Invalid(format!(
            "a customer can carry at most {MAX_TAGS} tags"
        )));
    }
    out.sort();
    Ok(out)
}

/// Replaces a customer's tags; their waiting conversations move in the queue accordingly, and
/// everyone who sees one of their conversations gets the contact's new snapshot.
pub fn put_contact_tags(ctx: &mut WriteCtx<'_>, contact: i64, tags: &[String]) -> Result<()> {
    super::queries::contact(ctx.conn, contact)?;
    let tags = normalize_tags(tags)?;
    ctx.conn
        .exec("DELETE FROM contact_tags WHERE contact_id = ?1", [contact])?;
    for t in &tags {
        ctx.conn.exec(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?1, ?2)",
            params![contact, t],
        )?;
    }
    // Clients keep the newest contact snapshot by updated_at.
    ctx.conn.exec(
        "UPDATE contacts SET updated_at = CASE WHEN updated_at >= ?2 THEN updated_at + 1 ELSE ?2 END WHERE id = ?1",
        params![contact, ctx.now],
    )?;
    super::queries::emit_contact(ctx, contact)?;
    let tags = contact_tags(ctx.conn, contact)?;
    let convs: Vec<(i64, String)> = {
        let mut stmt = ctx.conn.prepare(
            "SELECT id, phone_number_id FROM conversations WHERE contact_id = ?1 AND queued_at IS NOT NULL AND assignee_id IS NULL",
        )?;
        let rows = stmt.query_map([contact], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (id, pnid) in convs {
        let (p, _) = policy(ctx.conn, &pnid)?;
        ctx.conn.exec(
            "UPDATE conversations SET priority = ?2 WHERE id = ?1",
            params![id, p.priority(&tags)],
        )?;
    }
    drain(ctx)?;
    Ok(())
}

// ---------------------------------------------------------------- deciding and assigning

/// Agents available for routing with room left.
fn candidates(conn: &Db) -> Result<Vec<Candidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, load, capacity, skills, teams, last_assigned_at FROM agent_routing
         WHERE presence = 'online' AND routable = 1 AND load < capacity",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(Candidate {
            id: r.get(0)?,
            load: r.get(1)?,
            capacity: r.get(2)?,
            skills: list_column(&r.get::<String>(3)?),
            teams: id_list(&r.get::<String>(4)?),
            last_assigned_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

fn any_room(conn: &Db) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM agent_routing WHERE presence = 'online' AND routable = 1 AND load < capacity LIMIT 1",
        )?
        .query_row((), |_| Ok(()))
        .optional()?
        .is_some())
}

/// What the router needs to know about one conversation.
struct ConvFacts {
    status: String,
    assignee: Option<i64>,
    pnid: String,
    contact_id: i64,
    team_id: Option<i64>,
    queued_at: Option<i64>,
    resolved_at: Option<i64>,
}

fn conv_facts(conn: &Db, id: i64) -> Result<ConvFacts> {
    conn.prepare_cached(
        "SELECT c.status, c.assignee_id, c.phone_number_id, c.contact_id, c.team_id, c.queued_at,
                c.resolved_at
         FROM conversations c WHERE c.id = ?1",
    )?
    .query_row([id], |r| {
        Ok(ConvFacts {
            status: r.get(0)?,
            assignee: r.get(1)?,
            pnid: r.get(2)?,
            contact_id: r.get(3)?,
            team_id: r.get(4)?,
            queued_at: r.get(5)?,
            resolved_at: r.get(6)?,
        })
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
}

fn waiting(
    conn: &Db,
    id: i64,
    f: &ConvFacts,
    p: &Policy,
    previous: Option<(i64, i64)>,
    now: i64,
) -> Result<Waiting> {
    let tags = contact_tags(conn, f.contact_id)?;
    // The same guess the outbound policy uses: the number and the customer's latest own message
    // (the conversation's preview may be an agent's reply).
    let language = super::policy::conversation_language(conn, id)?;
    Ok(Waiting {
        conversation_id: id,
        phone_number_id: f.pnid.clone(),
        priority: p.priority(&tags),
        queued_at: f.queued_at.unwrap_or(now),
        required_skills: p.skills.required(&language, &tags),
        team_id: f.team_id.or(p.team_id),
        previous,
    })
}

/// Who made an assignment change.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub by: Option<i64>,
    pub reason: &'a str,
}

/// Writes an assignment change (to an agent, or back to the queue with `to` None) and logs it.
/// `before` is the assignee the clients last saw.
fn apply(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    before: Option<i64>,
    to: Option<i64>,
    team: Option<i64>,
    change: Change<'_>,
    unseen: bool,
) -> Result<()> {
    let now = ctx.now;
    match to {
        Some(agent) => {
            ctx.conn
                .prepare_cached(
                    "UPDATE conversations SET assignee_id = ?2, team_id = ?3, queued_at = NULL, updated_at = ?4 WHERE id = ?1",
                )?
                .execute(params![conv, agent, team, now])?;
            ctx.conn
                .prepare_cached(
                    "UPDATE conversation_periods SET assigned_at = COALESCE(assigned_at, ?2)
                     WHERE id = (SELECT period_id FROM conversations WHERE id = ?1)",
                )?
                .execute(params![conv, now])?;
            ctx.conn
                .prepare_cached(
                    "UPDATE agent_routing SET last_assigned_at = ?2 WHERE user_id = ?1",
                )?
                .execute(params![agent, now])?;
        }
        None => {
            ctx.conn
                .prepare_cached(
                    "UPDATE conversations SET assignee_id = NULL, team_id = ?2,
                        queued_at = CASE WHEN status = 'open' THEN COALESCE(queued_at, waiting_since, ?3) END,
                        updated_at = ?3 WHERE id = ?1",
                )?
                .execute(params![conv, team, now])?;
        }
    }
    ctx.conn.prepare_cached(
        "INSERT INTO assignments (conversation_id, from_user, to_user, team_id, by_user, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?.execute(params![conv, before, to, team, change.by, change.reason, now])?;
    // `unseen`: no agent saw it before this job, so nobody needs telling that it left the
    // unassigned list.
    let seen_before = if unseen { None } else { Some(before) };
    emit_conversation(ctx, conv, seen_before)?;
    let (load, capacity) = match to {
        Some(a) => {
            let (l, c): (i64, i64) = ctx
                .conn
                .prepare_cached("SELECT load, capacity FROM agent_routing WHERE user_id = ?1")?
                .query_row([a], |r| Ok((r.get(0)?, r.get(1)?)))?;
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let a = Assignment {
        conversation_id: conv,
        assignee_id: to,
        previous_assignee_id: before,
        team_id: team,
        reason: change.reason.to_string(),
        by: change.by,
        assignee_load: load,
        assignee_capacity: capacity,
        at: now,
    };
    ctx.emit(NewEvent {
        kind: event_kind::CONVERSATION_ASSIGNED,
        conversation_id: Some(conv),
        audience: Audience::conversation(to, seen_before),
        data: serde_json::to_value(&a)?,
    })?;
    Ok(())
}

/// Routes an open conversation that needs an agent (it just opened or reopened, or was
/// transferred to a team): sticky, skills, load rule; the queue when nobody qualifies.
/// Returns the agent it went to.
pub fn route(ctx: &mut WriteCtx<'_>, conv: i64, change_by: Option<i64>) -> Result<Option<i64>> {
    route_with(ctx, conv, change_by, false)
}

/// [`route`] for a conversation a customer message (re)opened; `created`: it was created in this
/// same job, so no agent has seen it yet and the assignment is announced to the assignee only.
pub fn route_new(ctx: &mut WriteCtx<'_>, conv: i64, created: bool) -> Result<Option<i64>> {
    route_with(ctx, conv, None, created)
}

fn route_with(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    change_by: Option<i64>,
    unseen: bool,
) -> Result<Option<i64>> {
    let f = conv_facts(ctx.conn, conv)?;
    if f.status != "open" {
        return Ok(None);
    }
    let before = f.assignee;
    if before.is_some() {
        // Decide as if it were waiting: its current holder's load must not count it.
        ctx.conn
            .prepare_cached("UPDATE conversations SET assignee_id = NULL WHERE id = ?1")?
            .execute([conv])?;
    }
    let (p, rr_last) = policy(ctx.conn, &f.pnid)?;
    let previous = before.map(|a| (a, f.resolved_at.unwrap_or(ctx.now)));
    let w = waiting(ctx.conn, conv, &f, &p, previous, ctx.now)?;
    let team = w.team_id;
    let mut cands = candidates(ctx.conn)?;
    let mut policies = HashMap::from([(f.pnid.clone(), p.clone())]);
    let mut cursors = HashMap::new();
    if let Some(r) = rr_last {
        cursors.insert(f.pnid.clone(), r);
    }
    let priority = w.priority;
    let decision = routing::plan(vec![w], &mut cands, &policies, &mut cursors, ctx.now);
    policies.clear();
    let change = |reason| Change {
        by: change_by,
        reason,
    };
    match decision.first() {
        Some(d) => {
            if p.mode == Mode::RoundRobin {
                save_cursor(ctx.conn, &f.pnid, d.agent_id)?;
            }
            apply(
                ctx,
                conv,
                before,
                Some(d.agent_id),
                team,
                change(d.reason),
                unseen,
            )?;
            Ok(Some(d.agent_id))
        }
        None => {
            ctx.conn
                .prepare_cached("UPDATE conversations SET priority = ?2 WHERE id = ?1")?
                .execute(params![conv, priority])?;
            if before.is_some() {
                apply(ctx, conv, before, None, team, change("queued"), false)?;
            } else {
                ctx.conn
                    .prepare_cached(
                        "UPDATE conversations SET team_id = ?2, queued_at = COALESCE(queued_at, waiting_since, ?3) WHERE id = ?1",
                    )?
                    .execute(params![conv, team, ctx.now])?;
            }
            let queued_at: Option<i64> = ctx.conn.query_row(
                "SELECT queued_at FROM conversations WHERE id = ?1",
                [conv],
                |r| r.get(0),
            )?;
            ctx.emit(NewEvent {
                kind: event_kind::CONVERSATION_QUEUED,
                conversation_id: Some(conv),
                audience: Audience::supervisors(),
                data: json!({"conversation_id": conv, "priority": priority, "team_id": team, "queued_at": queued_at}),
            })?;
            Ok(None)
        }
    }
}

fn save_cursor(conn: &Db, pnid: &str, agent: i64) -> Result<()> {
    conn.prepare_cached("UPDATE routing_policies SET rr_last = ?2 WHERE phone_number_id = ?1")?
        .execute(params![pnid, agent])?;
    Ok(())
}

/// Serves the queue while agents have room: the moment capacity frees, the longest-waiting
/// (priority first) conversations go out. Returns how many were assigned.
pub fn drain(ctx: &mut WriteCtx<'_>) -> Result<usize> {
    if !any_room(ctx.conn)? {
        return Ok(0);
    }
    let queued: Vec<i64> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT id FROM conversations WHERE queued_at IS NOT NULL AND assignee_id IS NULL AND status = 'open'
             ORDER BY priority DESC, queued_at, id LIMIT ?1",
        )?;
        let rows = stmt.query_map([DRAIN_BATCH], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    if queued.is_empty() {
        return Ok(0);
    }
    let mut policies: HashMap<String, Policy> = HashMap::new();
    let mut cursors: HashMap<String, i64> = HashMap::new();
    let mut queue = Vec::with_capacity(queued.len());
    let mut teams = HashMap::new();
    for id in queued {
        let f = conv_facts(ctx.conn, id)?;
        if !policies.contains_key(&f.pnid) {
            let (p, rr) = policy(ctx.conn, &f.pnid)?;
            if let Some(r) = rr {
                cursors.insert(f.pnid.clone(), r);
            }
            policies.insert(f.pnid.clone(), p);
        }
        let w = waiting(ctx.conn, id, &f, &policies[&f.pnid], None, ctx.now)?;
        teams.insert(id, w.team_id);
        queue.push(w);
    }
    let mut cands = candidates(ctx.conn)?;
    let before_cursors = cursors.clone();
    let decisions = routing::plan(queue, &mut cands, &policies, &mut cursors, ctx.now);
    for d in &decisions {
        apply(
            ctx,
            d.conversation_id,
            None,
            Some(d.agent_id),
            teams[&d.conversation_id],
            Change {
                by: None,
                reason: d.reason,
            },
            false,
        )?;
    }
    for (pnid, agent) in cursors {
        if before_cursors.get(&pnid) != Some(&agent) {
            save_cursor(ctx.conn, &pnid, agent)?;
        }
    }
    Ok(decisions.len())
}

/// Manual assignment by `user` (a supervisor's assign, an agent's transfer): to an agent, or
/// to a team (routed within it, queued for it when nobody there qualifies).
pub fn assign(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    user: &switchboard_protocol::api::User,
    req: &switchboard_protocol::api::AssignRequest,
) -> Result<Conversation> {
    let f = conv_facts(ctx.conn, conv)?;
    let supervisor = user.role.sees_all();
    if !supervisor && f.assignee.is_some() && f.assignee != Some(user.id) {
        return Err(StoreError::NotFound(format!("conversation {conv}")));
    }
    if f.status != "open" {
        return Err(StoreError::Conflict(
            "the conversation is resolved; reopen it first".into(),
        ));
    }
    if req.force && !supervisor {
        return Err(StoreError::Invalid(
            "only supervisors and admins may force an assignment".into(),
        ));
    }
    match (req.agent_id, req.team_id) {
        (Some(agent), None) => {
            let row: Option<(String, i64, i64)> = ctx
                .conn
                .query_row(
                    "SELECT presence, load, capacity FROM agent_routing WHERE user_id = ?1",
                    [agent],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (presence, load, capacity) =
                row.ok_or_else(|| StoreError::Invalid(format!("unknown agent {agent}")))?;
            if f.assignee != Some(agent) && !req.force {
                if presence != Status::Online.as_str() {
                    return Err(StoreError::Conflict(format!(
                        "agent {agent} is {presence}; a supervisor may force it"
                    )));
                }
                if load >= capacity {
                    return Err(StoreError::Conflict(format!(
                        "agent {agent} is at capacity ({load}/{capacity}); a supervisor may force it"
                    )));
                }
            }
            let reason = if supervisor { "manual" } else { "transfer" };
            apply(
                ctx,
                conv,
                f.assignee,
                Some(agent),
                f.team_id,
                Change {
                    by: Some(user.id),
                    reason,
                },
                false,
            )?;
        }
        (None, Some(team)) => {
            ensure_team(ctx.conn, team)?;
            ctx.conn.exec(
                "UPDATE conversations SET team_id = ?2 WHERE id = ?1",
                params![conv, team],
            )?;
            let before = f.assignee;
            if route(ctx, conv, Some(user.id))?.is_none() && before.is_none() {
                // Already in the queue: it now waits for that team (logged as a change).
                ctx.conn.prepare_cached(
                    "INSERT INTO assignments (conversation_id, from_user, to_user, team_id, by_user, reason, at) VALUES (?1, NULL, NULL, ?2, ?3, 'team', ?4)",
                )?.execute(params![conv, team, user.id, ctx.now])?;
            }
        }
        _ => {
            return Err(StoreError::Invalid(
                "give exactly one of agent_id and team_id".into(),
            ))
        }
    }
    if f.assignee.is_some() {
        drain(ctx)?;
    }
    super::queries::conversation(ctx.conn, conv)
}

// ---------------------------------------------------------------- lifecycle and measures

/// A conversation opened or reopened by a customer message at `first_inbound_at`: a new
/// measuring period starts.
pub fn opened(ctx: &mut WriteCtx<'_>, conv: i64, first_inbound_at: Option<i64>) -> Result<()> {
    let period: i64 = ctx.conn.query_row(
        "INSERT INTO conversation_periods (conversation_id, opened_at, first_inbound_at) VALUES (?1, ?2, ?3) RETURNING id",
        params![conv, ctx.now, first_inbound_at],
        |r| r.get(0),
    )?;
    ctx.conn
        .prepare_cached("UPDATE conversations SET period_id = ?2 WHERE id = ?1")?
        .execute(params![conv, period])?;
    Ok(())
}

/// A customer message at `at`: the customer now waits for a reply (if not already).
pub fn customer_wrote(ctx: &mut WriteCtx<'_>, conv: i64, at: i64) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE conversations SET waiting_since = COALESCE(waiting_since, ?2) WHERE id = ?1",
        )?
        .execute(params![conv, at])?;
    ctx.conn
        .prepare_cached(
            "UPDATE conversation_periods SET first_inbound_at = COALESCE(first_inbound_at, ?2)
             WHERE id = (SELECT period_id FROM conversations WHERE id = ?1)",
        )?
        .execute(params![conv, at])?;
    Ok(())
}

/// Whether an inbound message should (re)route its conversation: it just opened, or it is open,
/// unassigned and not waiting in the queue yet.
pub fn needs_routing(conn: &Db, conv: i64, opened: bool) -> Result<bool> {
    let row: Option<(String, Option<i64>, Option<i64>)> = conn
        .prepare_cached("SELECT status, assignee_id, queued_at FROM conversations WHERE id = ?1")?
        .query_row([conv], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(match row {
        Some((status, assignee, queued)) => {
            status == "open" && (opened || (assignee.is_none() && queued.is_none()))
        }
        None => false,
    })
}

/// A person replied: first response time is measured, the customer no longer waits.
pub fn human_replied(ctx: &mut WriteCtx<'_>, conv: i64, user: i64) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE conversation_periods SET first_response_at = COALESCE(first_response_at, ?2),
                first_responder_id = COALESCE(first_responder_id, ?3)
             WHERE id = (SELECT period_id FROM conversations WHERE id = ?1)",
        )?
        .execute(params![conv, ctx.now, user])?;
    ctx.conn
        .prepare_cached(
            "UPDATE conversations SET waiting_since = NULL, alerted_at = NULL, overdue_at = NULL WHERE id = ?1",
        )?
        .execute([conv])?;
    Ok(())
}

/// Resolves a conversation: it leaves the queue and its agent's load; the queue drains.
pub fn resolve(ctx: &mut WriteCtx<'_>, conv: i64, by: i64) -> Result<Conversation> {
    let f = conv_facts(ctx.conn, conv)?;
    if f.status == "resolved" {
        return super::queries::conversation(ctx.conn, conv);
    }
    ctx.conn.exec(
        "UPDATE conversations SET status = 'resolved', resolved_at = ?2, queued_at = NULL, waiting_since = NULL,
            alerted_at = NULL, overdue_at = NULL, unread_count = 0, updated_at = ?2 WHERE id = ?1",
        params![conv, ctx.now],
    )?;
    ctx.conn.exec(
        "UPDATE conversation_periods SET resolved_at = ?2, resolved_by = ?3
         WHERE id = (SELECT period_id FROM conversations WHERE id = ?1)",
        params![conv, ctx.now, f.assignee],
    )?;
    ctx.conn.prepare_cached(
        "INSERT INTO assignments (conversation_id, from_user, to_user, team_id, by_user, reason, at) VALUES (?1, ?2, ?2, ?3, ?4, 'resolved', ?5)",
    )?.execute(params![conv, f.assignee, f.team_id, by, ctx.now])?;
    emit_conversation(ctx, conv, None)?;
    drain(ctx)?;
    super::queries::conversation(ctx.conn, conv)
}

/// Reopens a resolved conversation by hand; it is routed again (sticky first).
pub fn reopen(ctx: &mut WriteCtx<'_>, conv: i64, by: i64) -> Result<Conversation> {
    let f = conv_facts(ctx.conn, conv)?;
    if f.status == "open" {
        return super::queries::conversation(ctx.conn, conv);
    }
    ctx.conn.exec(
        "UPDATE conversations SET status = 'open', updated_at = ?2 WHERE id = ?1",
        params![conv, ctx.now],
    )?;
    opened(ctx, conv, None)?;
    emit_conversation(ctx, conv, None)?;
    route(ctx, conv, Some(by))?;
    super::queries::conversation(ctx.conn, conv)
}

// ---------------------------------------------------------------- presence

fn presence_row(conn: &Db, user: i64) -> Result<(Status, i64, Option<i64>, Status)> {
    conn.prepare_cached(
        "SELECT status, connections, last_seen_at, presence FROM agent_routing WHERE user_id = ?1",
    )?
    .query_row([user], |r| {
        let s: String = r.get(0)?;
        let p: String = r.get(3)?;
        Ok((
            Status::parse(&s).unwrap_or(Status::Online),
            r.get(1)?,
            r.get(2)?,
            Status::parse(&p).unwrap_or(Status::Offline),
        ))
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {user}")))
}

pub fn agent_presence(conn: &Db, user: i64) -> Result<AgentPresence> {
    conn.prepare_cached(
        "SELECT status, presence, connections, load, capacity FROM agent_routing WHERE user_id = ?1",
    )?
    .query_row([user], |r| {
        Ok(AgentPresence {
            user_id: user,
            status: Status::parse(&r.get::<String>(0)?).unwrap_or(Status::Online),
            presence: Status::parse(&r.get::<String>(1)?).unwrap_or(Status::Offline),
            connections: r.get(2)?,
            open: r.get(3)?,
            capacity: r.get(4)?,
        })
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {user}")))
}

fn emit_presence(ctx: &mut WriteCtx<'_>, user: i64) -> Result<()> {
    let p = agent_presence(ctx.conn, user)?;
    ctx.emit(NewEvent {
        kind: event_kind::AGENT_PRESENCE,
        conversation_id: None,
        audience: Audience::supervisors(),
        data: serde_json::to_value(&p)?,
    })?;
    Ok(())
}

/// Recomputes a user's effective presence and acts on a change: online drains the queue,
/// offline returns their open conversations to the queue (unless a team of theirs keeps them).
fn update_presence(ctx: &mut WriteCtx<'_>, user: i64, announce: bool) -> Result<()> {
    let (grace, _, _) = settings_ms(ctx.conn)?;
    let (status, connections, last_seen, old) = presence_row(ctx.conn, user)?;
    let new = routing::presence(status, connections, last_seen, ctx.now, grace);
    if new != old {
        ctx.conn
            .prepare_cached("UPDATE agent_routing SET presence = ?2 WHERE user_id = ?1")?
            .execute(params![user, new.as_str()])?;
    }
    if new != old || announce {
        emit_presence(ctx, user)?;
    }
    if new == old {
        return Ok(());
    }
    if new == Status::Offline {
        requeue_agent(ctx, user)?;
    }
    drain(ctx)?;
    Ok(())
}

fn requeue_agent(ctx: &mut WriteCtx<'_>, user: i64) -> Result<()> {
    let keep: i64 = ctx.conn.query_row(
        "SELECT COUNT(*) FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = ?1 AND t.requeue_on_offline = 0",
        [user],
        |r| r.get(0),
    )?;
    if keep > 0 {
        return Ok(());
    }
    let convs: Vec<(i64, Option<i64>)> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT id, team_id FROM conversations WHERE assignee_id = ?1 AND status = 'open' ORDER BY id",
        )?;
        let rows = stmt.query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (conv, team) in convs {
        apply(
            ctx,
            conv,
            Some(user),
            None,
            team,
            Change {
                by: None,
                reason: "agent_offline",
            },
            false,
        )?;
    }
    Ok(())
}

/// A stream of `user` opened.
pub fn connected(ctx: &mut WriteCtx<'_>, instance: &str, user: i64) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE agent_routing SET connections = connections + 1 WHERE user_id = ?1",
        )?
        .execute([user])?;
    ctx.conn.exec(
        "INSERT INTO stream_connections (instance_id, user_id, connections) VALUES (?1, ?2, 1)
         ON CONFLICT (instance_id, user_id) DO UPDATE SET connections = stream_connections.connections + 1",
        params![instance, user],
    )?;
    update_presence(ctx, user, false)
}

/// A stream of `user` closed; with none left, the grace period starts.
pub fn disconnected(ctx: &mut WriteCtx<'_>, instance: &str, user: i64) -> Result<()> {
    ctx.conn.exec(
        "UPDATE stream_connections SET connections = connections - 1 WHERE instance_id = ?1 AND user_id = ?2",
        params![instance, user],
    )?;
    ctx.conn.exec(
        "DELETE FROM stream_connections WHERE instance_id = ?1 AND user_id = ?2 AND connections <= 0",
        params![instance, user],
    )?;
    ctx.conn
        .prepare_cached(
            "UPDATE agent_routing SET connections = CASE WHEN connections > 1 THEN connections - 1 ELSE 0 END,
                last_seen_at = CASE WHEN connections <= 1 THEN ?2 ELSE last_seen_at END WHERE user_id = ?1",
        )?
        .execute(params![user, ctx.now])?;
    update_presence(ctx, user, false)
}

/// The explicit status a person sets.
pub fn set_status(ctx: &mut WriteCtx<'_>, user: i64, status: Status) -> Result<AgentPresence> {
    ctx.conn.exec(
        "UPDATE agent_routing SET status = ?2 WHERE user_id = ?1",
        params![user, status.as_str()],
    )?;
    update_presence(ctx, user, true)?;
    agent_presence(ctx.conn, user)
}

/// At start-up of the only relay (SQLite): no stream survived the restart; everyone who had one
/// starts their grace period.
pub fn reset_connections(ctx: &mut WriteCtx<'_>) -> Result<()> {
    ctx.conn.exec(
        "UPDATE agent_routing SET last_seen_at = ?1, connections = 0 WHERE connections > 0",
        [ctx.now],
    )?;
    ctx.conn.exec("DELETE FROM stream_connections", ())?;
    ctx.conn.exec("DELETE FROM relay_instances", ())?;
    Ok(())
}

/// A relay says it is alive (at start and then every [`crate::cluster::HEARTBEAT`]).
pub fn heartbeat(ctx: &mut WriteCtx<'_>, instance: &str) -> Result<()> {
    ctx.conn.exec(
        "INSERT INTO relay_instances (id, started_at, heartbeat_at) VALUES (?1, ?2, ?2)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        params![instance, ctx.now],
    )?;
    Ok(())
}

/// A relay leaves the cluster in good order: its streams are already closed (each recorded its
/// disconnect); its row goes.
pub fn leave(ctx: &mut WriteCtx<'_>, instance: &str) -> Result<()> {
    ctx.conn
        .exec("DELETE FROM relay_instances WHERE id = ?1", [instance])?;
    Ok(())
}

/// The leader's sweep: instances silent since before `dead_before` (killed, host lost) had
/// streams nobody will close; they come off the connection counts, and the agents' grace periods
/// start now. Returns how many instances were swept.
pub fn sweep_dead_instances(ctx: &mut WriteCtx<'_>, dead_before: i64) -> Result<usize> {
    let dead: Vec<String> = {
        let mut stmt = ctx
            .conn
            .prepare_cached("SELECT id FROM relay_instances WHERE heartbeat_at < ?1")?;
        let rows = stmt.query_map([dead_before], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    // Streams of instances with no row at all (a relay killed before its first heartbeat
    // committed, or a row already swept) are dead too.
    let orphans: Vec<(String, i64, i64)> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT s.instance_id, s.user_id, s.connections FROM stream_connections s
             LEFT JOIN relay_instances i ON i.id = s.instance_id
             WHERE i.id IS NULL OR i.heartbeat_at < ?1",
        )?;
        let rows = stmt.query_map([dead_before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut users = Vec::new();
    for (instance, user, n) in &orphans {
        ctx.conn.exec(
            "UPDATE agent_routing SET connections = CASE WHEN connections > ?2 THEN connections - ?2 ELSE 0 END,
                last_seen_at = CASE WHEN connections <= ?2 THEN ?3 ELSE last_seen_at END WHERE user_id = ?1",
            params![user, n, ctx.now],
        )?;
        ctx.conn.exec(
            "DELETE FROM stream_connections WHERE instance_id = ?1 AND user_id = ?2",
            params![instance, user],
        )?;
        if !users.contains(user) {
            users.push(*user);
        }
    }
    for id in &dead {
        ctx.conn
            .exec("DELETE FROM relay_instances WHERE id = ?1", [id])?;
    }
    for u in users {
        update_presence(ctx, u, false)?;
    }
    Ok(dead.len())
}

/// The periodic step: presence past the grace period, waiting alerts, and a drain in case
/// anything was left waiting. Cheap when there is nothing to do.
pub fn tick(ctx: &mut WriteCtx<'_>) -> Result<()> {
    let (grace, alert_ms, overdue_ms) = settings_ms(ctx.conn)?;
    let expired: Vec<i64> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT user_id FROM agent_routing WHERE connections = 0 AND presence <> 'offline'
               AND (last_seen_at IS NULL OR last_seen_at <= ?1)",
        )?;
        let rows = stmt.query_map([ctx.now - grace], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for u in expired {
        update_presence(ctx, u, false)?;
    }
    let waiting: Vec<WaitRow> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT id, assignee_id, waiting_since, alerted_at, overdue_at FROM conversations
             WHERE waiting_since IS NOT NULL AND waiting_since <= ?1 AND status = 'open'
               AND (overdue_at IS NULL OR overdue_at < waiting_since)",
        )?;
        let rows = stmt.query_map([ctx.now - alert_ms.min(overdue_ms)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (conv, assignee, since, alerted, overdue) in waiting {
        let due = routing::alerts_due(
            since,
            alerted,
            overdue,
            assignee.is_some(),
            ctx.now,
            alert_ms,
            overdue_ms,
        );
        let data =
            json!({"conversation_id": conv, "assignee_id": assignee, "waiting_since": since});
        if due.realert {
            ctx.conn.exec(
                "UPDATE conversations SET alerted_at = ?2 WHERE id = ?1",
                params![conv, ctx.now],
            )?;
            ctx.emit(NewEvent {
                kind: event_kind::CONVERSATION_WAITING,
                conversation_id: Some(conv),
                audience: Audience {
                    all_agents: false,
                    users: assignee.into_iter().collect(),
                },
                data: data.clone(),
            })?;
        }
        if due.overdue {
            ctx.conn.exec(
                "UPDATE conversations SET overdue_at = ?2 WHERE id = ?1",
                params![conv, ctx.now],
            )?;
            ctx.emit(NewEvent {
                kind: event_kind::CONVERSATION_OVERDUE,
                conversation_id: Some(conv),
                audience: Audience::supervisors(),
                data,
            })?;
        }
    }
    drain(ctx)?;
    Ok(())
}

// ---------------------------------------------------------------- reading: monitor, measures

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The supervisor's snapshot at `now`.
pub fn monitor(conn: &Db, now: i64) -> Result<Monitor> {
    let (_, _, overdue_ms) = settings_ms(conn)?;
    let mut agents: Vec<MonitorAgent> = {
        let mut stmt = conn.prepare(
            "SELECT u.id, u.name, u.email, u.role, a.status, a.presence, a.connections, a.load, a.capacity, a.teams, a.skills
             FROM users u JOIN agent_routing a ON a.user_id = u.id ORDER BY u.id",
        )?;
        let rows = stmt.query_map((), |r| {
            let id: i64 = r.get(0)?;
            Ok(MonitorAgent {
                id,
                name: r.get(1)?,
                email: r.get(2)?,
                role: Role::parse(&r.get::<String>(3)?).unwrap_or(Role::Agent),
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
    let mut frt: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut all_frt = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT first_responder_id, first_response_at - first_inbound_at FROM conversation_periods
             WHERE first_response_at >= ?1 AND first_inbound_at IS NOT NULL AND first_responder_id IS NOT NULL",
        )?;
        for row in stmt.query_map([now - DAY_MS], |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))? {
            let (u, ms) = row?;
            frt.entry(u).or_default().push(ms.max(0));
            all_frt.push(ms.max(0));
        }
    }
    let mut resolved: HashMap<i64, i64> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT resolved_by, COUNT(*) FROM conversation_periods WHERE resolved_at >= ?1 AND resolved_by IS NOT NULL GROUP BY resolved_by",
        )?;
        for row in stmt.query_map([now - HOUR_MS], |r| {
            Ok((r.get::<i64>(0)?, r.get::<i64>(1)?))
        })? {
            let (u, n) = row?;
            resolved.insert(u, n);
        }
    }
    let overdue: Vec<OverdueConversation> = {
        let mut stmt = conn.prepare(
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
    for a in &mut agents {
        a.first_response = routing::summarize(frt.remove(&a.id).unwrap_or_default());
        a.resolved_last_hour = resolved.get(&a.id).copied().unwrap_or(0);
        a.overdue = overdue
            .iter()
            .filter(|o| o.assignee_id == Some(a.id))
            .count() as i64;
    }
    let queue: Vec<(Option<i64>, i64)> = {
        let mut stmt = conn.prepare(
            "SELECT team_id, queued_at FROM conversations WHERE queued_at IS NOT NULL AND assignee_id IS NULL AND status = 'open'",
        )?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let longest = |items: &mut dyn Iterator<Item = &i64>| {
        items
            .min()
            .map(|since| (now - since).max(0) as f64 / 1000.0)
    };
    let mut team_list = Vec::new();
    for t in teams(conn)? {
        let members: Vec<&MonitorAgent> = agents
            .iter()
            .filter(|a| t.members.contains(&a.id))
            .collect();
        let mut samples = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT first_responder_id, first_response_at - first_inbound_at FROM conversation_periods
                 WHERE first_response_at >= ?1 AND first_inbound_at IS NOT NULL AND first_responder_id IS NOT NULL",
            )?;
            for row in
                stmt.query_map([now - DAY_MS], |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)))?
            {
                let (u, ms) = row?;
                if t.members.contains(&u) {
                    samples.push(ms.max(0));
                }
            }
        }
        let waiting: Vec<&i64> = queue
            .iter()
            .filter(|(team, _)| *team == Some(t.id))
            .map(|(_, at)| at)
            .collect();
        team_list.push(MonitorTeam {
            id: t.id,
            name: t.name.clone(),
            members: t.members.clone(),
            online: members
                .iter()
                .filter(|a| a.presence.presence == Status::Online)
                .count() as i64,
            open: members.iter().map(|a| a.presence.open).sum(),
            capacity: members.iter().map(|a| a.presence.capacity).sum(),
            first_response: routing::summarize(samples),
            resolved_last_hour: members.iter().map(|a| a.resolved_last_hour).sum(),
            overdue: members.iter().map(|a| a.overdue).sum(),
            queue_length: waiting.len() as i64,
            longest_wait_s: longest(&mut waiting.iter().copied()),
        });
    }
    Ok(Monitor {
        at: now,
        agents,
        teams: team_list,
        queue_length: queue.len() as i64,
        longest_wait_s: longest(&mut queue.iter().map(|(_, at)| at)),
        first_response: routing::summarize(all_frt),
        overdue,
        head: super::events::head(conn)?,
    })
}

/// Conversations an agent held in the last 30 days (assigned to them then or now).
pub fn agent_conversations(conn: &Db, agent: i64, now: i64) -> Result<Vec<Conversation>> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare(
            "SELECT conversation_id FROM assignments WHERE to_user = ?1 AND at >= ?2
             UNION SELECT id FROM conversations WHERE assignee_id = ?1 AND updated_at >= ?2
             ORDER BY 1 DESC LIMIT 1000",
        )?;
        let rows = stmt.query_map(params![agent, now - 30 * DAY_MS], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match super::queries::conversation(conn, id) {
            Ok(c) => out.push(c),
            Err(StoreError::NotFound(_)) => {} // merged away since
            Err(e) => return Err(e),
        }
    }
    out.sort_by_key(|c| std::cmp::Reverse((c.last_message_at, c.id)));
    Ok(out)
}

/// Measures of one open period of a conversation (milliseconds).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
