//! Retention per business number and legal holds: the SQL of the purge (`crate::retention` runs
//! it on the leader, a small step per write job so ingest never waits long) and of the holds.
//!
//! A purge first reads the event log in order from the number's cursor (`events_purged_seq`)
//! and takes its conversations' events older than the cutoff ([`purge_events_step`]); then,
//! conversation by conversation (looked up by id in windows), the messages created before the
//! cutoff with what only they referenced: amendments, parked statuses, archived media,
//! idempotency keys ([`purge_step`]). The conversation itself stays, with a tombstone counting
//! what went (`conversation_tombstones`), an empty preview once its last message is gone, and a
//! fresh snapshot in the log. A conversation on hold (its own hold or its customer's) is skipped.
//! Raw webhook bodies are read in order from one cursor for all numbers ([`purge_bodies`]); they
//! keep their SHA-256 (a replayed body is still recognised) but lose their bytes. When a number's
//! purge finishes, `retention.purged` tells every client to drop the same.

use serde_json::json;
use switchboard_protocol::api::event_kind;
use switchboard_protocol::governance::{LegalHold, Retention, RetentionPurged};

use super::db::{params, placeholders, Db, Optional};
use super::events::{Audience, NewEvent};
use super::{Result, StoreError, WriteCtx};

/// "Conversation `c` is on hold", for queries over `conversations c`.
pub const HELD_SQL: &str = "(EXISTS (SELECT 1 FROM legal_holds h WHERE h.conversation_id = c.id)
     OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.contact_id = c.contact_id))";

/// Sets a number's retention (`None`: forever). The number must exist.
pub fn set_retention(conn: &Db, phone_number_id: &str, days: Option<i64>) -> Result<()> {
    let n = conn.execute(
        "UPDATE phone_numbers SET retention_days = ?2, events_purged_seq = 0 WHERE phone_number_id = ?1",
        params![phone_number_id, days],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("number {phone_number_id}")));
    }
    // What a longer retention kept may be due now: the next passes read from the start.
    reset_cursors(conn)
}

/// The next purge reads the event log and the inbox from their start (what was passed over
/// because it was kept may be due now: a retention changed, a hold was released).
fn reset_cursors(conn: &Db) -> Result<()> {
    conn.execute("UPDATE phone_numbers SET events_purged_seq = 0", ())?;
    conn.execute(
        "UPDATE retention_state SET inbox_purged_id = 0 WHERE id = 1",
        (),
    )?;
    Ok(())
}

