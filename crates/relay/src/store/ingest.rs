//! Applying webhook bodies to the store.
//!
//! A correctly signed body is first written raw to `webhook_inbox` (state `pending`) and then
//! applied in a nested savepoint in the same batch. Outcomes:
//! - applied: state `processed`;
//! - not a WhatsApp notification: state `dead` with the parse error (visible to admins);
//! - applying failed for any other reason (a bug, a constraint): the savepoint is rolled back and
//!   the row stays `pending`; [`process_pending`] retries such rows, and runs at every start-up,
//!   so a body acknowledged before a crash is applied after the restart.
//!
//! Exactly-once: a body is stored once (keyed by its SHA-256: the same bytes again are
//! acknowledged and dropped, see [`Outcome::Replayed`]), an inbound message is keyed by its wamid
//! (unique), a status only ever moves a message forward (see `DeliveryStatus::may_advance_to`), so
//! redeliveries change nothing.

use crate::store::db::{params, Db, Optional};
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_protocol::api::{event_kind, DeadLetter};
use switchboard_protocol::webhook::{
    self, Change, Content, InboundMessage, MessagesValue, Notification, Status,
};

use super::automation::{self, InboundFact};
use super::numbers::is_configured;
use super::queries::{
    emit_contact, emit_conversation, emit_message, message_id_by_wamid, note_number_seen,
};
use super::statuses::apply_status_webhook;
use super::{routing, Result, StoreError, WriteCtx};
use crate::policy::Compiled;

/// What became of one webhook body.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Processed {
        messages: usize,
        statuses: usize,
        /// Automatic replies (auto-replies, away messages) queued for these messages.
        replies: usize,
    },
    Dead(String),
    Pending(String),
    /// The same bytes are in the inbox already (a replay or a redelivery of an acknowledged
    /// body): nothing was stored or applied.
    Replayed,
}

/// Stores a signed body and applies it, without automations. Returns the inbox id and the
/// outcome.
pub fn ingest(ctx: &mut WriteCtx<'_>, body: &[u8]) -> Result<(i64, Outcome)> {
    ingest_with(ctx, body, None)
}

/// Stores a signed body, applies it and runs the automations (auto-replies, away messages) of
/// `policy` for its new inbound messages. A body already in the inbox (the same SHA-256) is
/// neither stored nor applied again: the inbox id is the earlier row's, the outcome
/// [`Outcome::Replayed`].
pub fn ingest_with(
    ctx: &mut WriteCtx<'_>,
    body: &[u8],
    policy: Option<&Compiled>,
) -> Result<(i64, Outcome)> {
    match inbox_insert(ctx, body)? {
        Stored::New(id) => {
            let outcome = process_row(ctx, id, body, policy)?;
            Ok((id, outcome))
        }
        Stored::Known(id) => Ok((id, Outcome::Replayed)),
    }
}

/// Stores a body without applying it (used by tests that simulate a crash between the
/// acknowledgement and processing). Returns the inbox id (the earlier row's for a known body).
pub fn store_only(ctx: &mut WriteCtx<'_>, body: &[u8]) -> Result<i64> {
    match inbox_insert(ctx, body)? {
        Stored::New(id) | Stored::Known(id) => Ok(id),
    }
}

/// Where a body went in the inbox.
enum Stored {
    New(i64),
    /// The same bytes were stored before, in this row.
    Known(i64),
}

