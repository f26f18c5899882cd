//! Applying pages of the relay's event log.
//!
//! Rules that make sync convergent whatever the chunking, duplicates or restarts:
//! - events at or below the cursor are ignored (a duplicated or replayed page changes nothing);
//! - events carry full snapshots, so within a page only the last snapshot of each object needs
//!   writing (earlier ones are skipped, which is also what makes catch-up fast);
//! - the page and the new cursor commit in one transaction.
//!
//! A conversation the user may no longer see (an agent's conversation moved to a colleague) is
//! removed with its messages; a merged conversation's messages move to the surviving one.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use switchboard_protocol::api::{event_kind, Contact, Conversation, Event, Message};
use switchboard_protocol::governance::{ContactErased, RetentionPurged};

use super::raw::{IdOnly, MessageHead, RawEvent};
use super::{set_meta, Cache};
use crate::error::Result;

/// What a page changed, for the change feed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    pub events: usize,
    pub conversations: HashSet<i64>,
    /// Conversations whose message list changed.
    pub messages: HashSet<i64>,
    pub removed: HashSet<i64>,
    pub contacts: HashSet<i64>,
    /// Local outbox rows replaced by the relay's copy.
    pub outbox_settled: usize,
    /// A contact snapshot arrived on its own (it may name no conversation held here).
    pub bare_contacts: bool,
    /// Escalation alerts stored.
    pub alerts: usize,
    /// A customer was erased: their text must not stay in the file (the search index is rebuilt
    /// and the write-ahead log emptied after the commit).
    pub erased: bool,
    pub cursor: i64,
}

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
enum Key {
    Message(i64),
    Conversation(i64),
    Contact(i64),
    Other(usize),
}

fn key(i: usize, e: &RawEvent) -> Key {
    let id = serde_json::from_str::<IdOnly>(e.data.get())
        .ok()
        .and_then(|x| x.id);
    match (e.kind.as_str(), id) {
        (event_kind::MESSAGE_CREATED | event_kind::MESSAGE_UPDATED, Some(id)) => Key::Message(id),
        (event_kind::CONVERSATION_UPDATED, Some(id)) => Key::Conversation(id),
        (event_kind::CONTACT_UPDATED, Some(id)) => Key::Contact(id),
        _ => Key::Other(i),
    }
}

impl Cache {
    /// Applies a page of events and moves the cursor to at least `next_after`, atomically.
    pub fn apply_page(&self, events: &[Event], next_after: i64) -> Result<Applied> {
        let raw: Vec<RawEvent> = events.iter().map(RawEvent::from).collect();
        self.apply_raw_page(&raw, next_after)
    }

    /// [`apply_page`](Self::apply_page) for events as received, with raw JSON snapshots.
    pub fn apply_raw_page(&self, events: &[RawEvent], next_after: i64) -> Result<Applied> {
        let result = self.apply_raw_page_inner(events, next_after);
        if result.is_err() {
            // The page rolled back: what we noted about stored contacts may not hold any more.
            self.known_contacts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
        result
    }

    fn apply_raw_page_inner(&self, events: &[RawEvent], next_after: i64) -> Result<Applied> {
        let viewer = self.viewer()?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let cursor: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'cursor'", [], |r| {
                r.get::<_, String>(0)
            })
            .map(|v| v.parse().unwrap_or(0))
            .unwrap_or(0);
        let fresh: Vec<&RawEvent> = events.iter().filter(|e| e.seq > cursor).collect();
        // Only the newest snapshot of each object in this page is written.
        let mut last: HashMap<Key, usize> = HashMap::new();
        for (i, e) in fresh.iter().enumerate() {
            last.insert(key(i, e), i);
        }
        let mut out = Applied::default();
        let mut max_seq = cursor;
        for (i, e) in fresh.iter().enumerate() {
            max_seq = max_seq.max(e.seq);
            out.events += 1;
            // Only the last snapshot of an object counts, except when applying an earlier one has
            // a side effect a later snapshot does not undo: a conversation leaving the user's view
            // drops its messages.
            if last.get(&key(i, e)) != Some(&i) && !removes_conversation(e, viewer) {
                continue;
            }
            apply_event(&tx, e, viewer, &mut out, &self.known_contacts)?;
        }
        // The cache keeps contacts only of conversations it holds: a rule on the resulting state,
        // so it gives the same cache whatever the page boundaries were. Only a removal or a bare
        // contact snapshot can leave one behind.
        if !out.removed.is_empty() || out.bare_contacts {
            let swept = tx.execute("DELETE FROM contacts WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = contacts.id)", [])?;
            if swept > 0 {
                self.known_contacts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
            }
        }
        if out.erased {
            // FTS5 keeps deleted terms in its segments until they are merged.
            tx.execute_batch(
                "INSERT INTO message_fts (message_fts) VALUES ('optimize');
                 INSERT INTO contact_fts (contact_fts) VALUES ('optimize');",
            )?;
        }
        out.cursor = max_seq.max(next_after).max(cursor);
        set_meta(&tx, "cursor", &out.cursor.to_string())?;
        tx.commit()?;
        if out.erased {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(out)
    }
}

