//! Deciding and assigning: the queue, candidates, the routing decision applied, drains
//! when capacity frees, and assignments by hand (transfer, take).

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- deciding and assigning

/// Agents available for routing with room left.
pub(super) fn candidates(conn: &Db) -> Result<Vec<Candidate>> {
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

pub(super) fn any_room(conn: &Db) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM agent_routing WHERE presence = 'online' AND routable = 1 AND load < capacity LIMIT 1",
        )?
        .query_row((), |_| Ok(()))
        .optional()?
        .is_some())
}

/// The first `limit` conversations waiting in the queue, in queue order (priority, then the
/// longest wait). Held conversations are never queued; the condition also keeps out any a
/// database from before holding existed has in its queue.
pub(super) fn queued_ids(conn: &Db, limit: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id FROM conversations c WHERE c.queued_at IS NOT NULL AND c.assignee_id IS NULL AND c.status = 'open' AND {}
         ORDER BY c.priority DESC, c.queued_at, c.id LIMIT ?1",
        crate::store::numbers::configured_sql("c.phone_number_id")
    ))?;
    let rows = stmt.query_map([limit], |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// What the router needs to know about one conversation.
pub(super) struct ConvFacts {
    pub(super) status: String,
    pub(super) assignee: Option<i64>,
    pub(super) pnid: String,
    pub(super) contact_id: i64,
    pub(super) team_id: Option<i64>,
    pub(super) queued_at: Option<i64>,
    pub(super) resolved_at: Option<i64>,
}

pub(super) fn conv_facts(conn: &Db, id: i64) -> Result<ConvFacts> {
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

pub(super) fn waiting(
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
    let language = crate::store::policy::conversation_language(conn, id)?;
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
pub(super) fn apply(
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
    let audience = crate::store::conversations::audience(ctx.conn, conv, seen_before)?;
    ctx.emit(NewEvent {
        kind: event_kind::CONVERSATION_ASSIGNED,
        conversation_id: Some(conv),
        audience,
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

pub(super) fn route_with(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    change_by: Option<i64>,
    unseen: bool,
) -> Result<Option<i64>> {
    let f = conv_facts(ctx.conn, conv)?;
    // A held conversation (its number is not configured) is not routed: adding the number
    // routes it (`store::numbers::add_number`).
    if f.status != "open" || !crate::store::numbers::is_configured(ctx.conn, &f.pnid)? {
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

pub(super) fn save_cursor(conn: &Db, pnid: &str, agent: i64) -> Result<()> {
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
    let queued = queued_ids(ctx.conn, DRAIN_BATCH)?;
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
    let colleagues = f.assignee.is_some() && f.assignee != Some(user.id);
    if !user.sees_all() && colleagues {
        return Err(StoreError::NotFound(format!("conversation {conv}")));
    }
    // Taking a conversation from a colleague, or forcing one on someone, needs `reassign`.
    let supervisor = user.can(switchboard_protocol::api::Permission::Reassign);
    if colleagues && !supervisor {
        return Err(StoreError::Forbidden(
            "your role may not reassign a colleague's conversation".into(),
        ));
    }
    if f.status != "open" {
        return Err(StoreError::Conflict(
            "the conversation is resolved; reopen it first".into(),
        ));
    }
    if !crate::store::numbers::is_configured(ctx.conn, &f.pnid)? {
        return Err(StoreError::Conflict(format!(
            "number {} is not configured: its conversations are held until an admin adds it",
            f.pnid
        )));
    }
    if req.force && !supervisor {
        return Err(StoreError::Forbidden(
            "your role may not force an assignment".into(),
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
    crate::store::queries::conversation(ctx.conn, conv)
}