/// The key a body is stored once under: its SHA-256, in hex.
fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn inbox_insert(ctx: &mut WriteCtx<'_>, body: &[u8]) -> Result<Stored> {
    let sha = body_sha256(body);
    let inserted: Option<i64> = ctx
        .conn
        .query_row(
            "INSERT INTO webhook_inbox (received_at, body, state, body_sha256) VALUES (?1, ?2, 'pending', ?3)
             ON CONFLICT (body_sha256) DO NOTHING RETURNING id",
            params![ctx.now, body, sha],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = inserted {
        return Ok(Stored::New(id));
    }
    let id: i64 = ctx.conn.query_row(
        "SELECT id FROM webhook_inbox WHERE body_sha256 = ?1",
        [&sha],
        |r| r.get(0),
    )?;
    Ok(Stored::Known(id))
}

fn process_row(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    body: &[u8],
    policy: Option<&Compiled>,
) -> Result<Outcome> {
    let notification = match webhook::parse_notification(body) {
        Ok(n) => n,
        Err(e) => {
            let msg = e.to_string();
            ctx.conn.exec(
                "UPDATE webhook_inbox SET state = 'dead', error = ?2, processed_at = ?3 WHERE id = ?1",
                params![id, msg, ctx.now],
            )?;
            tracing::warn!(inbox_id = id, error = %msg, "webhook body kept as dead letter");
            return Ok(Outcome::Dead(msg));
        }
    };
    let mut facts = Vec::new();
    match ctx.attempt("apply_webhook", |ctx| apply(ctx, &notification, &mut facts))? {
        Ok((messages, statuses)) => {
            ctx.conn.exec(
                "UPDATE webhook_inbox SET state = 'processed', processed_at = ?2 WHERE id = ?1",
                params![id, ctx.now],
            )?;
            // A message to a number no admin has added is stored (above) but held: neither
            // answered by automations nor routed until the number is added
            // (`numbers::add_number` releases it).
            let facts = not_held(ctx.conn, facts)?;
            let mut replies = 0;
            if let Some(policy) = policy {
                for fact in &facts {
                    replies += run_automations(ctx, policy, fact)?;
                }
            }
            // Routing after the automations: a conversation the bot answered and closed needs
            // no agent.
            for fact in &facts {
                route_inbound(ctx, fact)?;
            }
            Ok(Outcome::Processed {
                messages,
                statuses,
                replies,
            })
        }
        Err(e) => {
            let msg = e.to_string();
            ctx.conn.exec(
                "UPDATE webhook_inbox SET error = ?2 WHERE id = ?1",
                params![id, msg],
            )?;
            tracing::error!(inbox_id = id, error = %msg, "webhook body could not be applied; will retry");
            Ok(Outcome::Pending(msg))
        }
    }
}

/// The facts whose number is configured (the others' conversations are held).
fn not_held(conn: &Db, facts: Vec<InboundFact>) -> Result<Vec<InboundFact>> {
    let mut configured: std::collections::HashMap<String, bool> = Default::default();
    let mut out = Vec::with_capacity(facts.len());
    for fact in facts {
        let ok = match configured.get(&fact.phone_number_id) {
            Some(ok) => *ok,
            None => {
                let ok = is_configured(conn, &fact.phone_number_id)?;
                configured.insert(fact.phone_number_id.clone(), ok);
                ok
            }
        };
        if ok {
            out.push(fact);
        }
    }
    Ok(out)
}

/// Automations for one message in their own savepoint: a failure is logged and undone without
/// undoing the message itself (the customer's message matters more than the bot's answer).
fn run_automations(ctx: &mut WriteCtx<'_>, policy: &Compiled, fact: &InboundFact) -> Result<usize> {
    match ctx.attempt("automations", |ctx| {
        automation::on_inbound(ctx, policy, fact)
    })? {
        Ok(q) => Ok(q.auto_replies + q.away),
        Err(e) => {
            tracing::error!(conversation_id = fact.conversation_id, error = %e, "automations failed for an inbound message");
            Ok(0)
        }
    }
}

/// Assigns a conversation a customer just opened (or left unassigned) in its own savepoint: if
/// routing fails, the message stays stored and the conversation waits unassigned.
fn route_inbound(ctx: &mut WriteCtx<'_>, fact: &InboundFact) -> Result<()> {
    let conv = fact.conversation_id;
    if !routing::needs_routing(ctx.conn, conv, fact.opened)? {
        return Ok(());
    }
    let events_before = ctx.events_len();
    match ctx.attempt("routing", |ctx| routing::route_new(ctx, conv, fact.created))? {
        Ok(assignee) => {
            if let (true, Some(agent)) = (fact.created, assignee) {
                // Opened and assigned in this job: what was logged about it before the decision
                // goes to the assignee only (not to every agent as an unassigned conversation).
                let audience = super::events::Audience::conversation(Some(agent), None);
                for i in 0..events_before {
                    if ctx.events[i].event.conversation_id == Some(conv) {
                        super::events::set_audience(
                            ctx.conn,
                            &mut ctx.events[i],
                            audience.clone(),
                        )?;
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(conversation_id = conv, error = %e, "routing failed for an inbound message");
        }
    }
    Ok(())
}

/// Applies up to `limit` acknowledged-but-pending bodies with ids above `after_id`, oldest
/// first. Returns how many were looked at and the last id looked at.
pub fn process_pending(
    ctx: &mut WriteCtx<'_>,
    after_id: i64,
    limit: usize,
    policy: Option<&Compiled>,
) -> Result<(usize, i64)> {
    let rows: Vec<(i64, Vec<u8>)> = {
        let mut stmt = ctx.conn.prepare_cached(
            "SELECT id, body FROM webhook_inbox WHERE state = 'pending' AND id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    let mut last = after_id;
    for (id, body) in &rows {
        process_row(ctx, *id, body, policy)?;
        last = *id;
    }
    Ok((rows.len(), last))
}

fn apply(
    ctx: &mut WriteCtx<'_>,
    n: &Notification,
    facts: &mut Vec<InboundFact>,
) -> Result<(usize, usize)> {
    let (mut messages, mut statuses) = (0, 0);
    for entry in &n.entries {
        for change in &entry.changes {
            // The number (and its account) the change is about, as Meta names it.
            if let Some((pnid, display)) = change.business_number() {
                note_number_seen(ctx.conn, pnid, display, &entry.id, ctx.now)?;
            }
            match change {
                Change::Messages(v) => {
                    for m in &v.messages {
                        if let Some(fact) = apply_message(ctx, v, m)? {
                            messages += 1;
                            facts.push(fact);
                        }
                    }
                    for s in &v.statuses {
                        link_status_contact(ctx, v, s)?;
                        if apply_status_webhook(ctx, s)? {
                            statuses += 1;
                        }
                    }
                    for e in &v.errors {
                        record_account_event(
                            ctx,
                            Some(&v.phone_number_id),
                            "messages.errors",
                            &serde_json::to_value(e)?,
                        )?;
                    }
                }
                Change::Preferences(p) => super::preferences::apply(ctx, p)?,
                Change::Echoes(v) => messages += super::coexistence::apply_echoes(ctx, v)?,
                Change::History(v) => messages += super::coexistence::apply_history(ctx, v)?,
                Change::StateSync(v) => {
                    super::coexistence::apply_state_sync(ctx, v)?;
                }
                Change::Other { field, value } => {
                    let pnid = value
                        .pointer("/metadata/phone_number_id")
                        .and_then(Value::as_str);
                    record_account_event(ctx, pnid, field, value)?;
                }
            }
        }
    }
    Ok((messages, statuses))
}

pub(super) fn record_account_event(
    ctx: &WriteCtx<'_>,
    pnid: Option<&str>,
    field: &str,
    payload: &Value,
) -> Result<()> {
    ctx.conn.exec(
        "INSERT INTO account_events (phone_number_id, field, payload, received_at) VALUES (?1, ?2, ?3, ?4)",
        params![pnid, field, payload.to_string(), ctx.now],
    )?;
    Ok(())
}

/// The sender's identity and profile for a message: from `value.contacts` (matched by wa_id or
/// BSUID) and the message's own `from` / `from_user_id`.
fn sender(
    v: &MessagesValue,
    m: &InboundMessage,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    let contact = v
        .contacts
        .iter()
        .find(|c| {
            (c.wa_id.is_some() && c.wa_id == m.from)
                || (c.user_id.is_some() && c.user_id == m.from_user_id)
        })
        .or(if v.contacts.len() == 1 {
            v.contacts.first()
        } else {
            None
        });
    let wa_id = m
        .from
        .clone()
        .or_else(|| contact.and_then(|c| c.wa_id.clone()));
    let bsuid = m
        .from_user_id
        .clone()
        .or_else(|| contact.and_then(|c| c.user_id.clone()));
    let name = contact.and_then(|c| c.name().map(str::to_string));
    let username = contact.and_then(|c| c.username().map(str::to_string));
    (wa_id, bsuid, name, username)
}

pub(super) fn find_contact(conn: &Db, column: &str, value: Option<&str>) -> Result<Option<i64>> {
    let Some(value) = value else { return Ok(None) };
    Ok(conn
        .prepare_cached(&format!("SELECT id FROM contacts WHERE {column} = ?1"))?
        .query_row([value], |r| r.get(0))
        .optional()?)
}

/// Finds or creates the customer: by BSUID where present, by wa_id otherwise, linking the two
/// when both appear (and merging two records that turn out to be the same person), so a
/// conversation never splits when a phone number disappears behind a username.
pub fn upsert_contact(
    ctx: &mut WriteCtx<'_>,
    wa_id: Option<&str>,
    bsuid: Option<&str>,
    name: Option<&str>,
    username: Option<&str>,
) -> Result<i64> {
    let by_bsuid = find_contact(ctx.conn, "bsuid", bsuid)?;
    let by_wa = find_contact(ctx.conn, "wa_id", wa_id)?;
    let mut changed = false;
    let id = match (by_bsuid, by_wa) {
        (Some(b), Some(w)) if b == w => b,
        (Some(b), Some(w)) => {
            merge_contacts(ctx, w, b)?;
            ctx.conn.exec(
                "UPDATE contacts SET wa_id = ?2 WHERE id = ?1",
                params![b, wa_id],
            )?;
            changed = true;
            b
        }
        (Some(b), None) => {
            if wa_id.is_some() {
                ctx.conn.exec(
                    "UPDATE contacts SET wa_id = ?2 WHERE id = ?1",
                    params![b, wa_id],
                )?;
                changed = true;
            }
            b
        }
        (None, Some(w)) => {
            if bsuid.is_some() {
                ctx.conn.exec(
                    "UPDATE contacts SET bsuid = ?2 WHERE id = ?1",
                    params![w, bsuid],
                )?;
                changed = true;
            }
            w
        }
        (None, None) => {
            if wa_id.is_none() && bsuid.is_none() {
                return Err(StoreError::Invalid(
                    "message has neither a wa_id nor a BSUID".into(),
                ));
            }
            return Ok(ctx.conn.query_row(
                "INSERT INTO contacts (bsuid, wa_id, username, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
                params![bsuid, wa_id, username, name, ctx.now],
                |r| r.get(0),
            )?);
        }
    };
    let (old_name, old_username): (Option<String>, Option<String>) = ctx.conn.query_row(
        "SELECT name, username FROM contacts WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if name.is_some() && name != old_name.as_deref() {
        ctx.conn.exec(
            "UPDATE contacts SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        changed = true;
    }
    if username.is_some() && username != old_username.as_deref() {
        ctx.conn.exec(
            "UPDATE contacts SET username = ?2 WHERE id = ?1",
            params![id, username],
        )?;
        changed = true;
    }
    if changed {
        ctx.conn.exec(
            "UPDATE contacts SET updated_at = ?2 WHERE id = ?1",
            params![id, ctx.now],
        )?;
        emit_contact(ctx, id)?;
    }
    Ok(id)
}

/// Folds contact `from` into `into`: conversations move over; where both have a conversation on
/// the same number, the messages move and the emptied conversation is removed (with a
/// `conversation.merged` event so clients drop it).
fn merge_contacts(ctx: &mut WriteCtx<'_>, from: i64, into: i64) -> Result<()> {
    let convs: Vec<(i64, String)> = {
        let mut stmt = ctx
            .conn
            .prepare("SELECT id, phone_number_id FROM conversations WHERE contact_id = ?1")?;
        let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    ctx.conn
        .exec("UPDATE contacts SET wa_id = NULL WHERE id = ?1", [from])?;
    for (conv, pnid) in convs {
        let target: Option<i64> = ctx
            .conn
            .query_row(
                "SELECT id FROM conversations WHERE contact_id = ?1 AND phone_number_id = ?2",
                params![into, pnid],
                |r| r.get(0),
            )
            .optional()?;
        match target {
            None => {
                ctx.conn.exec(
                    "UPDATE conversations SET contact_id = ?2 WHERE id = ?1",
                    params![conv, into],
                )?;
                emit_conversation(ctx, conv, None)?;
            }
            Some(t) => {
                ctx.conn.exec(
                    "UPDATE messages SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![conv, t],
                )?;
                ctx.conn.exec(
                    "UPDATE outbox SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![conv, t],
                )?;
                ctx.conn.exec(
                    "UPDATE conversations SET
                        last_inbound_at = (SELECT MAX(last_inbound_at) FROM conversations WHERE id IN (?1, ?2)),
                        unread_count = unread_count + (SELECT unread_count FROM conversations WHERE id = ?1),
                        updated_at = ?3
                     WHERE id = ?2",
                    params![conv, t, ctx.now],
                )?;
                let assignee: Option<i64> = ctx.conn.query_row(
                    "SELECT assignee_id FROM conversations WHERE id = ?1",
                    [conv],
                    |r| r.get(0),
                )?;
                // Uploads made in the emptied conversation follow its messages (the foreign key
                // would otherwise refuse the delete and the webhook would be retried forever).
                ctx.conn.exec(
                    "UPDATE uploads SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![conv, t],
                )?;
                // A legal hold follows the messages it keeps.
                super::retention::move_holds(ctx.conn, "conversation_id", conv, t)?;
                ctx.conn
                    .exec("DELETE FROM conversations WHERE id = ?1", [conv])?;
                // Held (the number is not configured): supervisors and admins only.
                let audience = if is_configured(ctx.conn, &pnid)? {
                    super::events::Audience::conversation(assignee, None)
                } else {
                    super::events::Audience::supervisors()
                };
                ctx.emit(super::events::NewEvent {
                    kind: event_kind::CONVERSATION_MERGED,
                    conversation_id: Some(conv),
                    audience,
                    data: serde_json::json!({ "id": conv, "merged_into": t }),
                })?;
                emit_conversation(ctx, t, None)?;
            }
        }
    }
    // Tags and notes follow the person; the surviving snapshot carries the merged tags.
    super::contacts::merge_into(ctx, from, into)?;
    super::retention::move_holds(ctx.conn, "contact_id", from, into)?;
    ctx.conn
        .exec("DELETE FROM contacts WHERE id = ?1", [from])?;
    emit_contact(ctx, into)?;
    Ok(())
}

/// Applies one inbound message; `None` when it was a redelivery.
fn apply_message(
    ctx: &mut WriteCtx<'_>,
    v: &MessagesValue,
    m: &InboundMessage,
) -> Result<Option<InboundFact>> {
    if message_id_by_wamid(ctx.conn, &m.id)?.is_some() {
        return Ok(None);
    }
    // An edit or a deletion changes an earlier message; it is no message of its own.
    if m.content.amends().is_some() {
        super::amendments::record(ctx, &v.phone_number_id, m, false)?;
        return Ok(None);
    }
    let (wa_id, bsuid, name, username) = sender(v, m);
    let contact_id = upsert_contact(
        ctx,
        wa_id.as_deref(),
        bsuid.as_deref(),
        name.as_deref(),
        username.as_deref(),
    )?;
    if let Content::System(sys) = &m.content {
        if sys.kind.as_deref() == Some("user_changed_number") {
            if let Some(new) = sys.new_wa_id.as_deref() {
                if let Some(other) = find_contact(ctx.conn, "wa_id", Some(new))? {
                    if other != contact_id {
                        merge_contacts(ctx, other, contact_id)?;
                    }
                }
                ctx.conn.exec(
                    "UPDATE contacts SET wa_id = ?2, updated_at = ?3 WHERE id = ?1",
                    params![contact_id, new, ctx.now],
                )?;
                emit_contact(ctx, contact_id)?;
            }
        }
    }
    let at = m.timestamp.saturating_mul(1000);
    let (conv_id, before, opened) = open_conversation(ctx, &v.phone_number_id, contact_id, at)?;
    let answerable = !matches!(m.content, Content::System(_) | Content::Reaction { .. });
    if opened {
        routing::opened(ctx, conv_id, None)?;
    }
    if answerable {
        routing::customer_wrote(ctx, conv_id, at)?;
    }
    let p = message_parts(ctx.conn, m)?;
    let media = m.content.media();
    let msg_id: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO messages (conversation_id, direction, wamid, type, text, content, unsupported, reply_to, reply_to_wamid, raw, media_id, media_mime, created_at, updated_at)
             VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
        )?
        .query_row(params![
            conv_id,
            m.id,
            m.type_name,
            p.preview,
            p.content,
            p.unsupported,
            p.reply_to,
            p.reply_to_wamid,
            m.raw.to_string(),
            media.and_then(|x| x.id.clone()),
            media.and_then(|x| x.mime_type.clone()),
            at,
            ctx.now
        ], |r| r.get(0))?;
    // The file goes to the archive in the background, whether or not anyone opens it.
    if let Some(media_id) = media.and_then(|x| x.id.as_deref()) {
        super::archive::enqueue(ctx, media_id, msg_id, at)?;
    }
    let fact = InboundFact {
        conversation_id: conv_id,
        phone_number_id: v.phone_number_id.clone(),
        wa_id: wa_id.clone(),
        text: p.preview.clone(),
        // Reactions and system notices are not something to answer.
        answerable,
        opened,
        created: opened && before.is_none(),
    };
    let shown = p.shown(&m.type_name);
    ctx.conn
        .prepare_cached(
            "UPDATE conversations SET
                last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < ?2 THEN ?2 ELSE last_inbound_at END,
                last_message_preview = CASE WHEN last_message_at <= ?2 THEN ?3 ELSE last_message_preview END,
                last_message_at = CASE WHEN last_message_at < ?2 THEN ?2 ELSE last_message_at END,
                unread_count = unread_count + 1, updated_at = ?4
             WHERE id = ?1",
        )?
        .execute(params![conv_id, at, shown, ctx.now])?;
    emit_message(ctx, msg_id, event_kind::MESSAGE_CREATED)?;
    emit_conversation(ctx, conv_id, before)?;
    // Edits or a deletion that arrived before this message apply now.
    super::amendments::apply_waiting(ctx, &m.id, &v.phone_number_id)?;
    Ok(Some(fact))
}

/// What a message item stores besides its ids: its content as JSON (with the reply context,
/// referral and errors Meta sent), its one-line text, the message it quotes, and whether the
/// relay can show it. Shared by customers' messages and Coexistence's (`coexistence`).
pub(super) struct Parts {
    pub content: String,
    pub preview: String,
    pub reply_to_wamid: Option<String>,
    pub reply_to: Option<i64>,
    pub unsupported: bool,
}

impl Parts {
    /// What the conversation list shows for it: its text, or its type where it has none.
    pub fn shown(&self, type_name: &str) -> String {
        if self.preview.is_empty() {
            format!("[{type_name}]")
        } else {
            self.preview.clone()
        }
    }
}

pub(super) fn message_parts(conn: &Db, m: &InboundMessage) -> Result<Parts> {
    let reply_to_wamid = m.context.as_ref().and_then(|c| c.id.clone());
    let reply_to = match &reply_to_wamid {
        Some(w) => message_id_by_wamid(conn, w)?,
        None => None,
    };
    let mut content = serde_json::to_value(&m.content)?;
    if let Value::Object(map) = &mut content {
        if let Some(ctx_obj) = &m.context {
            map.insert("context".into(), serde_json::to_value(ctx_obj)?);
        }
        if let Some(r) = &m.referral {
            map.insert("referral".into(), r.clone());
        }
        if !m.errors.is_empty() {
            map.insert("errors".into(), serde_json::to_value(&m.errors)?);
        }
    }
    Ok(Parts {
        content: content.to_string(),
        preview: m.content.preview(),
        reply_to_wamid,
        reply_to,
        unsupported: matches!(
            m.content,
            Content::Unsupported { .. } | Content::Unknown { .. }
        ),
    })
}

/// Finds or opens the conversation of (number, customer); a resolved one reopens.
/// Returns its id, when the change could move it the assignee before, and whether it (re)opened.
fn open_conversation(
    ctx: &mut WriteCtx<'_>,
    pnid: &str,
    contact_id: i64,
    at: i64,
) -> Result<(i64, Option<Option<i64>>, bool)> {
    let existing: Option<(i64, String, Option<i64>)> = ctx
        .conn
        .prepare_cached("SELECT id, status, assignee_id FROM conversations WHERE phone_number_id = ?1 AND contact_id = ?2")?
        .query_row(params![pnid, contact_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match existing {
        Some((id, status, assignee)) => {
            let reopened = status != "open";
            if reopened {
                ctx.conn.exec(
                    "UPDATE conversations SET status = 'open', updated_at = ?2 WHERE id = ?1",
                    params![id, ctx.now],
                )?;
            }
            Ok((id, Some(assignee), reopened))
        }
        None => {
            let id: i64 = ctx
                .conn
                .prepare_cached(
                    "INSERT INTO conversations (phone_number_id, contact_id, status, last_message_at, last_message_preview, created_at, updated_at)
                     VALUES (?1, ?2, 'open', ?3, '', ?4, ?4) RETURNING id",
                )?
                .query_row(params![pnid, contact_id, at, ctx.now], |r| r.get(0))?;
            Ok((id, None, true))
        }
    }
}

/// 2026 status webhooks name the recipient by phone and BSUID: link the two on the contact.
fn link_status_contact(ctx: &mut WriteCtx<'_>, v: &MessagesValue, s: &Status) -> Result<()> {
    if let (Some(wa), Some(b)) = (&s.recipient_id, &s.recipient_user_id) {
        let known = find_contact(ctx.conn, "wa_id", Some(wa))?.or(find_contact(
            ctx.conn,
            "bsuid",
            Some(b),
        )?);
        if known.is_some() {
            let name = v
                .contacts
                .iter()
                .find(|c| c.wa_id.as_deref() == Some(wa))
                .and_then(|c| c.name().map(str::to_string));
            upsert_contact(ctx, Some(wa), Some(b), name.as_deref(), None)?;
        }
    }
    Ok(())
}

/// Bodies that could not be applied for good, newest first (for admins).
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
