//! Delivery statuses of messages: forward-only moves, and statuses that overtook their send
//! (parked in `orphan_statuses` until the send's wamid is recorded). Used by ingest (status
//! webhooks) and the outbox (a send's wamid recorded).

use serde_json::Value;
use switchboard_protocol::api::event_kind;
use switchboard_protocol::webhook::{self, DeliveryStatus, Status};

use super::db::params;
use super::queries::{emit_message, message_id_by_wamid};
use super::{Result, WriteCtx};

pub fn apply_status_webhook(ctx: &mut WriteCtx<'_>, s: &Status) -> Result<bool> {
    match message_id_by_wamid(ctx.conn, &s.wamid)? {
        Some(id) => apply_status(ctx, id, s),
        None => {
            // The send response recording this wamid may not be committed yet: park it.
            ctx.conn.exec(
                "INSERT INTO orphan_statuses (wamid, raw, received_at) VALUES (?1, ?2, ?3)",
                params![s.wamid, s.raw.to_string(), ctx.now],
            )?;
            Ok(false)
        }
    }
}

/// Moves a message's delivery state forward; regressions and repeats change nothing.
pub fn apply_status(ctx: &mut WriteCtx<'_>, message_id: i64, s: &Status) -> Result<bool> {
    let Some(next) = s.status else {
        return Ok(false);
    };
    let current: Option<String> = ctx.conn.query_row(
        "SELECT status FROM messages WHERE id = ?1",
        [message_id],
        |r| r.get(0),
    )?;
    let current = current
        .as_deref()
        .and_then(DeliveryStatus::parse)
        .unwrap_or(DeliveryStatus::Queued);
    if !current.may_advance_to(next) {
        return Ok(false);
    }
    let err = s.errors.first();
    ctx.conn
        .prepare_cached(
            "UPDATE messages SET status = ?2, status_at = ?3, updated_at = ?4,
                error_code = COALESCE(?5, error_code), error_title = COALESCE(?6, error_title), error_details = COALESCE(?7, error_details)
             WHERE id = ?1",
        )?
        .execute(params![
            message_id,
            next.as_str(),
            s.timestamp.saturating_mul(1000),
            ctx.now,
            err.map(|e| e.code),
            err.and_then(|e| e.title().map(str::to_string)),
            err.and_then(|e| e.details().map(str::to_string)),
        ])?;
    emit_message(ctx, message_id, event_kind::MESSAGE_UPDATED)?;
    Ok(true)
}

/// Applies statuses that arrived before their message's wamid was recorded.
pub fn apply_orphans(ctx: &mut WriteCtx<'_>, wamid: &str, message_id: i64) -> Result<()> {
    let raws: Vec<(i64, String)> = {
        let mut stmt = ctx
            .conn
            .prepare_cached("SELECT id, raw FROM orphan_statuses WHERE wamid = ?1 ORDER BY id")?;
        let rows = stmt.query_map([wamid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (id, raw) in raws {
        let value: Value = serde_json::from_str(&raw)?;
        if let Ok(status) = webhook::parse_status(&value) {
            apply_status(ctx, message_id, &status)?;
        }
        ctx.conn
            .exec("DELETE FROM orphan_statuses WHERE id = ?1", [id])?;
    }
    Ok(())
}
