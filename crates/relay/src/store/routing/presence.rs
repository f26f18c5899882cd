//! Presence: streams per relay instance, explicit status, the grace period, heartbeats and
//! the sweep of relays that stopped beating, and the periodic tick (grace, waiting alerts).

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- presence

pub(super) fn presence_row(conn: &Db, user: i64) -> Result<(Status, i64, Option<i64>, Status)> {
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

pub(super) fn emit_presence(ctx: &mut WriteCtx<'_>, user: i64) -> Result<()> {
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
pub(super) fn update_presence(ctx: &mut WriteCtx<'_>, user: i64, announce: bool) -> Result<()> {
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

pub(super) fn requeue_agent(ctx: &mut WriteCtx<'_>, user: i64) -> Result<()> {
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
            // To its agent; a held conversation (number not configured) to supervisors only.
            let audience = if crate::store::conversations::held(ctx.conn, conv)? {
                Audience::supervisors()
            } else {
                Audience {
                    all_agents: false,
                    users: assignee.into_iter().collect(),
                }
            };
            ctx.emit(NewEvent {
                kind: event_kind::CONVERSATION_WAITING,
                conversation_id: Some(conv),
                audience,
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
