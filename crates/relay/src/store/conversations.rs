//! Conversations: reading them (one, or a page for a user), who may see one (agents never see a
//! held one, on a number no admin has added), logging their state to the event log, and marking
//! them read.

use crate::store::db::{params, Db, Optional, Row};
use switchboard_protocol::api::{event_kind, Contact, Conversation, User};

use super::contacts::contact_tags;
use super::events::{Audience, NewEvent};
use super::numbers::{configured_sql, is_configured};
use super::{Result, StoreError, WriteCtx};

// ---------------------------------------------------------------- row mapping

const CONVERSATION_COLS: &str = "c.id, c.phone_number_id, c.status, c.assignee_id, c.last_inbound_at, c.last_message_at, c.last_message_preview, c.unread_count, c.created_at, c.updated_at, k.id, k.wa_id, k.bsuid, k.username, k.name, k.updated_at, k.marketing_pref, k.marketing_pref_at, k.app_name";

fn conversation_row(r: &Row<'_>) -> crate::store::db::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        phone_number_id: r.get(1)?,
        status: r.get(2)?,
        assignee_id: r.get(3)?,
        last_inbound_at: r.get(4)?,
        last_message_at: r.get(5)?,
        last_message_preview: r.get(6)?,
        unread_count: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        contact: Contact {
            id: r.get(10)?,
            wa_id: r.get(11)?,
            bsuid: r.get(12)?,
            username: r.get(13)?,
            name: r.get(14)?,
            updated_at: r.get(15)?,
            tags: Vec::new(),
            marketing: super::contacts::marketing(r.get(16)?, r.get(17)?),
            app_name: r.get(18)?,
        },
    })
}

fn with_tags(conn: &Db, mut c: Conversation) -> Result<Conversation> {
    c.contact.tags = contact_tags(conn, c.contact.id)?;
    Ok(c)
}

pub fn conversation(conn: &Db, id: i64) -> Result<Conversation> {
    conn.prepare_cached(&format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1"
    ))?
    .query_row([id], conversation_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))
    .and_then(|c| with_tags(conn, c))
}

/// Logs the conversation's current state. `before` is the assignee before this change, when the
/// change may have moved it (so the previous assignee learns it is gone).
pub fn emit_conversation(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    before: Option<Option<i64>>,
) -> Result<()> {
    let c = conversation(ctx.conn, id)?;
    let audience = if is_configured(ctx.conn, &c.phone_number_id)? {
        Audience::conversation(c.assignee_id, before)
    } else {
        Audience::supervisors()
    };
    ctx.emit(NewEvent {
        kind: event_kind::CONVERSATION_UPDATED,
        conversation_id: Some(id),
        audience,
        data: serde_json::to_value(&c)?,
    })?;
    Ok(())
}

/// Whether conversation `id` is held: its number is not configured, so it is not routed and
/// agents do not see it (see `store::numbers`).
pub fn held(conn: &Db, id: i64) -> Result<bool> {
    let pnid: String = conn
        .prepare_cached("SELECT phone_number_id FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
    Ok(!is_configured(conn, &pnid)?)
}

/// Who may see an event about conversation `id` in its current state (its content: messages,
/// assignments): its assignee now and `before`, or every agent while it is unassigned; only
/// supervisors and admins while it is held.
pub fn audience(conn: &Db, id: i64, before: Option<Option<i64>>) -> Result<Audience> {
    let (assignee, configured): (Option<i64>, bool) = conn
        .prepare_cached(&format!(
            "SELECT c.assignee_id, {} FROM conversations c WHERE c.id = ?1",
            configured_sql("c.phone_number_id")
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
    Ok(if configured {
        Audience::conversation(assignee, before)
    } else {
        Audience::supervisors()
    })
}

// ---------------------------------------------------------------- conversations and messages

#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<String>,
    /// `Some(None)`: unassigned only; `Some(Some(id))`: assigned to id.
    pub assignee: Option<Option<i64>>,
    pub phone_number_id: Option<String>,
    /// Keyset cursor: (last_message_at, id) of the last item of the previous page.
    pub before: Option<(i64, i64)>,
    pub limit: usize,
}

/// Whether `user` may see conversation `id` (agents: on a configured number, and assigned to
/// them or unassigned).
pub fn may_see(conn: &Db, user: &User, id: i64) -> Result<bool> {
    let row: Option<(Option<i64>, bool)> = conn
        .prepare_cached(&format!(
            "SELECT c.assignee_id, {} FROM conversations c WHERE c.id = ?1",
            configured_sql("c.phone_number_id")
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Err(StoreError::NotFound(format!("conversation {id}"))),
        Some((a, configured)) => {
            Ok(user.sees_all() || (configured && (a.is_none() || a == Some(user.id))))
        }
    }
}

pub fn list_conversations(
    conn: &Db,
    user: &User,
    f: &ConversationFilter,
) -> Result<Vec<Conversation>> {
    let mut sql = format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE 1 = 1"
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if !user.sees_all() {
        sql.push_str(&format!(
            " AND (c.assignee_id IS NULL OR c.assignee_id = ?{}) AND {}",
            args.len() + 1,
            configured_sql("c.phone_number_id")
        ));
        args.push(user.id.into());
    }
    if let Some(s) = &f.status {
        sql.push_str(&format!(" AND c.status = ?{}", args.len() + 1));
        args.push(s.clone().into());
    }
    match f.assignee {
        Some(None) => sql.push_str(" AND c.assignee_id IS NULL"),
        Some(Some(a)) => {
            sql.push_str(&format!(" AND c.assignee_id = ?{}", args.len() + 1));
            args.push(a.into());
        }
        None => {}
    }
    if let Some(p) = &f.phone_number_id {
        sql.push_str(&format!(" AND c.phone_number_id = ?{}", args.len() + 1));
        args.push(p.clone().into());
    }
    if let Some((ts, id)) = f.before {
        let n = args.len();
        sql.push_str(&format!(
            " AND (c.last_message_at < ?{} OR (c.last_message_at = ?{} AND c.id < ?{}))",
            n + 1,
            n + 1,
            n + 2
        ));
        args.push(ts.into());
        args.push(id.into());
    }
    sql.push_str(&format!(
        " ORDER BY c.last_message_at DESC, c.id DESC LIMIT {}",
        f.limit
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, conversation_row)?;
    let rows = rows.collect::<crate::store::db::Result<Vec<_>>>()?;
    rows.into_iter().map(|c| with_tags(conn, c)).collect()
}

/// Marks a conversation read up to a message; returns the newest inbound wamid covered.
pub fn mark_read(
    ctx: &mut WriteCtx<'_>,
    conversation_id: i64,
    up_to: Option<i64>,
) -> Result<Option<String>> {
    let wamid: Option<String> = ctx
        .conn
        .prepare_cached(
            "SELECT wamid FROM messages WHERE conversation_id = ?1 AND direction = 'in' AND id <= ?2 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![conversation_id, up_to.unwrap_or(i64::MAX)], |r| r.get(0))
        .optional()?
        .flatten();
    let unread_after: i64 = ctx.conn.query_row(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND direction = 'in' AND id > ?2",
        params![conversation_id, up_to.unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?;
    let changed = ctx.conn.execute(
        "UPDATE conversations SET unread_count = ?2, updated_at = ?3 WHERE id = ?1 AND unread_count <> ?2",
        params![conversation_id, unread_after, ctx.now],
    )?;
    if changed > 0 {
        emit_conversation(ctx, conversation_id, None)?;
    }
    Ok(wamid)
}
