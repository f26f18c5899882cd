//! Messages: row mapping, reading one or a page, lookups by wamid and media, and logging their
//! state to the event log.

use crate::store::db::{params, Db, Optional, Row};
use serde_json::Value;
use switchboard_protocol::api::{DeliveryStatus, Direction, Message, MessageError};

use super::events::NewEvent;
use super::{Result, StoreError, WriteCtx};

const MESSAGE_COLS: &str = "id, conversation_id, direction, wamid, type, text, content, unsupported, status, error_code, error_title, error_details, reply_to, reply_to_wamid, sender_id, client_id, raw, created_at, updated_at, edited_at, edits, deleted_at, origin";

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
        edited_at: r.get(19)?,
        edits: r
            .get::<Option<String>>(20)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        deleted_at: r.get(21)?,
        origin: r.get(22)?,
    })
}

pub fn message(conn: &Db, id: i64) -> Result<Message> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"
    ))?
    .query_row([id], message_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("message {id}")))
}

pub fn emit_message(ctx: &mut WriteCtx<'_>, id: i64, kind: &'static str) -> Result<Message> {
    let m = message(ctx.conn, id)?;
    let audience = super::conversations::audience(ctx.conn, m.conversation_id, None)?;
    ctx.emit(NewEvent {
        kind,
        conversation_id: Some(m.conversation_id),
        audience,
        data: serde_json::to_value(&m)?,
    })?;
    Ok(m)
}

/// A page of messages in the order they were written (`created_at`, then arrival), oldest
/// first, before the message `before` (an id from the page after it). Written order, not
/// arrival: a shared chat history arrives after the live messages but precedes them.
pub fn list_messages(
    conn: &Db,
    conversation_id: i64,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<Message>> {
    let cursor: (i64, i64) = match before {
        None => (i64::MAX, i64::MAX),
        Some(id) => conn
            .prepare_cached("SELECT created_at FROM messages WHERE id = ?1")?
            .query_row([id], |r| r.get::<i64>(0))
            .optional()?
            .map_or((i64::MAX, id), |at| (at, id)),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1
           AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))
         ORDER BY created_at DESC, id DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![conversation_id, cursor.0, cursor.1, limit as i64],
        message_row,
    )?;
    let mut items: Vec<Message> = rows.collect::<crate::store::db::Result<_>>()?;
    items.reverse();
    Ok(items)
}

/// The condition of a page of messages after id `?1`, written in `[?2, ?3)` (ms), of customer
/// `?5` when `?4` is 1 (`?6`: the page's size); [`after_args`] gives the values.
pub(crate) const AFTER_IN_SCOPE: &str = "id > ?1 AND created_at >= ?2 AND created_at < ?3
           AND (?4 = 0 OR conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?5))";

/// The values of [`AFTER_IN_SCOPE`] and the page's size.
pub(crate) fn after_args(
    after: i64,
    contact: Option<i64>,
    from: i64,
    to: i64,
    limit: usize,
) -> [i64; 6] {
    [
        after,
        from,
        to,
        i64::from(contact.is_some()),
        contact.unwrap_or(0),
        limit as i64,
    ]
}

/// Up to `limit` messages after id `after`, by id: all, or one customer's, written in
/// `[from, to)` (ms). For exports.
pub fn messages_after(
    conn: &Db,
    after: i64,
    contact: Option<i64>,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE {AFTER_IN_SCOPE} ORDER BY id LIMIT ?6"
    ))?;
    let rows = stmt.query_map(after_args(after, contact, from, to, limit), message_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn message_id_by_wamid(conn: &Db, wamid: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM messages WHERE wamid = ?1")?
        .query_row([wamid], |r| r.get(0))
        .optional()?)
}

/// The file a message carries, for the media proxy.
#[derive(Debug, Clone)]
pub struct MessageMedia {
    pub conversation_id: i64,
    pub media_id: String,
    pub mime: Option<String>,
    /// The message's type (`image`, `document`, ...).
    pub kind: String,
    /// The business number it came on (whose account's token fetches it).
    pub phone_number_id: String,
}

pub fn message_media(conn: &Db, id: i64) -> Result<Option<MessageMedia>> {
    Ok(conn
        .prepare_cached("SELECT m.conversation_id, m.media_id, m.media_mime, m.type, c.phone_number_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?1 AND m.media_id IS NOT NULL")?
        .query_row([id], |r| {
            Ok(MessageMedia {
                conversation_id: r.get(0)?,
                media_id: r.get(1)?,
                mime: r.get(2)?,
                kind: r.get(3)?,
                phone_number_id: r.get(4)?,
            })
        })
        .optional()?)
}
