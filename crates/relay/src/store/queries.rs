//! Plain SQL over a connection: row mapping, snapshots for the event log, and the reads and
//! writes the API and workers need. Portable SQL only (no SQLite-only functions beyond `COALESCE`
//! and `ON CONFLICT`, which PostgreSQL shares).

use crate::store::db::{params, Db, Optional, Row};
use serde_json::Value;
use switchboard_protocol::api::{
    event_kind, Contact, Conversation, DeadLetter, DeliveryStatus, Direction, Message,
    MessageError, PhoneNumber, Role, User,
};

use super::events::{Audience, NewEvent};
use super::{Result, StoreError, WriteCtx};

// ---------------------------------------------------------------- row mapping

const CONVERSATION_COLS: &str = "c.id, c.phone_number_id, c.status, c.assignee_id, c.last_inbound_at, c.last_message_at, c.last_message_preview, c.unread_count, c.created_at, c.updated_at, k.id, k.wa_id, k.bsuid, k.username, k.name, k.updated_at";

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
        },
    })
}

/// A customer's tags, sorted.
pub fn contact_tags(conn: &Db, contact: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT tag FROM contact_tags WHERE contact_id = ?1 ORDER BY tag")?;
    let rows = stmt.query_map([contact], |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

fn with_tags(conn: &Db, mut c: Conversation) -> Result<Conversation> {
    c.contact.tags = contact_tags(conn, c.contact.id)?;
    Ok(c)
}

const MESSAGE_COLS: &str = "id, conversation_id, direction, wamid, type, text, content, unsupported, status, error_code, error_title, error_details, reply_to, reply_to_wamid, sender_id, client_id, raw, created_at, updated_at";

fn message_row(r: &Row<'_>) -> crate::store::db::Result<Message> {
    let direction: String = r.get(2)?;
    let content: String = r.get(6)?;
    let status: Option<String> = r.get(8)?;
    let error_code: Option<i64> = r.get(9)?;
    let raw: Option<String> = r.get(16)?;
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        direction: if direction == "in" {
            Direction::Inbound
        } else {
            Direction::Outbound
        },
        wamid: r.get(3)?,
        type_name: r.get(4)?,
        text: r.get(5)?,
        content: serde_json::from_str(&content).unwrap_or(Value::Null),
        unsupported: r.get(7)?,
        status: status.as_deref().and_then(DeliveryStatus::parse),
        error: match error_code {
            Some(code) => Some(MessageError {
                code,
                title: r.get::<Option<String>>(10)?.unwrap_or_default(),
                reason: switchboard_protocol::graph::human_reason(code).to_string(),
                details: r.get(11)?,
            }),
            None => None,
        },
        reply_to: r.get(12)?,
        reply_to_wamid: r.get(13)?,
        sender_id: r.get(14)?,
        client_id: r.get(15)?,
        raw: raw.and_then(|s| serde_json::from_str(&s).ok()),
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
    })
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

pub fn message(conn: &Db, id: i64) -> Result<Message> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"
    ))?
    .query_row([id], message_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
}

pub fn contact(conn: &Db, id: i64) -> Result<Contact> {
    conn.prepare_cached(
        "SELECT id, wa_id, bsuid, username, name, updated_at FROM contacts WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Contact {
            id: r.get(0)?,
            wa_id: r.get(1)?,
            bsuid: r.get(2)?,
            username: r.get(3)?,
            name: r.get(4)?,
            updated_at: r.get(5)?,
            tags: Vec::new(),
        })
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("contact {id}")))
    .and_then(|mut c| {
        c.tags = contact_tags(conn, id)?;
        Ok(c)
    })
}

// ---------------------------------------------------------------- snapshots into the log

/// Logs the conversation's current state. `before` is the assignee before this change, when the
/// change may have moved it (so the previous assignee learns it is gone).
pub fn emit_conversation(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    before: Option<Option<i64>>,
) -> Result<()> {
    let c = conversation(ctx.conn, id)?;
    ctx.emit(NewEvent {
        kind: event_kind::CONVERSATION_UPDATED,
        conversation_id: Some(id),
        audience: Audience::conversation(c.assignee_id, before),
        data: serde_json::to_value(&c)?,
    })?;
    Ok(())
}

pub fn emit_message(ctx: &mut WriteCtx<'_>, id: i64, kind: &'static str) -> Result<Message> {
    let m = message(ctx.conn, id)?;
    let assignee: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT assignee_id FROM conversations WHERE id = ?1")?
        .query_row([m.conversation_id], |r| r.get(0))?;
    ctx.emit(NewEvent {
        kind,
        conversation_id: Some(m.conversation_id),
        audience: Audience::conversation(assignee, None),
        data: serde_json::to_value(&m)?,
    })?;
    Ok(m)
}

pub fn emit_contact(ctx: &mut WriteCtx<'_>, contact_id: i64) -> Result<()> {
    let c = contact(ctx.conn, contact_id)?;
    // A contact is visible to whoever sees one of its conversations.
    let audience = super::contacts::audience(ctx.conn, contact_id)?;
    ctx.emit(NewEvent {
        kind: event_kind::CONTACT_UPDATED,
        conversation_id: None,
        audience,
        data: serde_json::to_value(&c)?,
    })?;
    Ok(())
}

