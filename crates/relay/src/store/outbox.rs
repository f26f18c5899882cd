//! The durable send queue.
//!
//! A send writes the message (status `queued`), an `outbox` row and the idempotency key in one
//! job, so an acknowledged send is never lost and never queued twice. The sender takes only the
//! oldest row of each conversation (messages to one customer leave in order) whose
//! `next_attempt_at` has come. When the Graph API accepts, the wamid is recorded and the row
//! deleted in one job; statuses that overtook the response are applied then.

use crate::store::db::{params, Db, Optional};
use sha2::{Digest, Sha256};
use switchboard_protocol::api::{event_kind, DeliveryStatus, Message, SendRequest, User};

use super::events::{Audience, NewEvent};
use super::media::may_send_media;
use super::queries::{emit_conversation, emit_message, may_see};
use super::statuses::apply_orphans;
use super::{Result, StoreError, WriteCtx};
use crate::policy::{self, Compiled, ConversationFacts, Origin, Refusal};

/// One due send.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub message_id: i64,
    pub conversation_id: i64,
    pub phone_number_id: String,
    pub payload: serde_json::Value,
    pub attempts: u32,
    /// 2 agent reply, 1 automatic reply, 0 bulk.
    pub priority: i64,
    pub enqueued_at: i64,
}

pub fn request_hash(req: &SendRequest) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(req).unwrap_or_default()))
}

/// Result of [`enqueue`]: the message and whether this call created it (false: the same
/// Idempotency-Key was used before, and this is the original message).
pub struct Enqueued {
    pub message: Message,
    pub created: bool,
}

/// Who queues a message: an agent (visibility, idempotency keys and `sender_id` apply) or the
/// relay itself (auto-replies, away messages; `sender_id` stays empty).
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User(&'a User),
    System(Origin),
}

impl Actor<'_> {
    fn origin(&self) -> Origin {
        match self {
            Actor::User(_) => Origin::Agent,
            Actor::System(o) => *o,
        }
    }
    fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            Actor::System(_) => None,
        }
    }
}

/// Options of one send.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions<'a> {
    pub idempotency_key: Option<&'a str>,
    /// A supervisor allowed this message through the sensitive-word filter (audited by the
    /// caller). Window and template rules still apply.
    pub skip_word_filter: bool,
}

