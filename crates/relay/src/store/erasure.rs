//! Erasing a customer (GDPR Art. 17, `DELETE /api/v1/contacts/{id}`): one write job removes
//! their messages (with edits, parked statuses, archived media rows, idempotency keys), their
//! conversations and everything hanging on them (periods, assignments, blocked-message reports,
//! uploads, tombstones), tags, notes, the customer record with its identifiers, every event that
//! carried any of it (also of conversations merged into theirs), and the raw webhook bodies,
//! account events and parked statuses naming their WhatsApp ids (a body's hash stays, its bytes
//! go). A legal hold refuses it. What stays: an audit entry with ids and counts only, and a
//! `contact.erased` event (ids only) that makes every client cache drop the same.
//!
//! SQLite overwrites freed space (`secure_delete`, set on every connection), and the caller
//! empties the write-ahead log after the commit ([`super::Store::scrub`]), so no page of the
//! data directory keeps the customer's text.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use switchboard_protocol::api::event_kind;
use switchboard_protocol::governance::{ContactErased, Erased};

use super::db::{contains_sql, placeholders, Db, Optional};
use super::events::{Audience, NewEvent};
use super::retention::{delete_messages, empty_body};
use super::{Result, StoreError, WriteCtx};

/// What an erasure removed, and the media files to delete after the commit.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub report: Erased,
    pub media_ids: Vec<String>,
}

