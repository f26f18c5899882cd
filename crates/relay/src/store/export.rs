//! Exports as JSON Lines: every customer, conversation, message and note (or those of one
//! customer), one object per line with a `kind` and the same snapshot the API answers. Read in
//! pages by id ([`next_lines`] advances an [`ExportCursor`]), so a million-message export is
//! streamed in constant memory by the API (`api::export`) and written by `admin export`.
//! `format=csv` exports the messages as a table ([`csv_header`], [`csv_row`]).

use serde_json::{json, Value};
use switchboard_protocol::api::Message;

use super::db::{params, Db};
use super::messages::{after_args, messages_after, AFTER_IN_SCOPE};
use super::Result;

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Everything; messages (and their conversations' customers) written in `[from, to)` (ms)
    /// when given.
    All { from: Option<i64>, to: Option<i64> },
    /// One customer: their record (tags, preferences), conversations, messages and notes.
    Contact(i64),
}

impl Scope {
    /// The messages' bounds: `[from, to)` (ms) and the customer, for [`messages_after`] and
    /// [`media_after`].
    pub fn bounds(&self) -> (i64, i64, Option<i64>) {
        match self {
            Scope::All { from, to } => (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX), None),
            Scope::Contact(c) => (i64::MIN, i64::MAX, Some(*c)),
        }
    }
}

/// A page of the messages as CSV rows after message id `after` (with the header when `first`),
/// and the id to continue after (`None`: that was the last page).
pub fn csv_page(
    conn: &Db,
    scope: &Scope,
    after: i64,
    first: bool,
    limit: usize,
) -> Result<(Vec<u8>, Option<i64>)> {
    let (from, to, contact) = scope.bounds();
    let page = messages_after(conn, after, contact, from, to, limit)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| super::StoreError::Corrupt(format!("csv: {e}"));
    if first {
        w.write_record(csv_header()).map_err(fail)?;
    }
    for m in &page {
        w.write_record(
            csv_row(m)
                .iter()
                .map(|c| crate::api::audit::spreadsheet_safe(c).into_owned()),
        )
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| super::StoreError::Corrupt(format!("csv: {}", e.error())))?;
    // A short page is the last one.
    let next = match page.last() {
        Some(m) if page.len() == limit => Some(m.id),
        _ => None,
    };
    Ok((bytes, next))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Contacts,
    Conversations,
    Messages,
    Notes,
    Done,
}

/// Where an export stands: the kind being written and the last id written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    stage: Stage,
    after: i64,
}

impl Default for ExportCursor {
    fn default() -> Self {
        ExportCursor {
            stage: Stage::Contacts,
            after: 0,
        }
    }
}

impl ExportCursor {
    pub fn done(&self) -> bool {
        self.stage == Stage::Done
    }
}

