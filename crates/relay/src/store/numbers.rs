//! The business's WhatsApp numbers: configured ones and those first seen in a webhook.
//!
//! A number is configured once an admin adds it (`POST /api/v1/admin/numbers`, the config file
//! at start, `switchboard-relay admin add-number`: all three through [`add_number`]). Webhooks
//! for any other number are kept, but their conversations are **held**: stored exactly as any
//! other, not routed and not answered by automations, and visible to supervisors and admins only
//! (in the REST reads and in the event log). [`configured_sql`] is the one place that rule is
//! written; adding the number releases the held conversations in the same write.

use crate::store::db::{params, Db};
use switchboard_protocol::api::PhoneNumber;

use super::{contacts, conversations, routing, Result, WriteCtx};

/// The SQL condition "the number in `column` is configured". `column` names a conversation's
/// number and must be qualified (`c.phone_number_id`), since the subquery has its own
/// `phone_number_id`. A conversation on any other number is held.
pub fn configured_sql(column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM phone_numbers pn WHERE pn.phone_number_id = {column} AND pn.configured = 1)"
    )
}

/// Whether number `pnid` is configured (an admin added it); an unknown number is not.
pub fn is_configured(conn: &Db, pnid: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!("SELECT 1 WHERE {}", configured_sql("?1")))?
        .exists([pnid])?)
}

pub fn upsert_number(conn: &Db, n: &PhoneNumber, waba_id: Option<&str>, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO phone_numbers (phone_number_id, display_phone_number, name, waba_id, configured, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = excluded.display_phone_number,
            name = excluded.name, waba_id = COALESCE(excluded.waba_id, phone_numbers.waba_id),
            configured = excluded.configured",
    )?
    .execute(params![n.phone_number_id, n.display_phone_number, n.name, waba_id, n.configured, now])?;
    Ok(())
}

/// Adds a configured number (or adopts one that appeared unconfigured) and, in the same write,
/// releases the conversations held while it was not: each open, unassigned one is routed as a
/// conversation a customer just opened would be, and every one of them is logged again
/// (`conversation.updated`, then its customer's `contact.updated`) with the normal audience, so
/// agents' caches receive them live. Returns how many conversations were released.
///
/// Automations that would have answered the held messages (auto-replies, away messages) are
/// deliberately not replayed: their moment has passed, and an automatic answer arriving hours
/// later, when an agent may already be writing, would confuse the customer.
pub fn add_number(ctx: &mut WriteCtx<'_>, n: &PhoneNumber, waba_id: Option<&str>) -> Result<usize> {
    let was_configured = is_configured(ctx.conn, &n.phone_number_id)?;
    upsert_number(ctx.conn, n, waba_id, ctx.now)?;
    if was_configured || !n.configured {
        return Ok(0);
    }
    let held: Vec<(i64, String, Option<i64>, i64)> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT id, status, assignee_id, contact_id FROM conversations WHERE phone_number_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([&n.phone_number_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut customers = std::collections::BTreeSet::new();
    for (conv, status, assignee, contact) in &held {
        if status == "open" && assignee.is_none() {
            // No agent has seen it: an assignment is announced to the assignee only. If routing
            // fails the number is still added and the conversation waits unassigned, visible.
            if let Err(e) = ctx.attempt("routing", |ctx| routing::route_new(ctx, *conv, true))? {
                tracing::error!(conversation_id = *conv, error = %e, "routing failed for a released conversation");
            }
        }
        conversations::emit_conversation(ctx, *conv, None)?;
        customers.insert(*contact);
    }
    for contact in customers {
        contacts::emit_contact(ctx, contact)?;
    }
    Ok(held.len())
}

/// Records a number seen in a webhook; an unknown one appears as unconfigured for admins. A
/// number configured without its WhatsApp Business Account id learns it here.
pub fn note_number_seen(conn: &Db, id: &str, display: &str, waba_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO phone_numbers (phone_number_id, display_phone_number, name, waba_id, configured, created_at)
         VALUES (?1, ?2, '', ?3, 0, ?4)
         ON CONFLICT (phone_number_id) DO UPDATE SET waba_id = excluded.waba_id
         WHERE phone_numbers.waba_id IS NULL AND excluded.waba_id IS NOT NULL",
    )?
    .execute(params![id, display, if waba_id.is_empty() { None } else { Some(waba_id) }, now])?;
    Ok(())
}

pub fn numbers(conn: &Db) -> Result<Vec<PhoneNumber>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, display_phone_number, name, configured FROM phone_numbers ORDER BY configured DESC, name, phone_number_id",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(PhoneNumber {
            phone_number_id: r.get(0)?,
            display_phone_number: r.get(1)?,
            name: r.get(2)?,
            configured: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}
