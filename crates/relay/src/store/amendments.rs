//! Customers' edits and deletions of their messages (webhook types `edit` and `revoke`).
//!
//! Every amendment is kept in `message_amendments` under its own wamid (so a redelivered webhook
//! changes nothing twice) and applied to the message it names as soon as that message is here:
//! at once, or when the original arrives later (webhooks are unordered). An edit replaces the
//! message's text and content and keeps the replaced version in `edits`; a deletion marks the
//! message `deleted_at` and leaves it readable to the team. Each change goes out as
//! `message.updated`, so caches and the desktop update the message in place. Only the author
//! amends, on the same business number: the customer their inbound messages, the business's
//! phone app (Coexistence echoes of type `edit`/`revoke`) what it sent; anything else is kept,
//! not applied, and logged.
//!
//! [`amend`] is the decision (pure); the functions around it read and write.

use serde_json::Value;
use switchboard_protocol::api::origin::{HISTORY, PHONE_APP};
use switchboard_protocol::api::{event_kind, Direction, MessageVersion};
use switchboard_protocol::webhook::{Content, InboundMessage};

use super::db::{params, Optional};
use super::messages::{emit_message, message, message_id_by_wamid};
use super::{Result, WriteCtx};

/// The parts of a message an amendment changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Amendable {
    pub text: String,
    pub content: Value,
    pub edited_at: Option<i64>,
    pub edits: Vec<MessageVersion>,
    pub deleted_at: Option<i64>,
}

/// One amendment, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Amendment {
    /// The new content (already as the message's `content` JSON) and its one-line text.
    Edit {
        text: String,
        content: Value,
    },
    Revoke,
}

/// Applies `a`, made by the customer at `at` (ms), to `s`. Edits apply in the order the customer
/// made them: an edit older than the version shown (it arrived late) only joins the history.
/// The original's reply context stays with every version.
pub fn amend(mut s: Amendable, a: &Amendment, at: i64) -> Amendable {
    match a {
        Amendment::Edit { text, content } => {
            let mut content = content.clone();
            if let (Value::Object(new), Some(ctx)) = (&mut content, s.content.get("context")) {
                new.entry("context").or_insert_with(|| ctx.clone());
            }
            if s.edited_at.is_some_and(|shown| shown > at) {
                let v = MessageVersion {
                    text: text.clone(),
                    content,
                    replaced_at: at,
                };
                let i = s.edits.partition_point(|e| e.replaced_at <= at);
                s.edits.insert(i, v);
            } else {
                s.edits.push(MessageVersion {
                    text: std::mem::replace(&mut s.text, text.clone()),
                    content: std::mem::replace(&mut s.content, content),
                    replaced_at: at,
                });
                s.edited_at = Some(at);
            }
        }
        Amendment::Revoke => s.deleted_at = Some(s.deleted_at.map_or(at, |d| d.min(at))),
    }
    s
}

/// Keeps an `edit` or `revoke` on number `pnid` and applies it if its original is here. A
/// redelivery changes nothing. `by_business`: it came as an echo from the business's phone app
/// (Coexistence) and may amend only a message sent from there; otherwise only the customer's own.
pub fn record(
    ctx: &mut WriteCtx<'_>,
    pnid: &str,
    m: &InboundMessage,
    by_business: bool,
) -> Result<()> {
    let Some(original) = m.content.amends() else {
        return Ok(());
    };
    let seen: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT 1 FROM message_amendments WHERE wamid = ?1")?
        .query_row([&m.id], |r| r.get(0))
        .optional()?;
    if seen.is_some() {
        return Ok(());
    }
    let (kind, content) = match &m.content {
        Content::Edit { message, .. } => ("edit", Some(serde_json::to_string(message)?)),
        _ => ("revoke", None),
    };
    ctx.conn.exec(
        "INSERT INTO message_amendments (wamid, original_wamid, kind, content, at, received_at, by_business, sender)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            m.id,
            original,
            kind,
            content,
            m.timestamp.saturating_mul(1000),
            ctx.now,
            by_business,
            m.from_user_id.as_ref().or(m.from.as_ref())
        ],
    )?;
    apply_waiting(ctx, original, pnid)
}

