//! Coexistence: the business also answers from the WhatsApp Business app on its phone.
//!
//! - **Echoes** (`smb_message_echoes`): a message the business sent from the phone app is stored
//!   as an outbound message of origin `phone_app` (status `sent`; status webhooks move it on,
//!   also those that arrived before it, parked as orphans). It is the business's reply: the
//!   customer no longer waits and the period's first response is taken at the echo's time (no
//!   agent is credited). It neither reopens nor routes a conversation; one the phone app starts
//!   is created resolved, so it waits for the customer's answer like any other. Echoes of type
//!   `edit`/`revoke` amend what the phone app sent (`amendments`).
//! - **History** (`history`): messages of up to 180 days before onboarding are stored with origin
//!   `history`, at their own times: they never trigger automations or routing, never count as
//!   unread, reopen nothing and move a conversation's place in the inbox only where they are
//!   newer than what it shows. Conversations that exist only in history are created resolved.
//!   Media come first as `media_placeholder` and are filled in when the follow-up chunk brings
//!   them. Progress (phase, chunk, percent) or the business's refusal is kept per number in
//!   `history_imports` for admins.
//! - **Contact sync** (`smb_app_state_sync`): the name the business saved for a customer in the
//!   phone app becomes the customer's `app_name` (`remove` clears it); a contact the relay did
//!   not know is created, so the team finds them.
//!
//! Every part is idempotent: a message is keyed by its wamid, a redelivered body changes nothing.

use switchboard_protocol::api::{event_kind, origin};
use switchboard_protocol::webhook::{
    Content, Echo, EchoesValue, HistoryValue, InboundMessage, StateSyncValue,
};

use super::db::{params, Optional};
use super::ingest::{message_parts, record_account_event, upsert_contact};
use super::queries::{emit_contact, emit_conversation, emit_message, message_id_by_wamid};
use super::statuses::apply_orphans;
use super::{Result, WriteCtx};

/// Direction and bookkeeping of one stored message from Coexistence.
struct Incoming<'a> {
    pnid: &'a str,
    contact_id: i64,
    message: &'a InboundMessage,
    outbound: bool,
    origin: &'static str,
    /// Delivery state of an outbound message.
    status: Option<&'a str>,
}

pub fn apply_echoes(ctx: &mut WriteCtx<'_>, v: &EchoesValue) -> Result<usize> {
    let mut stored = 0;
    for e in &v.echoes {
        if e.message.content.amends().is_some() {
            super::amendments::record(ctx, &v.phone_number_id, &e.message, true)?;
            continue;
        }
        let Some(contact_id) = echo_contact(ctx, v, e)? else {
            continue;
        };
        let incoming = Incoming {
            pnid: &v.phone_number_id,
            contact_id,
            message: &e.message,
            outbound: true,
            origin: origin::PHONE_APP,
            status: Some("sent"),
        };
        let Some((conv, msg)) = store(ctx, &incoming)? else {
            continue;
        };
        // A reaction or a notice is no answer (as for customers).
        if !matches!(
            e.message.content,
            Content::Reaction { .. } | Content::System(_)
        ) {
            super::routing::phone_app_replied(ctx, conv, e.message.timestamp.saturating_mul(1000))?;
        }
        emit_conversation(ctx, conv, None)?;
        settle(ctx, &v.phone_number_id, &e.message.id, msg)?;
        stored += 1;
    }
    Ok(stored)
}

/// Statuses that overtook a message, then edits or a deletion that did.
fn settle(ctx: &mut WriteCtx<'_>, pnid: &str, wamid: &str, msg: i64) -> Result<()> {
    apply_orphans(ctx, wamid, msg)?;
    super::amendments::apply_waiting(ctx, wamid, pnid)
}