fn removes_conversation(e: &RawEvent, viewer: Option<(i64, bool)>) -> bool {
    #[derive(serde::Deserialize)]
    struct Assignee {
        assignee_id: Option<i64>,
    }
    e.kind == event_kind::CONVERSATION_UPDATED
        && serde_json::from_str::<Assignee>(e.data.get())
            .is_ok_and(|a| !visible(viewer, a.assignee_id))
}

fn visible(viewer: Option<(i64, bool)>, assignee: Option<i64>) -> bool {
    match viewer {
        None => true,
        Some((_, sees_all)) if sees_all => true,
        Some((me, _)) => assignee.is_none() || assignee == Some(me),
    }
}

fn apply_event(
    tx: &Connection,
    e: &RawEvent,
    viewer: Option<(i64, bool)>,
    out: &mut Applied,
    known: &std::sync::Mutex<HashMap<i64, i64>>,
) -> Result<()> {
    match e.kind.as_str() {
        event_kind::MESSAGE_CREATED | event_kind::MESSAGE_UPDATED => {
            let m: MessageHead<'_> = serde_json::from_str(e.data.get())?;
            upsert_message_raw(
                tx,
                m.id,
                m.conversation_id,
                &m.text,
                m.client_id.as_deref(),
                e.data.get(),
            )?;
            if let Some(cid) = &m.client_id {
                out.outbox_settled +=
                    tx.execute("DELETE FROM outbox WHERE client_id = ?1", [cid.as_ref()])?;
            }
            out.messages.insert(m.conversation_id);
        }
        event_kind::CONVERSATION_UPDATED => {
            let c: Conversation = serde_json::from_str(e.data.get())?;
            if visible(viewer, c.assignee_id) {
                // Every conversation snapshot repeats its contact; write it only when it changed.
                let mut known = known.lock().unwrap_or_else(|p| p.into_inner());
                if known
                    .get(&c.contact.id)
                    .is_none_or(|&at| at < c.contact.updated_at)
                {
                    upsert_contact(tx, &c.contact)?;
                    known.insert(c.contact.id, c.contact.updated_at);
                }
                drop(known);
                upsert_conversation(tx, &c)?;
                out.conversations.insert(c.id);
                out.contacts.insert(c.contact.id);
            } else {
                remove_conversation(tx, c.id)?;
                out.removed.insert(c.id);
            }
        }
        event_kind::CONVERSATION_MERGED => {
            let v: serde_json::Value = serde_json::from_str(e.data.get())?;
            let from = v.get("id").and_then(|v| v.as_i64());
            let into = v.get("merged_into").and_then(|v| v.as_i64());
            if let (Some(from), Some(into)) = (from, into) {
                tx.execute(
                    "UPDATE messages SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![from, into],
                )?;
                tx.execute(
                    "UPDATE outbox SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![from, into],
                )?;
                tx.execute(
                    "UPDATE alerts SET conversation_id = ?2 WHERE conversation_id = ?1",
                    params![from, into],
                )?;
                tx.execute("DELETE FROM conversations WHERE id = ?1", [from])?;
                out.removed.insert(from);
                out.messages.insert(into);
            }
        }
        event_kind::CONTACT_UPDATED => {
            let c: Contact = serde_json::from_str(e.data.get())?;
            upsert_contact(tx, &c)?;
            known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&c.id);
            out.bare_contacts = true;
            out.contacts.insert(c.id);
        }
        // Notes are kept as received (the relay sent only what the user could see then), also
        // when their customer leaves the cache: a rule that does not depend on page boundaries.
        event_kind::NOTE_CREATED => {
            let n: NoteHead = serde_json::from_str(e.data.get())?;
            tx.prepare_cached(
                "INSERT INTO notes (id, contact_id, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, data = excluded.data",
            )?
            .execute(params![n.id, n.contact_id, e.data.get()])?;
            out.contacts.insert(n.contact_id);
        }
        event_kind::CONVERSATION_WAITING | event_kind::CONVERSATION_OVERDUE => {
            let a: AlertHead = serde_json::from_str(e.data.get())?;
            // A waiting alert is for its agent: a supervisor, who may see every event, keeps only
            // those of conversations nobody holds (held numbers) and the overdue alerts.
            let someone_elses =
                matches!((viewer, a.assignee_id), (Some((me, _)), Some(a)) if a != me);
            if e.kind == event_kind::CONVERSATION_WAITING && someone_elses {
                return Ok(());
            }
            out.alerts += tx
                .prepare_cached(
                    "INSERT INTO alerts (seq, kind, conversation_id, waiting_since, at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (seq) DO NOTHING",
                )?
                .execute(params![e.seq, e.kind, a.conversation_id, a.waiting_since, e.at])?;
        }
        event_kind::RETENTION_PURGED => {
            let p: RetentionPurged = serde_json::from_str(e.data.get())?;
            let held = serde_json::to_string(&p.held)?;
            let convs: Vec<i64> = tx
                .prepare_cached(
                    "SELECT DISTINCT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE c.phone_number_id = ?1 AND m.created_at < ?2
                       AND c.id NOT IN (SELECT value FROM json_each(?3))",
                )?
                .query_map(params![p.phone_number_id, p.before, held], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for conv in convs {
                tx.prepare_cached(
                    "DELETE FROM messages WHERE conversation_id = ?1 AND created_at < ?2",
                )?
                .execute(params![conv, p.before])?;
                out.messages.insert(conv);
            }
            let blanked: Vec<i64> = tx
                .prepare_cached(
                    "UPDATE conversations SET preview = '' WHERE phone_number_id = ?1 AND last_message_at < ?2
                       AND preview <> '' AND id NOT IN (SELECT value FROM json_each(?3)) RETURNING id",
                )?
                .query_map(params![p.phone_number_id, p.before, held], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            out.conversations.extend(blanked);
        }
        event_kind::CONTACT_ERASED => {
            let p: ContactErased = serde_json::from_str(e.data.get())?;
            let mut convs: HashSet<i64> = p.conversation_ids.into_iter().collect();
            let mut stmt =
                tx.prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1")?;
            for c in stmt.query_map([p.id], |r| r.get::<_, i64>(0))? {
                convs.insert(c?);
            }
            drop(stmt);
            for conv in convs {
                tx.execute("DELETE FROM outbox WHERE conversation_id = ?1", [conv])?;
                remove_conversation(tx, conv)?;
                out.removed.insert(conv);
            }
            tx.execute("DELETE FROM notes WHERE contact_id = ?1", [p.id])?;
            tx.execute("DELETE FROM contact_tags WHERE contact_id = ?1", [p.id])?;
            tx.execute("DELETE FROM contacts WHERE id = ?1", [p.id])?;
            known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&p.id);
            out.contacts.insert(p.id);
            out.erased = true;
        }
        // Kinds from newer relays are skipped, not fatal: the cursor still moves on.
        _ => {}
    }
    Ok(())
}