/// Applies the amendments waiting for the message `wamid` (called when it arrives, and right
/// after an amendment is recorded). `pnid`: the business number the webhook came on; an
/// amendment never crosses numbers.
pub fn apply_waiting(ctx: &mut WriteCtx<'_>, wamid: &str, pnid: &str) -> Result<()> {
    // Every inbound message asks: the waiting ones first (a lookup in a small partial index,
    // usually empty), the message only when something waits.
    let waiting: Vec<(String, String, Option<String>, i64, bool)> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT wamid, kind, content, at, by_business FROM message_amendments
             WHERE original_wamid = ?1 AND applied_at IS NULL ORDER BY at, wamid",
        )?;
        let rows = stmt.query_map([wamid], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect::<super::db::Result<_>>()?
    };
    if waiting.is_empty() {
        return Ok(());
    }
    let Some(id) = message_id_by_wamid(ctx.conn, wamid)? else {
        return Ok(());
    };
    let msg = message(ctx.conn, id)?;
    let conv_pnid: String = ctx.conn.query_row(
        "SELECT phone_number_id FROM conversations WHERE id = ?1",
        [msg.conversation_id],
        |r| r.get(0),
    )?;
    // The customer amends their own messages; the phone app amends what it sent.
    let by_business = msg.direction == Direction::Outbound;
    let authored = !by_business || matches!(msg.origin.as_deref(), Some(PHONE_APP | HISTORY));
    let waiting: Vec<_> = waiting.into_iter().filter(|w| w.4 == by_business).collect();
    if !authored || waiting.is_empty() || pnid != conv_pnid {
        tracing::warn!(
            message = id,
            "an edit or deletion names a message its author did not send: kept, not applied"
        );
        return Ok(());
    }
    let mut state = Amendable {
        text: msg.text.clone(),
        content: msg.content.clone(),
        edited_at: msg.edited_at,
        edits: msg.edits.clone(),
        deleted_at: msg.deleted_at,
    };
    for (_, kind, content, at, _) in &waiting {
        let a = match (kind.as_str(), content) {
            ("edit", Some(c)) => {
                let inner: Content = serde_json::from_str(c)?;
                Amendment::Edit {
                    text: inner.preview(),
                    content: serde_json::to_value(&inner)?,
                }
            }
            _ => Amendment::Revoke,
        };
        state = amend(state, &a, *at);
    }
    ctx.conn.exec(
        "UPDATE messages SET text = ?2, content = ?3, edited_at = ?4, edits = ?5, deleted_at = ?6, updated_at = ?7
         WHERE id = ?1",
        params![
            id,
            state.text,
            state.content.to_string(),
            state.edited_at,
            serde_json::to_string(&state.edits)?,
            state.deleted_at,
            ctx.now
        ],
    )?;
    ctx.conn.exec(
        "UPDATE message_amendments SET applied_at = ?2 WHERE original_wamid = ?1 AND applied_at IS NULL AND by_business = ?3",
        params![wamid, ctx.now, by_business],
    )?;
    emit_message(ctx, id, event_kind::MESSAGE_UPDATED)?;
    // The conversation list shows the latest message's text: follow an edit of it.
    let changed = ctx.conn.exec(
        "UPDATE conversations SET last_message_preview = ?2, updated_at = ?3
         WHERE id = ?1 AND last_message_at = ?4 AND last_message_preview <> ?2",
        params![msg.conversation_id, state.text, ctx.now, msg.created_at],
    )?;
    if changed > 0 {
        super::conversations::emit_conversation(ctx, msg.conversation_id, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn original() -> Amendable {
        Amendable {
            text: "Lisbon?".into(),
            content: json!({"type": "text", "body": "Lisbon?", "context": {"id": "wamid.quoted"}}),
            edited_at: None,
            edits: vec![],
            deleted_at: None,
        }
    }

    fn edit(text: &str) -> Amendment {
        Amendment::Edit {
            text: text.into(),
            content: json!({"type": "text", "body": text}),
        }
    }

    #[test]
    fn an_edit_replaces_the_text_and_keeps_the_old_version_and_the_reply_context() {
        let s = amend(original(), &edit("Porto?"), 100);
        assert_eq!(s.text, "Porto?");
        assert_eq!(s.content["context"]["id"], "wamid.quoted");
        assert_eq!(s.edited_at, Some(100));
        assert_eq!(s.edits.len(), 1);
        assert_eq!(s.edits[0].text, "Lisbon?");
        assert_eq!(s.edits[0].replaced_at, 100);
    }

    #[test]
    fn edits_apply_in_the_customers_order_whatever_the_arrival() {
        let in_order = amend(amend(original(), &edit("Porto?"), 100), &edit("Faro?"), 200);
        let late = amend(amend(original(), &edit("Faro?"), 200), &edit("Porto?"), 100);
        assert_eq!(in_order.text, "Faro?");
        assert_eq!(late.text, "Faro?", "the newest edit is what shows");
        assert_eq!(late.edits.len(), 2);
        assert_eq!(
            late.edits[0].replaced_at, 100,
            "history stays in time order"
        );
    }

    #[test]
    fn a_deletion_marks_and_keeps_the_message() {
        let s = amend(
            amend(original(), &Amendment::Revoke, 300),
            &Amendment::Revoke,
            250,
        );
        assert_eq!(s.deleted_at, Some(250));
        assert_eq!(s.text, "Lisbon?", "still readable to the team");
    }
}
