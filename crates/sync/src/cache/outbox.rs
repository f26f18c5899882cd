//! The local outbox: messages written here, shown at once, sent when the relay is reachable.
//!
//! Design (after matrix-sdk's send queue):
//! - a send inserts a row keyed by a fresh `client_id` (a UUID), which is also the relay's
//!   `Idempotency-Key`; the row is shown in the conversation as pending immediately;
//! - rows are sent in the order they were written (`local_id`), one at a time, so messages to a
//!   customer keep their order; a crash mid-send re-sends with the same key and the relay answers
//!   with the message it already has, so nothing goes out twice;
//! - the relay's answer (or its echo in the event log, whichever comes first) replaces the row in
//!   one transaction: there are never two copies;
//! - a refusal (window closed, blocked word, ...) marks the row `failed` with the relay's code and
//!   sentence; the user retries (back to pending) or discards it.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::api::{Message, SendRequest};

use super::apply::upsert_message;
use super::{now_ms, Cache};
use crate::error::{Result, SyncError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingMessage {
    pub local_id: i64,
    pub client_id: String,
    pub conversation_id: i64,
    pub request: SendRequest,
    pub text: String,
    pub created_at: i64,
    /// `pending` or `failed`.
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingMessage> {
    let request: String = r.get(3)?;
    Ok(PendingMessage {
        local_id: r.get(0)?,
        client_id: r.get(1)?,
        conversation_id: r.get(2)?,
        request: serde_json::from_str(&request).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        text: r.get(4)?,
        created_at: r.get(5)?,
        state: r.get(6)?,
        error_code: r.get(7)?,
        error_message: r.get(8)?,
    })
}

const COLS: &str = "local_id, client_id, conversation_id, request, text, created_at, state, error_code, error_message";

impl Cache {
    /// Queues a message locally; it shows as pending at once.
    pub fn enqueue(&self, conversation_id: i64, request: &SendRequest) -> Result<PendingMessage> {
        request.validate().map_err(SyncError::Invalid)?;
        let conn = self.lock();
        let known: Option<i64> = conn
            .query_row(
                "SELECT id FROM conversations WHERE id = ?1",
                [conversation_id],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(SyncError::NotFound(format!(
                "conversation {conversation_id} is not in your inbox"
            )));
        }
        let client_id = uuid::Uuid::new_v4().to_string();
        conn.execute(
            "INSERT INTO outbox (client_id, conversation_id, request, text, created_at, state) VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
            params![client_id, conversation_id, serde_json::to_string(request)?, request.preview(), now_ms()],
        )?;
        Ok(conn.query_row(
            &format!("SELECT {COLS} FROM outbox WHERE client_id = ?1"),
            [&client_id],
            row,
        )?)
    }

    /// Pending rows in the order they were written.
    pub fn pending(&self) -> Result<Vec<PendingMessage>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLS} FROM outbox WHERE state = 'pending' ORDER BY local_id"
        ))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every outbox row (pending and failed), oldest first.
    pub fn outbox(&self) -> Result<Vec<PendingMessage>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLS} FROM outbox ORDER BY local_id"))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn outbox_for(&self, conversation_id: i64) -> Result<Vec<PendingMessage>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLS} FROM outbox WHERE conversation_id = ?1 ORDER BY local_id"
        ))?;
        let rows = stmt.query_map([conversation_id], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The relay accepted the row: its message replaces the pending one.
    pub fn settle(&self, client_id: &str, message: &Message) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        upsert_message(&tx, message)?;
        tx.execute("DELETE FROM outbox WHERE client_id = ?1", [client_id])?;
        tx.commit()?;
        Ok(())
    }

    /// The relay refused the row for good.
    pub fn mark_failed(&self, client_id: &str, code: &str, message: &str) -> Result<()> {
        self.lock().execute(
            "UPDATE outbox SET state = 'failed', error_code = ?2, error_message = ?3 WHERE client_id = ?1",
            params![client_id, code, message],
        )?;
        Ok(())
    }

    /// Puts a failed row back in the queue (it keeps its place and its idempotency key).
    pub fn retry(&self, client_id: &str) -> Result<()> {
        let n = self.lock().execute(
            "UPDATE outbox SET state = 'pending', error_code = NULL, error_message = NULL WHERE client_id = ?1 AND state = 'failed'",
            [client_id],
        )?;
        if n == 0 {
            return Err(SyncError::NotFound(format!(
                "no failed message {client_id}"
            )));
        }
        Ok(())
    }

    /// Drops a pending or failed row.
    pub fn discard(&self, client_id: &str) -> Result<()> {
        let n = self
            .lock()
            .execute("DELETE FROM outbox WHERE client_id = ?1", [client_id])?;
        if n == 0 {
            return Err(SyncError::NotFound(format!(
                "no queued message {client_id}"
            )));
        }
        Ok(())
    }
}