impl Cache {
    /// Whether a conversation's older messages were already fetched ([`Cache::store_history`]).
    pub fn history_complete(&self, conversation_id: i64) -> Result<bool> {
        let conn = self.lock();
        let v: Option<i64> = conn
            .prepare_cached("SELECT history_complete FROM conversations WHERE id = ?1")?
            .query_row([conversation_id], |r| r.get(0))
            .optional()?;
        Ok(v.unwrap_or(0) != 0)
    }

    /// Stores messages fetched from the relay's message list (not from the log): a snapshot never
    /// replaces a newer one the log already delivered, and nothing is stored for a conversation
    /// the cache no longer holds. `complete` marks the conversation's history as fetched.
    /// Returns how many messages were new or newer.
    pub fn store_history(
        &self,
        conversation_id: i64,
        messages: &[Message],
        complete: bool,
    ) -> Result<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let held: Option<i64> = tx
            .prepare_cached("SELECT id FROM conversations WHERE id = ?1")?
            .query_row([conversation_id], |r| r.get(0))
            .optional()?;
        if held.is_none() {
            return Ok(0);
        }
        let mut n = 0;
        for m in messages
            .iter()
            .filter(|m| m.conversation_id == conversation_id)
        {
            n += tx
                .prepare_cached(
                    "INSERT INTO messages (id, conversation_id, text, client_id, data) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id, text = excluded.text,
                        client_id = excluded.client_id, data = excluded.data
                     WHERE json_extract(excluded.data, '$.updated_at') > json_extract(messages.data, '$.updated_at')",
                )?
                .execute(params![
                    m.id,
                    m.conversation_id,
                    m.text,
                    m.client_id,
                    serde_json::to_string(m)?
                ])?;
        }
        if complete {
            tx.execute(
                "UPDATE conversations SET history_complete = 1 WHERE id = ?1",
                [conversation_id],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }
}

pub(crate) fn upsert_message(tx: &Connection, m: &Message) -> Result<()> {
    upsert_message_raw(
        tx,
        m.id,
        m.conversation_id,
        &m.text,
        m.client_id.as_deref(),
        &serde_json::to_string(m)?,
    )
}

fn upsert_message_raw(
    tx: &Connection,
    id: i64,
    conversation_id: i64,
    text: &str,
    client_id: Option<&str>,
    data: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO messages (id, conversation_id, text, client_id, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id, text = excluded.text,
            client_id = excluded.client_id, data = excluded.data",
    )?
    .execute(params![id, conversation_id, text, client_id, data])?;
    Ok(())
}

/// The fields of a `conversation.waiting` / `conversation.overdue` alert the cache keeps.
#[derive(serde::Deserialize)]
struct AlertHead {
    conversation_id: i64,
    #[serde(default)]
    assignee_id: Option<i64>,
    waiting_since: i64,
}

/// The fields of a note the cache indexes by.
#[derive(serde::Deserialize)]
struct NoteHead {
    id: i64,
    contact_id: i64,
}

fn upsert_contact(tx: &Connection, c: &Contact) -> Result<()> {
    let tags = serde_json::to_string(&c.tags)?;
    let changed = tx
        .prepare_cached(
            "INSERT INTO contacts (id, wa_id, bsuid, username, name, updated_at, tags, marketing, app_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET wa_id = excluded.wa_id, bsuid = excluded.bsuid, username = excluded.username,
            name = excluded.name, updated_at = excluded.updated_at, tags = excluded.tags, marketing = excluded.marketing,
            app_name = excluded.app_name
         WHERE excluded.updated_at >= contacts.updated_at",
        )?
        .execute(params![
            c.id,
            c.wa_id,
            c.bsuid,
            c.username,
            c.name,
            c.updated_at,
            tags,
            c.marketing.as_ref().map(serde_json::to_string).transpose()?,
            c.app_name
        ])?;
    if changed > 0 {
        tx.prepare_cached("DELETE FROM contact_tags WHERE contact_id = ?1")?
            .execute([c.id])?;
        let mut ins = tx.prepare_cached(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for t in &c.tags {
            ins.execute(params![c.id, t])?;
        }
    }
    Ok(())
}

fn upsert_conversation(tx: &Connection, c: &Conversation) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO conversations (id, phone_number_id, contact_id, status, assignee_id, last_inbound_at, last_message_at, preview, unread_count, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET phone_number_id = excluded.phone_number_id, contact_id = excluded.contact_id,
            status = excluded.status, assignee_id = excluded.assignee_id, last_inbound_at = excluded.last_inbound_at,
            last_message_at = excluded.last_message_at, preview = excluded.preview, unread_count = excluded.unread_count,
            created_at = excluded.created_at, updated_at = excluded.updated_at",
    )?
    .execute(params![
        c.id,
        c.phone_number_id,
        c.contact.id,
        c.status,
        c.assignee_id,
        c.last_inbound_at,
        c.last_message_at,
        c.last_message_preview,
        c.unread_count,
        c.created_at,
        c.updated_at
    ])?;
    Ok(())
}

/// Drops a conversation the user may no longer see and its messages (its contact goes with the
/// end-of-page sweep unless another conversation names it).
fn remove_conversation(tx: &Connection, id: i64) -> Result<()> {
    tx.execute("DELETE FROM messages WHERE conversation_id = ?1", [id])?;
    tx.execute("DELETE FROM alerts WHERE conversation_id = ?1", [id])?;
    tx.execute("DELETE FROM conversations WHERE id = ?1", [id])?;
    Ok(())
}
