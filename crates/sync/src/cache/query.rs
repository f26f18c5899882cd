//! Reads for user interfaces: the conversation list, a conversation's timeline, contacts and
//! full-text search with ranking and highlighted snippets.

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use switchboard_protocol::api::{Contact, Conversation, Message, Note};

use super::outbox::PendingMessage;
use super::Cache;
use crate::error::{Result, SyncError};

/// Marks the start and end of a search hit inside a snippet (control characters never appear in
/// message text, so UIs can split on them safely).
pub const HIT_START: char = '\u{2}';
pub const HIT_END: char = '\u{3}';

/// How many of the most recent matching messages are ranked by relevance.
pub const RECENT_CANDIDATES: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Assigned to me.
    Mine,
    Unassigned,
    /// Everything the cache holds (for agents: mine and unassigned; supervisors: all).
    #[default]
    All,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationFilter {
    #[serde(default)]
    pub view: View,
    pub status: Option<String>,
    pub phone_number_id: Option<String>,
    /// Only conversations whose customer carries this tag (case-insensitive).
    #[serde(default)]
    pub tag: Option<String>,
    /// Only conversations with unread messages.
    #[serde(default)]
    pub unread_only: bool,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// One entry of a conversation's timeline: a message the relay has, or one still local.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineItem {
    Message(Box<Message>),
    Pending(Box<PendingMessage>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub conversation_id: i64,
    /// Set for message hits; contact hits name the contact's newest conversation.
    pub message_id: Option<i64>,
    pub contact_name: Option<String>,
    /// Text around the match, hits wrapped in [`HIT_START`] / [`HIT_END`].
    pub snippet: String,
    /// Lower is better (bm25).
    pub rank: f64,
    pub at: i64,
}

/// A search hit for programs (`switchboard search --json`): the snippet as plain text, without
/// the hit markers or any other control character, and where the hits are in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainHit {
    pub conversation_id: i64,
    pub message_id: Option<i64>,
    pub contact_name: Option<String>,
    pub text: String,
    /// `[start, end)` of each hit in `text`, counted in Unicode scalar values (characters).
    pub highlights: Vec<[usize; 2]>,
    pub rank: f64,
    pub at: i64,
}

impl SearchHit {
    pub fn plain(&self) -> PlainHit {
        let (text, highlights) = plain_snippet(&self.snippet);
        PlainHit {
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            contact_name: self
                .contact_name
                .as_ref()
                .map(|n| n.chars().filter(|c| !c.is_control()).collect()),
            text,
            highlights,
            rank: self.rank,
            at: self.at,
        }
    }
}

/// Splits a snippet with [`HIT_START`] / [`HIT_END`] markers into its plain text (line breaks and
/// tabs become spaces, other control characters are dropped) and the character ranges of the
/// hits. An unclosed hit ends with the text; empty hits are left out.
pub fn plain_snippet(snippet: &str) -> (String, Vec<[usize; 2]>) {
    let mut text = String::with_capacity(snippet.len());
    let mut ranges = Vec::new();
    let mut len = 0usize;
    let mut open: Option<usize> = None;
    for c in snippet.chars() {
        match c {
            HIT_START => open = open.or(Some(len)),
            HIT_END => {
                if let Some(start) = open.take() {
                    if len > start {
                        ranges.push([start, len]);
                    }
                }
            }
            '\n' | '\r' | '\t' => {
                text.push(' ');
                len += 1;
            }
            c if c.is_control() => {}
            c => {
                text.push(c);
                len += 1;
            }
        }
    }
    if let Some(start) = open {
        if len > start {
            ranges.push([start, len]);
        }
    }
    (text, ranges)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub conversations: i64,
    pub messages: i64,
    pub unread_conversations: i64,
    pub outbox_pending: i64,
    pub outbox_failed: i64,
}