pub fn erase_contact(ctx: &mut WriteCtx<'_>, contact: i64, actor: &str) -> Result<Erasure> {
    let conn = ctx.conn;
    let ids: Option<(Option<String>, Option<String>)> = conn
        .prepare("SELECT wa_id, bsuid FROM contacts WHERE id = ?1")?
        .query_row([contact], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((wa_id, bsuid)) = ids else {
        return Err(StoreError::NotFound(format!("customer {contact}")));
    };
    if on_hold(conn, contact)? {
        return Err(StoreError::Conflict(
            "a legal hold applies to this customer; release it before erasing".into(),
        ));
    }
    let convs: Vec<i64> = conn
        .prepare("SELECT id FROM conversations WHERE contact_id = ?1 ORDER BY id")?
        .query_map([contact], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;

    let mut report = Erased {
        contact_id: contact,
        conversations: convs.len() as i64,
        messages: 0,
        notes: 0,
        media_files: 0,
        webhook_bodies: 0,
    };
    let mut media = Vec::new();
    for &conv in &convs {
        let rows: Vec<(i64, Option<String>)> = conn
            .prepare_cached("SELECT id, wamid FROM messages WHERE conversation_id = ?1")?
            .query_map([conv], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let wamids: Vec<String> = rows.into_iter().filter_map(|r| r.1).collect();
        report.messages += ids.len() as i64;
        media.extend(delete_messages(conn, &ids, &wamids)?);
        let uploads: Vec<String> = conn
            .prepare_cached("SELECT media_id FROM uploads WHERE conversation_id = ?1")?
            .query_map([conv], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        media.extend(uploads);
        for table in [
            "uploads",
            "outbox",
            "policy_blocks",
            "auto_reply_log",
            "away_log",
            "conversation_periods",
            "assignments",
            "conversation_tombstones",
        ] {
            conn.execute(
                &format!("DELETE FROM {table} WHERE conversation_id = ?1"),
                [conv],
            )?;
        }
    }
    // Events of their conversations, also of those merged into them earlier.
    let mut logged: BTreeSet<i64> = convs.iter().copied().collect();
    let merges: Vec<(Option<i64>, String)> = conn
        .prepare("SELECT conversation_id, data FROM events WHERE kind = ?1")?
        .query_map([event_kind::CONVERSATION_MERGED], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    loop {
        let before = logged.len();
        for (from, data) in &merges {
            let into = serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| v["merged_into"].as_i64());
            if let (Some(from), Some(into)) = (from, into) {
                if logged.contains(&into) {
                    logged.insert(*from);
                }
            }
        }
        if logged.len() == before {
            break;
        }
    }
    let logged: Vec<i64> = logged.into_iter().collect();
    for chunk in logged.chunks(200) {
        conn.execute(
            &format!(
                "DELETE FROM events WHERE conversation_id IN ({})",
                placeholders(1, chunk.len())
            ),
            chunk.to_vec(),
        )?;
    }
    // Events about the customer without a conversation: snapshots and notes (by id), and any
    // naming one of their WhatsApp ids (a customer merged into them).
    let loose: Vec<(i64, String, String)> = conn
        .prepare(
            "SELECT seq, kind, data FROM events WHERE conversation_id IS NULL AND kind IN (?1, ?2)",
        )?
        .query_map(
            [event_kind::CONTACT_UPDATED, event_kind::NOTE_CREATED],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<std::result::Result<_, _>>()?;
    for (seq, kind, data) in loose {
        let field = if kind == event_kind::CONTACT_UPDATED {
            "id"
        } else {
            "contact_id"
        };
        let about = serde_json::from_str::<Value>(&data)
            .ok()
            .and_then(|v| v[field].as_i64());
        if about == Some(contact) {
            conn.execute("DELETE FROM events WHERE seq = ?1", [seq])?;
        }
    }
    let backend = conn.backend();
    // Edits and deletions they sent whose original never arrived.
    for ident in wa_id.iter().chain(bsuid.iter()) {
        conn.execute(
            "DELETE FROM message_amendments WHERE sender = ?1",
            [ident.as_str()],
        )?;
    }
    // Stored JSON names them as a whole string ("4915...", "+4915...", "DE.123..."): matching the
    // quoted form does not catch another customer whose id merely contains theirs.
    let quoted: Vec<String> = wa_id
        .iter()
        .chain(bsuid.iter())
        .filter(|s| !s.is_empty())
        .flat_map(|s| [format!("\"{s}\""), format!("\"+{s}\"")])
        .collect();
    for ident in &quoted {
        conn.execute(
            &format!(
                "DELETE FROM events WHERE conversation_id IS NULL AND {}",
                contains_sql(backend, "data", 1, false)
            ),
            [ident.as_str()],
        )?;
        conn.execute(
            &format!(
                "DELETE FROM account_events WHERE {}",
                contains_sql(backend, "payload", 1, false)
            ),
            [ident.as_str()],
        )?;
        conn.execute(
            &format!(
                "DELETE FROM orphan_statuses WHERE {}",
                contains_sql(backend, "raw", 1, false)
            ),
            [ident.as_str()],
        )?;
        // Pending ones too: a body not applied yet would bring them back at the next start.
        let bodies: Vec<i64> = conn
            .prepare(&format!(
                "SELECT id FROM webhook_inbox WHERE state <> 'erased' AND {}",
                contains_sql(backend, "body", 1, true)
            ))?
            .query_map([ident.as_bytes().to_vec()], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        for id in bodies {
            empty_body(conn, id, "erased")?;
            report.webhook_bodies += 1;
        }
    }
    for &conv in &convs {
        conn.execute("DELETE FROM conversations WHERE id = ?1", [conv])?;
    }
    conn.execute("DELETE FROM contact_tags WHERE contact_id = ?1", [contact])?;
    report.notes =
        conn.execute("DELETE FROM contact_notes WHERE contact_id = ?1", [contact])? as i64;
    conn.execute("DELETE FROM contacts WHERE id = ?1", [contact])?;
    // Files another message or upload still names stay.
    let media = super::retention::unreferenced(conn, media)?;
    report.media_files = media.len() as i64;
    super::audit::audit(
        conn,
        actor,
        "contact.erased",
        &json!({
            "contact_id": contact,
            "conversations": report.conversations,
            "messages": report.messages,
            "notes": report.notes,
        }),
        ctx.now,
    )?;
    ctx.emit(NewEvent {
        kind: event_kind::CONTACT_ERASED,
        conversation_id: None,
        audience: Audience {
            all_agents: true,
            users: Vec::new(),
        },
        data: serde_json::to_value(ContactErased {
            id: contact,
            conversation_ids: convs,
        })?,
    })?;
    Ok(Erasure {
        report,
        media_ids: media,
    })
}

/// Whether a customer (or one of their conversations) is on hold.
pub fn on_hold(conn: &Db, contact: i64) -> Result<bool> {
    Ok(conn
        .prepare(
            "SELECT 1 FROM legal_holds h WHERE h.contact_id = ?1
             OR h.conversation_id IN (SELECT id FROM conversations WHERE contact_id = ?1)",
        )?
        .exists([contact])?)
}