// ---------------------------------------------------------------- numbers

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

/// Records a number seen in a webhook; an unknown one appears as unconfigured for admins.
pub fn note_number_seen(conn: &Db, id: &str, display: &str, waba_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO phone_numbers (phone_number_id, display_phone_number, name, waba_id, configured, created_at)
         VALUES (?1, ?2, '', ?3, 0, ?4) ON CONFLICT (phone_number_id) DO NOTHING",
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

// ---------------------------------------------------------------- users and tokens

pub fn create_user(
    conn: &Db,
    email: &str,
    name: &str,
    role: Role,
    hash: &str,
    now: i64,
) -> Result<User> {
    let email = email.trim().to_lowercase();
    let exists: Option<i64> = conn
        .query_row("SELECT id FROM users WHERE email = ?1", [&email], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = conn.query_row(
        "INSERT INTO users (email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![email, name, role.as_str(), hash, now],
        |r| r.get(0),
    )?;
    Ok(User {
        id,
        email,
        name: name.to_string(),
        role,
    })
}

fn user_row(r: &Row<'_>) -> crate::store::db::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
    })
}

/// The user and their password hash.
pub fn user_by_email(conn: &Db, email: &str) -> Result<Option<(User, String)>> {
    Ok(conn
        .prepare_cached("SELECT id, email, name, role, password_hash FROM users WHERE email = ?1")?
        .query_row([email.trim().to_lowercase()], |r| {
            Ok((user_row(r)?, r.get(4)?))
        })
        .optional()?)
}

pub fn users(conn: &Db) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached("SELECT id, email, name, role FROM users ORDER BY id")?;
    let rows = stmt.query_map((), user_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn insert_token(
    conn: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

pub fn user_for_token(conn: &Db, token_hash: &str, now: i64) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.email, u.name, u.role FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2",
        )?
        .query_row(params![token_hash, now], user_row)
        .optional()?)
}

pub fn delete_token(conn: &Db, token_hash: &str) -> Result<()> {
    conn.execute("DELETE FROM tokens WHERE token_hash = ?1", [token_hash])?;
    Ok(())
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

/// Whether `user` may see conversation `id` (agents: assigned to them or unassigned).
pub fn may_see(conn: &Db, user: &User, id: i64) -> Result<bool> {
    let assignee: Option<Option<i64>> = conn
        .prepare_cached("SELECT assignee_id FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match assignee {
        None => Err(StoreError::NotFound(format!("conversation {id}"))),
        Some(a) => Ok(user.role.sees_all() || a.is_none() || a == Some(user.id)),
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
    if !user.role.sees_all() {
        sql.push_str(&format!(
            " AND (c.assignee_id IS NULL OR c.assignee_id = ?{})",
            args.len() + 1
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

/// A page of messages, oldest first, older than `before` (a message id).
pub fn list_messages(
    conn: &Db,
    conversation_id: i64,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![conversation_id, before.unwrap_or(i64::MAX), limit as i64],
        message_row,
    )?;
    let mut items: Vec<Message> = rows.collect::<crate::store::db::Result<_>>()?;
    items.reverse();
    Ok(items)
}

pub fn message_id_by_wamid(conn: &Db, wamid: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM messages WHERE wamid = ?1")?
        .query_row([wamid], |r| r.get(0))
        .optional()?)
}

/// Media id and MIME type of a message, for the media proxy.
pub fn message_media(conn: &Db, id: i64) -> Result<Option<(i64, String, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT conversation_id, media_id, media_mime FROM messages WHERE id = ?1 AND media_id IS NOT NULL")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
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

// ---------------------------------------------------------------- dead letters and audit

pub fn dead_letters(conn: &Db, limit: usize) -> Result<Vec<DeadLetter>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, COALESCE(error, ''), body FROM webhook_inbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let body: Vec<u8> = r.get(3)?;
        Ok(DeadLetter {
            id: r.get(0)?,
            received_at: r.get(1)?,
            error: r.get(2)?,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn audit(conn: &Db, actor: &str, action: &str, details: &Value, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log (actor, action, details, at) VALUES (?1, ?2, ?3, ?4)",
        params![actor, action, details.to_string(), now],
    )?;
    Ok(())
}

pub fn audit_entries(conn: &Db, limit: usize) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, actor, action, details, at FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let details: String = r.get(3)?;
        Ok(serde_json::json!({
            "id": r.get::<i64>(0)?, "actor": r.get::<String>(1)?, "action": r.get::<String>(2)?,
            "details": serde_json::from_str::<Value>(&details).unwrap_or(Value::Null), "at": r.get::<i64>(4)?,
        }))
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Counts for metrics and tests.
pub fn count(conn: &Db, sql_table_where: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!("SELECT COUNT(*) FROM {sql_table_where}"),
        (),
        |r| r.get(0),
    )?)
}