const CONV_COLS: &str = "c.id, c.phone_number_id, c.status, c.assignee_id, c.last_inbound_at, c.last_message_at, c.preview, c.unread_count, c.created_at, c.updated_at, k.id, k.wa_id, k.bsuid, k.username, k.name, k.updated_at, k.tags, k.marketing, k.app_name";

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
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
            id: r.get::<_, Option<i64>>(10)?.unwrap_or_default(),
            wa_id: r.get(11)?,
            bsuid: r.get(12)?,
            username: r.get(13)?,
            name: r.get(14)?,
            updated_at: r.get::<_, Option<i64>>(15)?.unwrap_or_default(),
            tags: parse_tags(r.get::<_, Option<String>>(16)?),
            marketing: parse_marketing(r.get(17)?),
            app_name: r.get(18)?,
        },
    })
}

fn parse_marketing(json: Option<String>) -> Option<switchboard_protocol::api::MarketingPreference> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

fn parse_tags(json: Option<String>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

/// Turns what a person typed into an FTS5 query: every word quoted (so operators and quotes in
/// the input are plain text), the last one as a prefix, all words required.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"", w.replace('"', "")))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut q = words.join(" ");
    q.push('*');
    Some(q)
}

impl Cache {
    pub fn conversations(&self, f: &ConversationFilter) -> Result<Vec<Conversation>> {
        let me = self.viewer()?.map(|v| v.0).unwrap_or(-1);
        let mut sql = format!("SELECT {CONV_COLS} FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        match f.view {
            View::Mine => {
                args.push(me.into());
                sql.push_str(&format!(" AND c.assignee_id = ?{}", args.len()));
            }
            View::Unassigned => sql.push_str(" AND c.assignee_id IS NULL"),
            View::All => {}
        }
        if let Some(s) = &f.status {
            args.push(s.clone().into());
            sql.push_str(&format!(" AND c.status = ?{}", args.len()));
        }
        if let Some(p) = &f.phone_number_id {
            args.push(p.clone().into());
            sql.push_str(&format!(" AND c.phone_number_id = ?{}", args.len()));
        }
        if let Some(t) = &f.tag {
            args.push(t.trim().to_lowercase().into());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.contact_id AND t.tag = ?{})",
                args.len()
            ));
        }
        if f.unread_only {
            sql.push_str(" AND c.unread_count > 0");
        }
        sql.push_str(&format!(
            " ORDER BY c.last_message_at DESC, c.id DESC LIMIT {} OFFSET {}",
            f.limit.unwrap_or(100_000),
            f.offset.unwrap_or(0)
        ));
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), conversation_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn conversation(&self, id: i64) -> Result<Conversation> {
        let conn = self.lock();
        let found = conn
            .prepare_cached(&format!("SELECT {CONV_COLS} FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1"))?
            .query_row([id], conversation_row)
            .optional()?;
        found.ok_or_else(|| SyncError::NotFound(format!("conversation {id} is not in your inbox")))
    }

    pub fn contact(&self, id: i64) -> Result<Contact> {
        let conn = self.lock();
        conn.query_row(
            "SELECT id, wa_id, bsuid, username, name, updated_at, tags, marketing, app_name FROM contacts WHERE id = ?1",
            [id],
            |r| {
                Ok(Contact {
                    id: r.get(0)?,
                    wa_id: r.get(1)?,
                    bsuid: r.get(2)?,
                    username: r.get(3)?,
                    name: r.get(4)?,
                    updated_at: r.get(5)?,
                    tags: parse_tags(r.get(6)?),
                    marketing: parse_marketing(r.get(7)?),
                    app_name: r.get(8)?,
                })
            },
        )
        .optional()?
        .ok_or_else(|| SyncError::NotFound(format!("contact {id}")))
    }

    /// A customer's internal notes, oldest first.
    pub fn notes(&self, contact_id: i64) -> Result<Vec<Note>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT data FROM notes WHERE contact_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([contact_id], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for data in rows {
            out.push(serde_json::from_str(&data?)?);
        }
        Ok(out)
    }

    /// Every tag on a customer in the cache, with how many conversations carry it (for the tag
    /// filter's choices), most used first.
    pub fn tags(&self) -> Result<Vec<(String, i64)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT t.tag, COUNT(*) FROM contact_tags t JOIN conversations c ON c.contact_id = t.contact_id
             GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A page of a conversation's timeline, oldest first: relay messages older than `before` (a
    /// message id), and, on the newest page, the local outbox rows after them.
    pub fn timeline(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TimelineItem>> {
        let mut items: Vec<TimelineItem> = {
            let conn = self.lock();
            // In the order they were written, as the relay pages them (`before`: the oldest
            // message of the page after).
            let cursor: (i64, i64) = match before {
                None => (i64::MAX, i64::MAX),
                Some(id) => conn
                    .query_row("SELECT created_at FROM messages WHERE id = ?1", [id], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                    .optional()?
                    .flatten()
                    .map_or((i64::MAX, id), |at| (at, id)),
            };
            let mut stmt = conn.prepare_cached(
                "SELECT data FROM messages WHERE conversation_id = ?1
                   AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))
                 ORDER BY created_at DESC, id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![conversation_id, cursor.0, cursor.1, limit as i64],
                |r| r.get::<_, String>(0),
            )?;
            let mut v = Vec::new();
            for data in rows {
                v.push(TimelineItem::Message(Box::new(serde_json::from_str(
                    &data?,
                )?)));
            }
            v.reverse();
            v
        };
        if before.is_none() {
            items.extend(
                self.outbox_for(conversation_id)?
                    .into_iter()
                    .map(|p| TimelineItem::Pending(Box::new(p))),
            );
        }
        Ok(items)
    }

    /// Full-text search over message text, contact names, numbers and usernames, best first.
    pub fn search(&self, input: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let Some(q) = fts_query(input) else {
            return Ok(vec![]);
        };
        let conn = self.lock();
        let mut hits = Vec::new();
        // Ranking every match of a common word over a million messages is what makes naive FTS
        // slow. So: take the most recent RECENT_CANDIDATES matches, rank only those by bm25, and
        // build snippets for the few that are returned.
        // Recent messages matter most, and a rowid bound lets FTS5 skip the older part of every
        // term's index: look in the newest 100,000 messages first and widen only when that does
        // not fill the page.
        let newest: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM messages", [], |r| {
            r.get(0)
        })?;
        let mut cutoff: Option<i64> = None;
        for window in [100_000i64, 1_000_000, i64::MAX] {
            let lowest = newest.saturating_sub(window);
            let (found, min): (i64, Option<i64>) = conn
                .prepare_cached(
                    "SELECT COUNT(*), MIN(rowid) FROM (SELECT rowid FROM message_fts WHERE message_fts MATCH ?1 AND rowid > ?2 ORDER BY rowid DESC LIMIT ?3)",
                )?
                .query_row(params![q, lowest, RECENT_CANDIDATES], |r| Ok((r.get(0)?, r.get(1)?)))?;
            cutoff = min;
            if found >= limit as i64 || lowest <= 0 {
                break;
            }
        }
        if let Some(cutoff) = cutoff {
            let mut stmt = conn.prepare_cached(
                "SELECT m.conversation_id, m.id, k.name, f.snip, f.rank, c.last_message_at FROM
                   (SELECT rowid AS id, bm25(message_fts) AS rank, snippet(message_fts, 0, char(2), char(3), '…', 12) AS snip
                    FROM message_fts WHERE message_fts MATCH ?1 AND rowid >= ?2 ORDER BY rank, rowid DESC LIMIT ?3) f
                 JOIN messages m ON m.id = f.id JOIN conversations c ON c.id = m.conversation_id LEFT JOIN contacts k ON k.id = c.contact_id
                 ORDER BY f.rank, m.id DESC",
            )?;
            for h in stmt.query_map(params![q, cutoff, limit as i64], |r| {
                Ok(SearchHit {
                    conversation_id: r.get(0)?,
                    message_id: Some(r.get(1)?),
                    contact_name: r.get(2)?,
                    snippet: r.get(3)?,
                    rank: r.get(4)?,
                    at: r.get(5)?,
                })
            })? {
                hits.push(h?);
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT c.id, k.name, COALESCE(highlight(contact_fts, 0, char(2), char(3)), '') || ' ' || COALESCE(highlight(contact_fts, 1, char(2), char(3)), '') || ' ' || COALESCE(highlight(contact_fts, 2, char(2), char(3)), ''),
                    bm25(contact_fts), c.last_message_at
             FROM contact_fts JOIN contacts k ON k.id = contact_fts.rowid JOIN conversations c ON c.contact_id = k.id
             WHERE contact_fts MATCH ?1 ORDER BY bm25(contact_fts) LIMIT ?2",
        )?;
        for h in stmt.query_map(params![q, limit as i64], |r| {
            Ok(SearchHit {
                conversation_id: r.get(0)?,
                message_id: None,
                contact_name: r.get(1)?,
                snippet: r.get::<_, String>(2)?.trim().to_string(),
                rank: r.get::<_, f64>(3)? - 1000.0,
                at: r.get(4)?,
            })
        })? {
            hits.push(h?);
        }
        // Contacts first (a name or number match is what people usually look for), then messages.
        hits.sort_by(|a, b| {
            a.rank
                .partial_cmp(&b.rank)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.at.cmp(&a.at))
        });
        hits.truncate(limit);
        Ok(hits)
    }

    /// Merges the full-text index into one segment. Worth it after a large catch-up: queries
    /// then read one b-tree per term instead of many.
    pub fn optimize_search(&self) -> Result<()> {
        let conn = self.lock();
        conn.execute_batch("INSERT INTO message_fts (message_fts) VALUES ('optimize'); INSERT INTO contact_fts (contact_fts) VALUES ('optimize');")?;
        Ok(())
    }

    pub fn counts(&self) -> Result<Counts> {
        let conn = self.lock();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        Ok(Counts {
            conversations: one("SELECT COUNT(*) FROM conversations")?,
            messages: one("SELECT COUNT(*) FROM messages")?,
            unread_conversations: one("SELECT COUNT(*) FROM conversations WHERE unread_count > 0")?,
            outbox_pending: one("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")?,
            outbox_failed: one("SELECT COUNT(*) FROM outbox WHERE state = 'failed'")?,
        })
    }

    /// A canonical dump of the cache's synced content (tests compare caches with it).
    pub fn dump(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut out = Vec::new();
        for sql in [
            "SELECT 'contact', id, COALESCE(wa_id,''), COALESCE(bsuid,''), COALESCE(name,''), updated_at || tags FROM contacts ORDER BY id",
            "SELECT 'tag', contact_id, tag, '', '', '' FROM contact_tags ORDER BY contact_id, tag",
            "SELECT 'note', id, contact_id, data, '', '' FROM notes ORDER BY id",
            "SELECT 'conversation', id, status, COALESCE(assignee_id,''), unread_count, preview FROM conversations ORDER BY id",
            "SELECT 'message', id, conversation_id, data, '', '' FROM messages ORDER BY id",
            "SELECT 'cursor', value, '', '', '', '' FROM meta WHERE key = 'cursor'",
        ] {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                let cols: Vec<String> = (0..6)
                    .map(|i| match r.get_ref(i) {
                        Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                        Ok(rusqlite::types::ValueRef::Integer(n)) => n.to_string(),
                        Ok(other) => format!("{other:?}"),
                        Err(_) => String::new(),
                    })
                    .collect();
                Ok(cols.join("|"))
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn plain_snippets_carry_hits_as_ranges_and_no_control_characters() {
        let (text, hits) =
            plain_snippet("Wo ist meine \u{2}Bestellung\u{3} 4711?\nDanke\u{1b}[31m");
        assert_eq!(text, "Wo ist meine Bestellung 4711? Danke[31m");
        assert_eq!(hits, vec![[13, 23]]);
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[13..23].iter().collect::<String>(), "Bestellung");
        let (text, hits) = plain_snippet("\u{2}Grüße\u{3} und \u{2}Öl\u{3}\u{2}\u{3} \u{2}offen");
        assert_eq!(text, "Grüße und Öl offen");
        assert_eq!(hits, vec![[0, 5], [10, 12], [13, 18]]);
        assert!(!text.chars().any(char::is_control));
    }

    use super::*;

    #[test]
    fn fts_queries_are_safe() {
        assert_eq!(fts_query("Preis"), Some("\"Preis\"*".into()));
        assert_eq!(
            fts_query("wo ist \"meine\" Bestellung?"),
            Some("\"wo\" \"ist\" \"meine\" \"Bestellung\"*".into())
        );
        assert_eq!(
            fts_query("NEAR(a b) OR -x"),
            Some("\"NEAR\" \"a\" \"b\" \"OR\" \"x\"*".into())
        );
        assert_eq!(fts_query("  ?! "), None);
    }
}