/// The customer an echo went to; `None` (logged) when it names nobody.
fn echo_contact(ctx: &mut WriteCtx<'_>, v: &EchoesValue, e: &Echo) -> Result<Option<i64>> {
    let profile = v.contacts.iter().find(|c| {
        (c.wa_id.is_some() && c.wa_id == e.to) || (c.user_id.is_some() && c.user_id == e.to_user_id)
    });
    let wa_id =
        e.to.clone()
            .or_else(|| profile.and_then(|c| c.wa_id.clone()));
    let bsuid = e
        .to_user_id
        .clone()
        .or_else(|| profile.and_then(|c| c.user_id.clone()));
    if wa_id.is_none() && bsuid.is_none() {
        tracing::warn!(wamid = %e.message.id, "an echo names no customer: kept in the inbox only");
        return Ok(None);
    }
    let username = profile.and_then(|c| c.username().map(str::to_string));
    Ok(Some(upsert_contact(
        ctx,
        wa_id.as_deref(),
        bsuid.as_deref(),
        None,
        username.as_deref(),
    )?))
}

/// The conversation of (number, customer), created resolved when there is none: a message from
/// the phone app or the history opens nothing for the team.
fn conversation_for(ctx: &mut WriteCtx<'_>, pnid: &str, contact_id: i64, at: i64) -> Result<i64> {
    let existing: Option<i64> = ctx
        .conn
        .prepare_cached(
            "SELECT id FROM conversations WHERE phone_number_id = ?1 AND contact_id = ?2",
        )?
        .query_row(params![pnid, contact_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    Ok(ctx.conn.query_row(
        "INSERT INTO conversations (phone_number_id, contact_id, status, last_message_at, last_message_preview, resolved_at, created_at, updated_at)
         VALUES (?1, ?2, 'resolved', ?3, '', ?4, ?4, ?4) RETURNING id",
        params![pnid, contact_id, at, ctx.now],
        |r| r.get(0),
    )?)
}

/// Stores one message (once per wamid) and moves the conversation's preview forward where it is
/// newer. Returns the conversation and the message, or `None` for a message already stored.
fn store(ctx: &mut WriteCtx<'_>, i: &Incoming<'_>) -> Result<Option<(i64, i64)>> {
    let m = i.message;
    if message_id_by_wamid(ctx.conn, &m.id)?.is_some() {
        return Ok(None);
    }
    let at = m.timestamp.saturating_mul(1000);
    let conv = conversation_for(ctx, i.pnid, i.contact_id, at)?;
    let media = m.content.media();
    let p = message_parts(ctx.conn, m)?;
    let id: i64 = ctx.conn.query_row(
        "INSERT INTO messages (conversation_id, direction, wamid, type, text, content, unsupported, status, status_at, reply_to, reply_to_wamid, raw, media_id, media_mime, origin, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?9, ?16) RETURNING id",
        params![
            conv,
            if i.outbound { "out" } else { "in" },
            m.id,
            m.type_name,
            p.preview,
            p.content,
            p.unsupported,
            i.status,
            at,
            p.reply_to,
            p.reply_to_wamid,
            m.raw.to_string(),
            media.and_then(|x| x.id.clone()),
            media.and_then(|x| x.mime_type.clone()),
            i.origin,
            ctx.now
        ],
        |r| r.get(0),
    )?;
    let shown = p.shown(&m.type_name);
    ctx.conn.exec(
        "UPDATE conversations SET
            last_inbound_at = CASE WHEN ?4 = 0 THEN last_inbound_at
                                   WHEN last_inbound_at IS NULL OR last_inbound_at < ?2 THEN ?2 ELSE last_inbound_at END,
            last_message_preview = CASE WHEN last_message_at <= ?2 THEN ?3 ELSE last_message_preview END,
            last_message_at = CASE WHEN last_message_at < ?2 THEN ?2 ELSE last_message_at END,
            updated_at = ?5
         WHERE id = ?1",
        params![conv, at, shown, i64::from(!i.outbound), ctx.now],
    )?;
    emit_message(ctx, id, event_kind::MESSAGE_CREATED)?;
    // The relay has no copy of what the phone app sent either: archive both directions.
    if let Some(media_id) = media.and_then(|x| x.id.as_deref()) {
        super::archive::enqueue(ctx, media_id, id, at)?;
    }
    Ok(Some((conv, id)))
}

/// `history_context.status` as a delivery state of an outbound message.
fn history_status(s: Option<&str>) -> &'static str {
    match s {
        Some("delivered") => "delivered",
        Some("read") => "read",
        Some("played") => "played",
        Some("error") => "failed",
        // Pending on the phone then; nothing will move it on: as far as anyone knows, sent.
        _ => "sent",
    }
}

pub fn apply_history(ctx: &mut WriteCtx<'_>, v: &HistoryValue) -> Result<usize> {
    let pnid = v.phone_number_id.as_str();
    let mut stored = 0;
    for chunk in &v.chunks {
        if let Some(e) = chunk.errors.first() {
            let why = e.details().or(e.title()).unwrap_or("history not shared");
            record_progress(
                ctx,
                pnid,
                -1,
                None,
                None,
                0,
                Some(&format!("{} ({})", why, e.code)),
            )?;
            record_account_event(
                ctx,
                Some(pnid),
                "history.errors",
                &serde_json::to_value(&chunk.errors)?,
            )?;
            continue;
        }
        let mut in_chunk = 0;
        for t in &chunk.threads {
            let c = &t.customer;
            if c.wa_id.is_none() && c.user_id.is_none() {
                tracing::warn!(
                    phone_number_id = pnid,
                    "a history thread names no customer: skipped"
                );
                continue;
            }
            let contact_id = upsert_contact(
                ctx,
                c.wa_id.as_deref(),
                c.user_id.as_deref(),
                None,
                c.username.as_deref(),
            )?;
            let mut conv = None;
            for hm in &t.messages {
                let i = Incoming {
                    pnid,
                    contact_id,
                    message: &hm.message,
                    outbound: hm.from_business,
                    origin: origin::HISTORY,
                    status: hm
                        .from_business
                        .then(|| history_status(hm.status.as_deref())),
                };
                if let Some((c, msg)) = store(ctx, &i)? {
                    settle(ctx, pnid, &hm.message.id, msg)?;
                    conv = Some(c);
                    in_chunk += 1;
                }
            }
            if let Some(conv) = conv {
                emit_conversation(ctx, conv, None)?;
            }
        }
        stored += in_chunk;
        record_progress(
            ctx,
            pnid,
            chunk.phase.unwrap_or(0),
            chunk.chunk_order,
            chunk.progress,
            in_chunk as i64,
            None,
        )?;
    }
    // The follow-up chunk: media for earlier placeholders (the customer's in `messages`, the
    // business's in `message_echoes`). Webhooks are unordered: media whose placeholder has not
    // come yet is stored as the history message it is, and the placeholder then finds it there.
    for m in &v.messages {
        let who = (m.from.clone(), m.from_user_id.clone());
        stored += fill_or_store(ctx, pnid, m, who, false)? as usize;
    }
    for e in &v.echoes {
        let who = (e.to.clone(), e.to_user_id.clone());
        stored += fill_or_store(ctx, pnid, &e.message, who, true)? as usize;
    }
    Ok(stored)
}

/// Replaces a `media_placeholder` message with the media a follow-up history chunk brought, or
/// stores the media as a history message when its placeholder is not here.
fn fill_or_store(
    ctx: &mut WriteCtx<'_>,
    pnid: &str,
    m: &InboundMessage,
    (wa_id, bsuid): (Option<String>, Option<String>),
    outbound: bool,
) -> Result<bool> {
    let Some(id) = message_id_by_wamid(ctx.conn, &m.id)? else {
        let (wa_id, bsuid) = (wa_id.filter(|w| !w.is_empty()), bsuid);
        if wa_id.is_none() && bsuid.is_none() {
            tracing::warn!(wamid = %m.id, "history media names no customer: skipped");
            return Ok(false);
        }
        let contact_id = upsert_contact(ctx, wa_id.as_deref(), bsuid.as_deref(), None, None)?;
        let i = Incoming {
            pnid,
            contact_id,
            message: m,
            outbound,
            origin: origin::HISTORY,
            status: outbound.then_some("sent"),
        };
        return Ok(match store(ctx, &i)? {
            Some((conv, msg)) => {
                settle(ctx, pnid, &m.id, msg)?;
                emit_conversation(ctx, conv, None)?;
                true
            }
            None => false,
        });
    };
    let media = m.content.media();
    let p = message_parts(ctx.conn, m)?;
    let changed = ctx.conn.exec(
        "UPDATE messages SET type = ?2, text = ?3, content = ?4, raw = ?5, media_id = ?6, media_mime = ?7, unsupported = ?8, updated_at = ?9
         WHERE id = ?1 AND type = 'media_placeholder'",
        params![
            id,
            m.type_name,
            p.preview,
            p.content,
            m.raw.to_string(),
            media.and_then(|x| x.id.clone()),
            media.and_then(|x| x.mime_type.clone()),
            p.unsupported,
            ctx.now
        ],
    )?;
    if changed > 0 {
        let msg = emit_message(ctx, id, event_kind::MESSAGE_UPDATED)?;
        if let Some(media_id) = media.and_then(|x| x.id.as_deref()) {
            super::archive::enqueue(ctx, media_id, id, m.timestamp.saturating_mul(1000))?;
        }
        // The list shows the latest message: follow the placeholder's fill.
        let shown = p.shown(&m.type_name);
        let n = ctx.conn.exec(
            "UPDATE conversations SET last_message_preview = ?2, updated_at = ?3
             WHERE id = ?1 AND last_message_at = ?4 AND last_message_preview <> ?2",
            params![msg.conversation_id, shown, ctx.now, msg.created_at],
        )?;
        if n > 0 {
            emit_conversation(ctx, msg.conversation_id, None)?;
        }
    }
    Ok(changed > 0)
}

/// The history imports of every number, by number and phase.
pub fn history_imports(
    conn: &super::db::Db,
) -> Result<Vec<switchboard_protocol::admin::HistoryImport>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, phase, chunk_order, progress, messages, error, updated_at
         FROM history_imports ORDER BY phone_number_id, phase",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(switchboard_protocol::admin::HistoryImport {
            phone_number_id: r.get(0)?,
            phase: r.get(1)?,
            chunk_order: r.get(2)?,
            progress: r.get(3)?,
            messages: r.get(4)?,
            error: r.get(5)?,
            updated_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

#[allow(clippy::too_many_arguments)]
fn record_progress(
    ctx: &mut WriteCtx<'_>,
    pnid: &str,
    phase: i64,
    chunk_order: Option<i64>,
    progress: Option<i64>,
    messages: i64,
    error: Option<&str>,
) -> Result<()> {
    ctx.conn.exec(
        "INSERT INTO history_imports (phone_number_id, phase, chunk_order, progress, messages, error, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (phone_number_id, phase) DO UPDATE SET
            chunk_order = CASE WHEN history_imports.chunk_order IS NULL OR excluded.chunk_order > history_imports.chunk_order
                               THEN excluded.chunk_order ELSE history_imports.chunk_order END,
            progress = CASE WHEN history_imports.progress IS NULL OR excluded.progress > history_imports.progress
                            THEN excluded.progress ELSE history_imports.progress END,
            messages = history_imports.messages + excluded.messages,
            error = excluded.error,
            updated_at = excluded.updated_at",
        params![pnid, phase, chunk_order, progress, messages, error, ctx.now],
    )?;
    Ok(())
}

pub fn apply_state_sync(ctx: &mut WriteCtx<'_>, v: &StateSyncValue) -> Result<usize> {
    let mut applied = 0;
    for item in &v.items {
        if item.kind != "contact" || (item.phone_number.is_none() && item.user_id.is_none()) {
            continue;
        }
        let app_name = match item.action.as_str() {
            "add" => item.full_name.clone().or_else(|| item.first_name.clone()),
            "remove" => None,
            other => {
                tracing::warn!(action = other, "unknown contact sync action: skipped");
                continue;
            }
        };
        let known =
            super::ingest::find_contact(ctx.conn, "wa_id", item.phone_number.as_deref())?.or(
                super::ingest::find_contact(ctx.conn, "bsuid", item.user_id.as_deref())?,
            );
        let id = match known {
            Some(id) => id,
            None if app_name.is_none() => continue,
            None => upsert_contact(
                ctx,
                item.phone_number.as_deref(),
                item.user_id.as_deref(),
                None,
                item.username.as_deref(),
            )?,
        };
        let changed = ctx.conn.exec(
            "UPDATE contacts SET app_name = ?2, updated_at = ?3 WHERE id = ?1 AND app_name IS DISTINCT FROM ?2",
            params![id, app_name, ctx.now],
        )?;
        if changed > 0 {
            emit_contact(ctx, id)?;
            applied += 1;
        }
    }
    Ok(applied)
}