pub fn list_retention(conn: &Db) -> Result<Vec<Retention>> {
    let mut stmt = conn.prepare(
        "SELECT p.phone_number_id, p.display_phone_number, p.name, p.retention_days, p.retention_cutoff,
            (SELECT COUNT(*) FROM conversation_tombstones t WHERE t.phone_number_id = p.phone_number_id),
            (SELECT COALESCE(SUM(t.messages_in + t.messages_out), 0) FROM conversation_tombstones t WHERE t.phone_number_id = p.phone_number_id)
         FROM phone_numbers p ORDER BY p.configured DESC, p.name, p.phone_number_id",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(Retention {
            phone_number_id: r.get(0)?,
            display_phone_number: r.get(1)?,
            name: r.get(2)?,
            days: r.get(3)?,
            purged_before: r.get(4)?,
            purged_conversations: r.get(5)?,
            purged_messages: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Numbers with a finite retention: `(phone_number_id, days)`.
pub fn with_retention(conn: &Db) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT phone_number_id, retention_days FROM phone_numbers WHERE retention_days IS NOT NULL ORDER BY phone_number_id",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Where a number's purge stands between write jobs.
#[derive(Debug, Clone)]
pub struct PurgeCursor {
    pub phone_number_id: String,
    pub cutoff: i64,
    /// Conversations up to this id are done. (For the webhook bodies' pass, which belongs to no
    /// one number, `phone_number_id` is empty and `cutoff` the latest of all.)
    pub after_conversation: i64,
    /// Webhook bodies up to this inbox id were looked at.
    pub after_inbox: i64,
    /// Events up to this seq were looked at (the number's `events_purged_seq`).
    pub after_event: i64,
}

impl PurgeCursor {
    /// A number's purge up to `cutoff`, from where the last one left the event log.
    pub fn start(conn: &Db, phone_number_id: &str, cutoff: i64) -> Result<PurgeCursor> {
        let after_event: i64 = conn
            .prepare_cached(
                "SELECT events_purged_seq FROM phone_numbers WHERE phone_number_id = ?1",
            )?
            .query_row([phone_number_id], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        Ok(PurgeCursor {
            phone_number_id: phone_number_id.to_string(),
            cutoff,
            after_conversation: 0,
            after_inbox: 0,
            after_event,
        })
    }

    /// The webhook bodies' pass (no one number; `cutoff` the latest of all), from where the last
    /// one left the inbox.
    pub fn bodies(conn: &Db, cutoff: i64) -> Result<PurgeCursor> {
        let after_inbox: i64 = conn.query_row(
            "SELECT inbox_purged_id FROM retention_state WHERE id = 1",
            (),
            |r| r.get(0),
        )?;
        Ok(PurgeCursor {
            phone_number_id: String::new(),
            cutoff,
            after_conversation: 0,
            after_inbox,
            after_event: 0,
        })
    }
}

/// What one step removed.
#[derive(Debug, Default, Clone)]
pub struct Step {
    pub messages: usize,
    pub events: usize,
    pub bodies: usize,
    /// Media files to delete from the archive and the cache once the step committed.
    pub media_ids: Vec<String>,
    pub done: bool,
}

/// Conversations looked at per window of a step.
const WINDOW: usize = 200;

/// Purges at most about `budget` rows of the number's conversations past the cursor (each
/// conversation looked at counts as one).
pub fn purge_step(ctx: &mut WriteCtx<'_>, cur: &mut PurgeCursor, budget: usize) -> Result<Step> {
    let mut step = Step::default();
    let mut left = budget;
    // Every step moves on (a conversation done, a message purged or a window passed), however
    // small the budget.
    let mut progressed = false;
    'windows: while left > 0 || !progressed {
        // The next conversations by id (of any number), then those of this number with something
        // past the cutoff among them: looked up by id, so a step costs the same at the start and
        // at the end of a large table (a query by number would scan all the number's
        // conversations every step).
        let window: Vec<i64> = ctx
            .conn
            .prepare_cached("SELECT id FROM conversations WHERE id > ?1 ORDER BY id LIMIT ?2")?
            .query_map(params![cur.after_conversation, WINDOW as i64], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        let Some(&window_end) = window.last() else {
            step.done = true;
            break;
        };
        left = left.saturating_sub(window.len() / 10 + 1);
        let ids = placeholders(3, window.len());
        let mut args: Vec<Box<dyn super::db::ToDb>> =
            vec![Box::new(cur.phone_number_id.clone()), Box::new(cur.cutoff)];
        args.extend(
            window
                .iter()
                .map(|&id| Box::new(id) as Box<dyn super::db::ToDb>),
        );
        let refs: Vec<&dyn super::db::ToDb> = args.iter().map(|b| b.as_ref()).collect();
        // Old messages, or unchanged since before the cutoff (its last snapshot in the log is
        // about to go with the old events).
        let convs: Vec<(i64, i64, i64)> = ctx
            .conn
            .prepare_cached(&format!(
                "SELECT c.id, c.last_message_at, c.updated_at FROM conversations c
                 WHERE c.id IN ({ids}) AND c.phone_number_id = ?1 AND NOT {HELD_SQL}
                   AND (c.updated_at < ?2
                     OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.created_at < ?2))
                 ORDER BY c.id"
            ))?
            .query_map(refs.as_slice(), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<std::result::Result<_, _>>()?;
        for (conv, last_message_at, updated_at) in convs {
            if left == 0 && progressed {
                break 'windows;
            }
            let limit = left.saturating_sub(1).max(1);
            let (messages, media) = purge_messages(ctx, conv, cur.cutoff, limit)?;
            step.messages += messages;
            step.media_ids.extend(media);
            left = left.saturating_sub(1 + messages);
            progressed = true;
            if messages == limit {
                // Perhaps more: the next step looks at this conversation again.
                break 'windows;
            }
            purge_conversation_side(ctx, conv, cur.cutoff, last_message_at, updated_at)?;
            cur.after_conversation = conv;
        }
        cur.after_conversation = window_end;
        progressed = true;
    }
    step.media_ids = unreferenced(ctx.conn, std::mem::take(&mut step.media_ids))?;
    Ok(step)
}

/// The media ids no message or upload still names (their files may go).
pub(crate) fn unreferenced(conn: &Db, mut ids: Vec<String>) -> Result<Vec<String>> {
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let used = conn
            .prepare_cached(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM messages WHERE media_id = ?1)
                    OR EXISTS (SELECT 1 FROM uploads WHERE media_id = ?1)",
            )?
            .exists([id.as_str()])?;
        if !used {
            out.push(id);
        }
    }
    Ok(out)
}

/// Moves the hold on `column` = `from` to `into` (two records turned out to be one), keeping
/// one hold where both had one.
pub fn move_holds(conn: &Db, column: &str, from: i64, into: i64) -> Result<()> {
    conn.execute(
        &format!(
            "DELETE FROM legal_holds WHERE {column} = ?1 AND EXISTS (SELECT 1 FROM legal_holds h WHERE h.{column} = ?2)"
        ),
        params![from, into],
    )?;
    conn.execute(
        &format!("UPDATE legal_holds SET {column} = ?2 WHERE {column} = ?1"),
        params![from, into],
    )?;
    Ok(())
}

/// Deletes up to `limit` messages of `conv` created before `cutoff` (not those still waiting in
/// the outbox) and what only they referenced; adds them to the tombstone.
fn purge_messages(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    cutoff: i64,
    limit: usize,
) -> Result<(usize, Vec<String>)> {
    type Gone = (i64, String, Option<String>, Option<String>, i64);
    let rows: Vec<Gone> = ctx
        .conn
        .prepare_cached(
            "SELECT m.id, m.direction, m.wamid, m.media_id, m.created_at FROM messages m
             WHERE m.conversation_id = ?1 AND m.created_at < ?2
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id)
             ORDER BY m.created_at, m.id LIMIT ?3",
        )?
        .query_map(params![conv, cutoff, limit.max(1) as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    if rows.is_empty() {
        return Ok((0, Vec::new()));
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let wamids: Vec<String> = rows.iter().filter_map(|r| r.2.clone()).collect();
    let media = delete_messages(ctx.conn, &ids, &wamids)?;
    let inbound = rows.iter().filter(|r| r.1 == "in").count() as i64;
    let first = rows.iter().map(|r| r.4).min().unwrap_or(0);
    let last = rows.iter().map(|r| r.4).max().unwrap_or(0);
    ctx.conn
        .prepare_cached(
            "INSERT INTO conversation_tombstones (conversation_id, phone_number_id, messages_in, messages_out, first_message_at, last_message_at, purged_at)
             SELECT ?1, phone_number_id, ?2, ?3, ?4, ?5, ?6 FROM conversations WHERE id = ?1
             ON CONFLICT (conversation_id) DO UPDATE SET
                messages_in = conversation_tombstones.messages_in + excluded.messages_in,
                messages_out = conversation_tombstones.messages_out + excluded.messages_out,
                first_message_at = CASE WHEN excluded.first_message_at < conversation_tombstones.first_message_at
                    THEN excluded.first_message_at ELSE conversation_tombstones.first_message_at END,
                last_message_at = CASE WHEN excluded.last_message_at > conversation_tombstones.last_message_at
                    THEN excluded.last_message_at ELSE conversation_tombstones.last_message_at END,
                purged_at = excluded.purged_at",
        )?
        .execute(params![
            conv,
            inbound,
            rows.len() as i64 - inbound,
            first,
            last,
            ctx.now
        ])?;
    Ok((rows.len(), media))
}

/// Deletes messages by id with the rows that hang on them; returns their media ids (files to
/// remove after the commit). Shared by retention and erasure.
pub(crate) fn delete_messages(conn: &Db, ids: &[i64], wamids: &[String]) -> Result<Vec<String>> {
    let mut media = Vec::new();
    for chunk in ids.chunks(200) {
        let list = placeholders(1, chunk.len());
        let v = chunk.to_vec();
        let mut stmt = conn.prepare(&format!(
            "SELECT media_id FROM messages WHERE id IN ({list}) AND media_id IS NOT NULL"
        ))?;
        for m in stmt.query_map(v.clone(), |r| r.get::<String>(0))? {
            media.push(m?);
        }
        drop(stmt);
        for sql in [
            "DELETE FROM media_archive WHERE message_id IN ({list})",
            "DELETE FROM idempotency_keys WHERE message_id IN ({list})",
            "DELETE FROM outbox WHERE message_id IN ({list})",
            "DELETE FROM messages WHERE id IN ({list})",
        ] {
            conn.execute(&sql.replace("{list}", &list), v.clone())?;
        }
    }
    for chunk in wamids.chunks(200) {
        let list = placeholders(1, chunk.len());
        let v = chunk.to_vec();
        for sql in [
            "DELETE FROM message_amendments WHERE original_wamid IN ({list}) OR wamid IN ({list})",
            "DELETE FROM orphan_statuses WHERE wamid IN ({list})",
        ] {
            conn.execute(&sql.replace("{list}", &list), v.clone())?;
        }
    }
    Ok(media)
}

/// The rest of a conversation past the cutoff: blocked-message reports, uploads, the preview
/// once the last message is gone, and a current snapshot in the log when the last one is about to
/// be purged with the old events (a cache built from the log later still learns of the
/// conversation, which stays with its tombstone).
fn purge_conversation_side(
    ctx: &mut WriteCtx<'_>,
    conv: i64,
    cutoff: i64,
    last_message_at: i64,
    updated_at: i64,
) -> Result<()> {
    ctx.conn
        .prepare_cached("DELETE FROM policy_blocks WHERE conversation_id = ?1 AND created_at < ?2")?
        .execute(params![conv, cutoff])?;
    ctx.conn
        .prepare_cached("DELETE FROM uploads WHERE conversation_id = ?1 AND created_at < ?2")?
        .execute(params![conv, cutoff])?;
    let blanked = last_message_at < cutoff
        && ctx
            .conn
            .prepare_cached(
                "UPDATE conversations SET last_message_preview = '' WHERE id = ?1 AND last_message_preview <> ''",
            )?
            .execute([conv])?
            > 0;
    if blanked || updated_at < cutoff {
        ctx.conn
            .prepare_cached("UPDATE conversations SET updated_at = ?2 WHERE id = ?1")?
            .execute(params![conv, ctx.now])?;
        super::conversations::emit_conversation(ctx, conv, None)?;
    }
    Ok(())
}

/// Purges at most `budget` of the number's events older than the cutoff, reading the log in
/// order from the cursor (events are appended in time order, so the first one at or after the
/// cutoff ends the pass). Events of held conversations and of other numbers are passed over.
pub fn purge_events_step(
    ctx: &mut WriteCtx<'_>,
    cur: &mut PurgeCursor,
    budget: usize,
) -> Result<Step> {
    let rows: Vec<(i64, i64, Option<i64>)> = ctx
        .conn
        .prepare_cached(
            "SELECT seq, at, conversation_id FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![cur.after_event, budget as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut step = Step {
        done: rows.len() < budget,
        ..Step::default()
    };
    let mut ours: std::collections::HashMap<i64, bool> = std::collections::HashMap::new();
    let mut gone = Vec::new();
    for (seq, at, conv) in rows {
        if at >= cur.cutoff {
            step.done = true;
            break;
        }
        cur.after_event = seq;
        let Some(conv) = conv else { continue };
        let purge = match ours.get(&conv) {
            Some(&p) => p,
            None => {
                let p = ctx
                    .conn
                    .prepare_cached(&format!(
                        "SELECT 1 FROM conversations c WHERE c.id = ?1 AND c.phone_number_id = ?2 AND NOT {HELD_SQL}"
                    ))?
                    .exists(params![conv, cur.phone_number_id])?;
                ours.insert(conv, p);
                p
            }
        };
        if purge {
            gone.push(seq);
        }
    }
    for chunk in gone.chunks(200) {
        step.events += ctx.conn.execute(
            &format!(
                "DELETE FROM events WHERE seq IN ({})",
                placeholders(1, chunk.len())
            ),
            chunk.to_vec(),
        )?;
    }
    Ok(step)
}

/// The phone number ids a webhook body names (`entry[].changes[].value.metadata`); empty for a
/// body that does not parse.
pub fn body_numbers(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in v["entry"].as_array().into_iter().flatten() {
        for c in e["changes"].as_array().into_iter().flatten() {
            if let Some(p) = c["value"]["metadata"]["phone_number_id"].as_str() {
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
            }
        }
    }
    out
}

/// Whether a body received at `received_at` naming `numbers` is past retention: every number it
/// names is past its own cutoff (a number kept forever keeps the body); a body naming none (a
/// dead letter) follows `fallback`, the cutoff of the purge running now.
pub fn body_expired(
    numbers: &[String],
    cutoffs: &std::collections::HashMap<String, i64>,
    received_at: i64,
    fallback: i64,
) -> bool {
    if numbers.is_empty() {
        return received_at < fallback;
    }
    numbers
        .iter()
        .all(|n| cutoffs.get(n).is_some_and(|&c| received_at < c))
}

/// Empties up to `limit` raw webhook bodies received before the cursor's cutoff whose numbers
/// are all past retention (`cutoffs`: every number's cutoff now), reading the inbox in order
/// from the cursor; the first body not yet past the cutoff (or not yet applied) ends the pass.
pub fn purge_bodies(
    ctx: &mut WriteCtx<'_>,
    cur: &mut PurgeCursor,
    cutoffs: &std::collections::HashMap<String, i64>,
    limit: usize,
) -> Result<Step> {
    let rows: Vec<(i64, i64, String, Vec<u8>)> = ctx
        .conn
        .prepare_cached(
            "SELECT id, received_at, state, body FROM webhook_inbox WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![cur.after_inbox, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut step = Step {
        done: rows.len() < limit,
        ..Step::default()
    };
    for (id, received_at, state, body) in rows {
        if received_at >= cur.cutoff || state == "pending" {
            step.done = true;
            break;
        }
        cur.after_inbox = id;
        if (state == "processed" || state == "dead")
            && body_expired(&body_numbers(&body), cutoffs, received_at, cur.cutoff)
        {
            empty_body(ctx.conn, id, "purged")?;
            step.bodies += 1;
        }
    }
    ctx.conn
        .prepare_cached("UPDATE retention_state SET inbox_purged_id = ?1 WHERE id = 1")?
        .execute([cur.after_inbox])?;
    Ok(step)
}

/// Drops a stored body's bytes, keeping its hash (a replay is still recognised).
pub(crate) fn empty_body(conn: &Db, id: i64, state: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE webhook_inbox SET body = ?2, state = ?3, error = NULL WHERE id = ?1",
    )?
    .execute(params![id, Vec::<u8>::new(), state])?;
    Ok(())
}

/// Ends a number's purge: its account events past the cutoff, the cutoff recorded, and
/// `retention.purged` logged for every client (also when this run found nothing: an earlier run
/// that stopped before its end may not have announced what it removed).
pub fn finish(ctx: &mut WriteCtx<'_>, cur: &PurgeCursor) -> Result<()> {
    ctx.conn.execute(
        "DELETE FROM account_events WHERE phone_number_id = ?1 AND received_at < ?2",
        params![cur.phone_number_id, cur.cutoff],
    )?;
    ctx.conn.execute(
        "UPDATE phone_numbers SET retention_cutoff = ?2, events_purged_seq = ?3 WHERE phone_number_id = ?1",
        params![cur.phone_number_id, cur.cutoff, cur.after_event],
    )?;
    let held = held_conversations(ctx.conn, &cur.phone_number_id)?;
    ctx.emit(NewEvent {
        kind: event_kind::RETENTION_PURGED,
        conversation_id: None,
        audience: Audience {
            all_agents: true,
            users: Vec::new(),
        },
        data: serde_json::to_value(RetentionPurged {
            phone_number_id: cur.phone_number_id.clone(),
            before: cur.cutoff,
            held,
        })?,
    })?;
    Ok(())
}

/// What belongs to no number: parked statuses whose message never came, edits whose original
/// never came, account events naming no number; removed past `cutoff` (the longest finite
/// retention's).
pub fn finish_unattributed(conn: &Db, cutoff: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM orphan_statuses WHERE received_at < ?1",
        [cutoff],
    )?;
    conn.execute(
        "DELETE FROM message_amendments WHERE applied_at IS NULL AND received_at < ?1",
        [cutoff],
    )?;
    conn.execute(
        "DELETE FROM account_events WHERE phone_number_id IS NULL AND received_at < ?1",
        [cutoff],
    )?;
    Ok(())
}

/// The number's conversations on hold.
pub fn held_conversations(conn: &Db, phone_number_id: &str) -> Result<Vec<i64>> {
    let rows = conn
        .prepare(&format!(
            "SELECT c.id FROM conversations c WHERE c.phone_number_id = ?1 AND {HELD_SQL} ORDER BY c.id"
        ))?
        .query_map([phone_number_id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    Ok(rows)
}

fn hold_row(r: &super::db::Row<'_>) -> super::db::Result<LegalHold> {
    Ok(LegalHold {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        conversation_id: r.get(2)?,
        reason: r.get(3)?,
        set_by: r.get(4)?,
        set_at: r.get(5)?,
    })
}

const HOLD_COLUMNS: &str = "id, contact_id, conversation_id, reason, set_by, set_at";

pub fn list_holds(conn: &Db) -> Result<Vec<LegalHold>> {
    let rows = conn
        .prepare(&format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds ORDER BY id"
        ))?
        .query_map((), hold_row)?
        .collect::<std::result::Result<_, _>>()?;
    Ok(rows)
}

/// What a hold is on.
#[derive(Debug, Clone, Copy)]
pub enum HoldOn {
    Contact(i64),
    Conversation(i64),
}

impl HoldOn {
    fn column(self) -> (&'static str, i64) {
        match self {
            HoldOn::Contact(id) => ("contact_id", id),
            HoldOn::Conversation(id) => ("conversation_id", id),
        }
    }
}

pub fn hold(conn: &Db, on: HoldOn) -> Result<Option<LegalHold>> {
    let (col, id) = on.column();
    Ok(conn
        .prepare(&format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE {col} = ?1"
        ))?
        .query_row([id], hold_row)
        .optional()?)
}

/// Puts a customer or conversation on hold (a new reason replaces the old one); audited.
pub fn set_hold(
    ctx: &mut WriteCtx<'_>,
    on: HoldOn,
    reason: &str,
    actor: &str,
) -> Result<LegalHold> {
    let (col, id) = on.column();
    let table = match on {
        HoldOn::Contact(_) => "contacts",
        HoldOn::Conversation(_) => "conversations",
    };
    let exists = ctx
        .conn
        .prepare(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?
        .exists([id])?;
    if !exists {
        return Err(StoreError::NotFound(format!("{col} {id}")));
    }
    ctx.conn
        .execute(&format!("DELETE FROM legal_holds WHERE {col} = ?1"), [id])?;
    ctx.conn.execute(
        &format!("INSERT INTO legal_holds ({col}, reason, set_by, set_at) VALUES (?1, ?2, ?3, ?4)"),
        params![id, reason, actor, ctx.now],
    )?;
    super::audit::audit(
        ctx.conn,
        actor,
        "legal_hold.set",
        &json!({ col: id, "reason": reason }),
        ctx.now,
    )?;
    hold(ctx.conn, on)?.ok_or_else(|| StoreError::Corrupt("hold vanished".into()))
}

/// Releases a hold; `NotFound` when there was none. Audited.
pub fn release_hold(ctx: &mut WriteCtx<'_>, on: HoldOn, actor: &str) -> Result<()> {
    let (col, id) = on.column();
    let n = ctx
        .conn
        .execute(&format!("DELETE FROM legal_holds WHERE {col} = ?1"), [id])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("legal hold on {col} {id}")));
    }
    reset_cursors(ctx.conn)?;
    super::audit::audit(
        ctx.conn,
        actor,
        "legal_hold.released",
        &json!({ col: id }),
        ctx.now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn bodies_name_their_numbers() {
        let body = br#"{"entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"A"}}},{"value":{"metadata":{"phone_number_id":"B"}}},{"value":{"metadata":{"phone_number_id":"A"}}}]}]}"#;
        assert_eq!(body_numbers(body), vec!["A".to_string(), "B".to_string()]);
        assert!(body_numbers(b"not json").is_empty());
    }

    #[test]
    fn a_body_expires_when_every_number_it_names_does() {
        let cutoffs = HashMap::from([("A".to_string(), 100), ("B".to_string(), 50)]);
        let a = vec!["A".to_string()];
        let ab = vec!["A".to_string(), "B".to_string()];
        let ac = vec!["A".to_string(), "C".to_string()];
        assert!(body_expired(&a, &cutoffs, 99, 0));
        assert!(!body_expired(&a, &cutoffs, 100, 0));
        assert!(!body_expired(&ab, &cutoffs, 60, 0), "B keeps it longer");
        assert!(body_expired(&ab, &cutoffs, 40, 0));
        assert!(!body_expired(&ac, &cutoffs, 1, 0), "C keeps everything");
        assert!(
            body_expired(&[], &cutoffs, 1, 2),
            "a dead letter follows the purge"
        );
        assert!(!body_expired(&[], &cutoffs, 2, 2));
    }
}
