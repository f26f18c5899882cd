//! Routing configuration: global settings, per-number policies, skills, teams and each
//! agent's capacity, skills and teams (validated, audited by the API layer).

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- settings

pub use switchboard_protocol::routing::Settings;

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

pub(super) fn settings_ms(conn: &Db) -> Result<(i64, i64, i64)> {
    Ok(conn
        .prepare_cached(
            "SELECT grace_ms, alert_after_ms, overdue_ms FROM routing_settings WHERE id = 1",
        )?
        .query_row((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

pub fn put_settings(ctx: &mut WriteCtx<'_>, s: &Settings) -> Result<()> {
    const YEAR_S: i64 = 365 * 24 * 3600;
    if s.grace_period_s < 0
        || s.alert_after_s < 1
        || s.overdue_after_s < s.alert_after_s
        || [s.grace_period_s, s.alert_after_s, s.overdue_after_s]
            .iter()
            .any(|v| *v > YEAR_S)
    {
        return Err(StoreError::Invalid(
            "grace_period_s must be >= 0, alert_after_s >= 1 and overdue_after_s >= alert_after_s, each at most a year (31536000)"
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

pub fn ensure_team(conn: &Db, id: i64) -> Result<()> {
    let found: Option<i64> = conn
        .query_row("SELECT id FROM teams WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::Invalid(format!("unknown team {id}")))
}

pub(super) fn ensure_skill(conn: &Db, name: &str) -> Result<()> {
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
            return Err(StoreError::Conflict(format!(
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
                return Err(StoreError::Conflict(format!(
                    "skill {old:?} is still named by the routing policy of number {pnid}"
                )));
            }
        }
        ctx.conn
            .exec("DELETE FROM skills WHERE name = ?1", [&old])?;
    }
    for n in names {
        if !switchboard_protocol::rules::fits(switchboard_protocol::rules::SKILL, n)
            || n.chars().count() > 100
        {
            return Err(StoreError::Invalid(format!(
                "skill names have 1 to 100 characters, no commas and no control characters: {n:?}"
            )));
        }
        ctx.conn.exec(
            "INSERT INTO skills (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![n, ctx.now],
        )?;
    }
    Ok(())
}

pub use switchboard_protocol::routing::Team;

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

pub(super) fn ensure_user(conn: &Db, id: i64) -> Result<()> {
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
    if !switchboard_protocol::rules::fits(switchboard_protocol::rules::LABEL, name)
        || name.chars().count() > 100
    {
        return Err(StoreError::Invalid(
            "a team needs a name of 1 to 100 characters, without control characters".into(),
        ));
    }
    let name = name.trim();
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

pub(super) fn members_of(conn: &Db, team: i64) -> Result<Vec<i64>> {
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
        return Err(StoreError::Conflict(format!(
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
pub(super) fn refresh_lists(conn: &Db, user: i64) -> Result<()> {
    conn.exec(
        "UPDATE agent_routing SET
            skills = ',' || COALESCE((SELECT string_agg(skill, ',' ORDER BY skill) FROM agent_skills WHERE user_id = ?1) || ',', ''),
            teams = ',' || COALESCE((SELECT string_agg(CAST(team_id AS TEXT), ',' ORDER BY team_id) FROM team_members WHERE user_id = ?1) || ',', '')
         WHERE user_id = ?1",
        [user],
    )?;
    Ok(())
}

pub use switchboard_protocol::routing::AgentSettings;

pub(super) fn list_column(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn id_list(s: &str) -> Vec<i64> {
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

pub use crate::store::queries::contact_tags;