/// Messages carrying a file in the scope, after message id `after`: `(message id, media id,
/// mime type)`, at most `limit`, by id (the zip export's media part).
pub fn media_after(
    conn: &Db,
    scope: &Scope,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, String, Option<String>)>> {
    let (from, to, contact) = scope.bounds();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, media_id, media_mime FROM messages
         WHERE {AFTER_IN_SCOPE} AND media_id IS NOT NULL ORDER BY id LIMIT ?6"
    ))?;
    let rows = stmt.query_map(after_args(after, contact, from, to, limit), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

fn line(kind: &str, mut v: Value) -> String {
    if let Value::Object(map) = &mut v {
        map.insert("kind".into(), json!(kind));
    }
    v.to_string()
}

fn ids(conn: &Db, sql: &str, p: &[&dyn super::db::ToDb]) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, |r| r.get::<i64>(0))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// The next lines of the export (at most about `limit`), advancing `cursor`; empty once done.
pub fn next_lines(
    conn: &Db,
    scope: &Scope,
    cursor: &mut ExportCursor,
    limit: usize,
) -> Result<Vec<String>> {
    let lim = limit as i64;
    let (contact, from, to) = match scope {
        Scope::All { from, to } => (None, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)),
        Scope::Contact(c) => (Some(*c), i64::MIN, i64::MAX),
    };
    loop {
        let out: Vec<String> = match cursor.stage {
            Stage::Done => return Ok(Vec::new()),
            Stage::Contacts => {
                let page = match contact {
                    Some(c) if cursor.after < c => vec![c],
                    Some(_) => vec![],
                    None => ids(
                        conn,
                        "SELECT id FROM contacts WHERE id > ?1 ORDER BY id LIMIT ?2",
                        params![cursor.after, lim],
                    )?,
                };
                let mut v = Vec::with_capacity(page.len());
                for id in &page {
                    v.push(line(
                        "contact",
                        serde_json::to_value(super::contacts::contact(conn, *id)?)?,
                    ));
                }
                advance(cursor, &page, Stage::Conversations, limit);
                v
            }
            Stage::Conversations => {
                let page = ids(
                    conn,
                    "SELECT id FROM conversations WHERE id > ?1 AND (?2 = 0 OR contact_id = ?3) ORDER BY id LIMIT ?4",
                    params![cursor.after, i64::from(contact.is_some()), contact.unwrap_or(0), lim],
                )?;
                let mut v = Vec::with_capacity(page.len());
                for id in &page {
                    let c = super::conversations::conversation(conn, *id)?;
                    v.push(line("conversation", serde_json::to_value(c)?));
                }
                advance(cursor, &page, Stage::Messages, limit);
                v
            }
            Stage::Messages => {
                let page: Vec<Message> =
                    messages_after(conn, cursor.after, contact, from, to, limit)?;
                let got: Vec<i64> = page.iter().map(|m| m.id).collect();
                let v = page
                    .into_iter()
                    .map(|m| Ok(line("message", serde_json::to_value(m)?)))
                    .collect::<Result<Vec<_>>>()?;
                advance(cursor, &got, Stage::Notes, limit);
                v
            }
            Stage::Notes => {
                let page = ids(
                    conn,
                    "SELECT id FROM contact_notes WHERE id > ?1 AND (?2 = 0 OR contact_id = ?3) ORDER BY id LIMIT ?4",
                    params![cursor.after, i64::from(contact.is_some()), contact.unwrap_or(0), lim],
                )?;
                let mut v = Vec::with_capacity(page.len());
                for id in &page {
                    let n = super::contacts::note(conn, *id)?;
                    v.push(line("note", serde_json::to_value(n)?));
                }
                advance(cursor, &page, Stage::Done, limit);
                v
            }
        };
        if !out.is_empty() || cursor.done() {
            return Ok(out);
        }
    }
}

/// Moves past a page: the same kind goes on while pages are full, else the next kind starts.
fn advance(cursor: &mut ExportCursor, page: &[i64], next: Stage, limit: usize) {
    match page.last() {
        Some(last) if page.len() >= limit => cursor.after = *last,
        _ => {
            cursor.stage = next;
            cursor.after = 0;
        }
    }
}

/// The columns of the messages CSV.
pub fn csv_header() -> [&'static str; 10] {
    [
        "id",
        "conversation_id",
        "created_at",
        "direction",
        "type",
        "text",
        "status",
        "origin",
        "wamid",
        "deleted_at",
    ]
}

/// One message as a CSV row (the columns of [`csv_header`]).
pub fn csv_row(m: &Message) -> [String; 10] {
    [
        m.id.to_string(),
        m.conversation_id.to_string(),
        m.created_at.to_string(),
        serde_json::to_value(m.direction)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        m.type_name.clone(),
        m.text.clone(),
        m.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        m.origin.clone().unwrap_or_default(),
        m.wamid.clone().unwrap_or_default(),
        m.deleted_at.map(|d| d.to_string()).unwrap_or_default(),
    ]
}