/// Queues an outbound message, after the outbound policy allowed it. This is the only way into
/// the queue: every path (agent replies, auto-replies, away messages) passes [`policy::check`]
/// here. `build_payload(to, recipient_is_bsuid, reply_wamid)` makes the Graph API body.
///
/// A refusal is an `Ok(Err(..))`: the job still commits, because a sensitive-word refusal is
/// recorded (`policy_blocks`) and reported to supervisors (`policy.blocked`). A person's send
/// fails with [`StoreError::NotFound`] (nothing queued) when they may not see the conversation,
/// or when it names a media id [`may_send_media`] does not allow them.
pub fn enqueue(
    ctx: &mut WriteCtx<'_>,
    actor: Actor<'_>,
    conversation_id: i64,
    req: &SendRequest,
    opts: SendOptions<'_>,
    compiled: &Compiled,
    build_payload: impl FnOnce(&str, bool, Option<&str>) -> serde_json::Value,
) -> Result<std::result::Result<Enqueued, Refusal>> {
    let hash = request_hash(req);
    let idempotency_key = match actor {
        Actor::User(_) => opts.idempotency_key,
        Actor::System(_) => None,
    };
    if let (Some(key), Actor::User(user)) = (idempotency_key, actor) {
        let prior: Option<(String, i64)> = ctx
            .conn
            .query_row(
                "SELECT request_hash, message_id FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
                params![user.id, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((prior_hash, message_id)) = prior {
            if prior_hash != hash {
                return Err(StoreError::Conflict(
                    "this Idempotency-Key was already used for a different message".into(),
                ));
            }
            return Ok(Ok(Enqueued {
                message: super::queries::message(ctx.conn, message_id)?,
                created: false,
            }));
        }
    }
    if let Actor::User(user) = actor {
        if !may_see(ctx.conn, user, conversation_id)? {
            return Err(StoreError::NotFound(format!(
                "conversation {conversation_id}"
            )));
        }
        // A media id is a reference anyone could name: only files uploaded for this
        // conversation, or carried by a message the user may see now, go out.
        if let Some(media_id) = req.media_id() {
            if !may_send_media(ctx.conn, user, conversation_id, media_id)? {
                return Err(StoreError::NotFound(format!("media {media_id}")));
            }
        }
    }
    let (pnid, wa_id, bsuid, last_inbound_at, waba_id): (
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    ) = ctx.conn.query_row(
        "SELECT c.phone_number_id, k.wa_id, k.bsuid, c.last_inbound_at, p.waba_id FROM conversations c
         JOIN contacts k ON k.id = c.contact_id LEFT JOIN phone_numbers p ON p.phone_number_id = c.phone_number_id
         WHERE c.id = ?1",
        [conversation_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    // The outbound policy, decided on the data this job writes with.
    let known = match (&waba_id, req) {
        (Some(w), _) => super::policy::templates(ctx.conn, w)?,
        (None, _) => Vec::new(),
    };
    let facts = ConversationFacts {
        phone_number_id: pnid.clone(),
        waba_id,
        last_inbound_at,
        // Only looked up when a per-language sensitive-word list exists.
        language: if compiled.filter.by_language.is_empty() {
            None
        } else {
            Some(super::policy::conversation_language(
                ctx.conn,
                conversation_id,
            )?)
        },
    };
    if let Err(mut refusal) = policy::check(
        ctx.now,
        compiled,
        &facts,
        req,
        &known,
        opts.skip_word_filter,
    ) {
        if refusal.code == "sensitive_word" {
            let matched = refusal.matched.clone().unwrap_or_default();
            let origin = actor.origin().as_str();
            let block_id = super::policy::insert_block(
                ctx.conn,
                conversation_id,
                actor.user_id(),
                origin,
                req,
                &refusal.code,
                &matched,
                ctx.now,
            )?;
            refusal.block_id = Some(block_id);
            // Supervisors and admins only (an empty audience admits no agent).
            ctx.emit(NewEvent {
                kind: event_kind::POLICY_BLOCKED,
                conversation_id: Some(conversation_id),
                audience: Audience::supervisors(),
                data: serde_json::json!({
                    "block_id": block_id,
                    "conversation_id": conversation_id,
                    "user_id": actor.user_id(),
                    "origin": origin,
                    "code": refusal.code,
                    "matched": matched,
                    "text": req.preview(),
                    "request": req,
                }),
            })?;
        }
        return Ok(Err(*refusal));
    }
    let (to, is_bsuid) = match (wa_id, bsuid) {
        (Some(w), _) => (w, false),
        (None, Some(b)) => (b, true),
        (None, None) => {
            return Err(StoreError::Invalid(
                "the customer has no address to send to".into(),
            ))
        }
    };
    let reply_wamid: Option<String> = match req.reply_to() {
        None => None,
        Some(id) => {
            let found: Option<(i64, Option<String>)> = ctx
                .conn
                .query_row(
                    "SELECT conversation_id, wamid FROM messages WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match found {
                Some((c, Some(w))) if c == conversation_id => Some(w),
                Some((c, None)) if c == conversation_id => {
                    return Err(StoreError::Invalid(format!(
                        "message {id} has not reached WhatsApp yet and cannot be quoted"
                    )))
                }
                _ => {
                    return Err(StoreError::Invalid(format!(
                        "reply_to {id} is not a message of this conversation"
                    )))
                }
            }
        }
    };
    let payload = build_payload(&to, is_bsuid, reply_wamid.as_deref());
    let preview = req.preview();
    let origin = actor.origin();
    let message_id: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO messages (conversation_id, direction, type, text, content, unsupported, status, status_at, reply_to, reply_to_wamid, sender_id, client_id, origin, media_id, media_mime, created_at, updated_at)
             VALUES (?1, 'out', ?2, ?3, ?4, 0, 'queued', ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT mime FROM uploads WHERE media_id = ?11), ?5, ?5) RETURNING id",
        )?
        .query_row(params![
            conversation_id,
            req.type_name(),
            preview,
            serde_json::to_string(req)?,
            ctx.now,
            req.reply_to(),
            reply_wamid,
            actor.user_id(),
            idempotency_key,
            origin.as_str(),
            req.media_id()
        ], |r| r.get(0))?;
    ctx.conn.prepare_cached(
        "INSERT INTO outbox (message_id, conversation_id, phone_number_id, payload, next_attempt_at, priority, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
    )?.execute(
        params![message_id, conversation_id, pnid, payload.to_string(), ctx.now, origin.priority()],
    )?;
    if let (Some(key), Some(uid)) = (idempotency_key, actor.user_id()) {
        ctx.conn.execute(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, message_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uid, key, hash, message_id, ctx.now],
        )?;
    }
    ctx.conn.prepare_cached(
        "UPDATE conversations SET last_message_at = CASE WHEN last_message_at > ?2 THEN last_message_at ELSE ?2 END, last_message_preview = ?3, updated_at = ?2 WHERE id = ?1",
    )?.execute(params![conversation_id, ctx.now, preview])?;
    if let Actor::User(user) = actor {
        // A person answered: first response time, and the customer no longer waits.
        super::routing::human_replied(ctx, conversation_id, user.id)?;
    }
    let message = emit_message(ctx, message_id, event_kind::MESSAGE_CREATED)?;
    emit_conversation(ctx, conversation_id, None)?;
    Ok(Ok(Enqueued {
        message,
        created: true,
    }))
}

/// The oldest queued send of each conversation that is due, skipping busy conversations;
/// higher priority first, then oldest first (so conversations take turns).
pub fn due(conn: &Db, now: i64, limit: usize, busy: &[i64]) -> Result<Vec<OutboxItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.message_id, o.conversation_id, o.phone_number_id, o.payload, o.attempts, o.priority, o.enqueued_at FROM outbox o
         WHERE o.next_attempt_at <= ?1
           AND o.message_id = (SELECT MIN(o2.message_id) FROM outbox o2 WHERE o2.conversation_id = o.conversation_id)
         ORDER BY o.priority DESC, o.message_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, (limit + busy.len()) as i64], |r| {
        let payload: String = r.get(3)?;
        Ok(OutboxItem {
            message_id: r.get(0)?,
            conversation_id: r.get(1)?,
            phone_number_id: r.get(2)?,
            payload: serde_json::from_str(&payload).unwrap_or_default(),
            attempts: r.get(4)?,
            priority: r.get(5)?,
            enqueued_at: r.get(6)?,
        })
    })?;
    let mut out = Vec::new();
    for item in rows {
        let item = item?;
        if !busy.contains(&item.conversation_id) && out.len() < limit {
            out.push(item);
        }
    }
    Ok(out)
}

