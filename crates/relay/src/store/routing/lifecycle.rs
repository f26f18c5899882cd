//! A conversation's life and its measures: opened, customer wrote, first human reply,
//! resolved, reopened (one measuring period per opening).

#[allow(unused_imports)]
use super::*;

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
    let now = ctx.now;
    answered(ctx, conv, now, Some(user))
}

/// The business replied from the WhatsApp Business app at `at` (ms, the echo's time): as
/// [`human_replied`] with no agent credited, when the open conversation waits since before it.
pub fn phone_app_replied(ctx: &mut WriteCtx<'_>, conv: i64, at: i64) -> Result<()> {
    let waiting: Option<Option<i64>> = ctx
        .conn
        .prepare_cached(
            "SELECT waiting_since FROM conversations WHERE id = ?1 AND status = 'open'",
        )?
        .query_row([conv], |r| r.get(0))
        .optional()?;
    match waiting {
        Some(Some(since)) if at >= since => answered(ctx, conv, at, None),
        _ => Ok(()),
    }
}

/// The period's first response (at `at`, by `responder` if a person) and the end of the wait.
fn answered(ctx: &mut WriteCtx<'_>, conv: i64, at: i64, responder: Option<i64>) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE conversation_periods SET first_response_at = COALESCE(first_response_at, ?2),
                first_responder_id = COALESCE(first_responder_id, ?3)
             WHERE id = (SELECT period_id FROM conversations WHERE id = ?1)",
        )?
        .execute(params![conv, at, responder])?;
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
        return crate::store::queries::conversation(ctx.conn, conv);
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
    crate::store::queries::conversation(ctx.conn, conv)
}

/// Reopens a resolved conversation by hand; it is routed again (sticky first).
pub fn reopen(ctx: &mut WriteCtx<'_>, conv: i64, by: i64) -> Result<Conversation> {
    let f = conv_facts(ctx.conn, conv)?;
    if f.status == "open" {
        return crate::store::queries::conversation(ctx.conn, conv);
    }
    ctx.conn.exec(
        "UPDATE conversations SET status = 'open', updated_at = ?2 WHERE id = ?1",
        params![conv, ctx.now],
    )?;
    opened(ctx, conv, None)?;
    emit_conversation(ctx, conv, None)?;
    route(ctx, conv, Some(by))?;
    crate::store::queries::conversation(ctx.conn, conv)
}