/// When the next queued send becomes due, if any.
pub fn next_due_at(conn: &Db) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT MIN(next_attempt_at) FROM outbox", (), |r| r.get(0))?)
}

/// When the next queued send not yet due becomes due, if any.
pub fn next_due_after(conn: &Db, now: i64) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE next_attempt_at > ?1",
        [now],
        |r| r.get(0),
    )?)
}

pub fn depth(conn: &Db) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM outbox", (), |r| r.get(0))?)
}

pub use switchboard_protocol::policy::QueueStats;

pub fn queue_stats(conn: &Db) -> Result<Vec<QueueStats>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, priority, COUNT(*), MIN(enqueued_at) FROM outbox GROUP BY phone_number_id, priority ORDER BY phone_number_id, priority DESC",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(QueueStats {
            phone_number_id: r.get(0)?,
            priority: r.get(1)?,
            depth: r.get(2)?,
            oldest_enqueued_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// The Graph API accepted the message: record its wamid and take it off the queue.
pub fn accepted(ctx: &mut WriteCtx<'_>, message_id: i64, wamid: &str) -> Result<()> {
    ctx.conn
        .execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?;
    ctx.conn.execute(
        "UPDATE messages SET wamid = ?2, updated_at = ?3 WHERE id = ?1",
        params![message_id, wamid, ctx.now],
    )?;
    emit_message(ctx, message_id, event_kind::MESSAGE_UPDATED)?;
    apply_orphans(ctx, wamid, message_id)?;
    Ok(())
}

pub fn retry_later(
    ctx: &mut WriteCtx<'_>,
    message_id: i64,
    attempts: u32,
    next_at: i64,
    error: &str,
) -> Result<()> {
    ctx.conn.execute(
        "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE message_id = ?1",
        params![message_id, attempts, next_at, error],
    )?;
    Ok(())
}

/// A terminal failure: the message shows Meta's code and reason; the queue moves on.
pub fn failed(
    ctx: &mut WriteCtx<'_>,
    message_id: i64,
    code: i64,
    title: &str,
    details: Option<&str>,
) -> Result<()> {
    if ctx
        .conn
        .execute("DELETE FROM outbox WHERE message_id = ?1", [message_id])?
        == 0
    {
        return Ok(()); // settled meanwhile
    }
    ctx.conn.execute(
        "UPDATE messages SET status = ?2, status_at = ?3, updated_at = ?3, error_code = ?4, error_title = ?5, error_details = ?6 WHERE id = ?1",
        params![message_id, DeliveryStatus::Failed.as_str(), ctx.now, code, title, details],
    )?;
    emit_message(ctx, message_id, event_kind::MESSAGE_UPDATED)?;
    Ok(())
}
