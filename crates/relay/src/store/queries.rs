//! Where the store's common reads and writes used to live; each now lives with its aggregate
//! (`conversations`, `messages`, `contacts`, `numbers`, `users`, `audit`, `ingest`). Re-exported
//! here so call sites read `queries::conversation` as before; new code uses the modules.

use crate::store::db::Db;

use super::Result;

pub use super::audit::{audit, audit_entries};
pub use super::contacts::{contact, contact_tags, emit_contact};
pub use super::conversations::{
    conversation, emit_conversation, list_conversations, mark_read, may_see, ConversationFilter,
};
pub use super::ingest::dead_letters;
pub use super::messages::{
    emit_message, list_messages, message, message_id_by_wamid, message_media,
};
pub use super::numbers::{note_number_seen, numbers, upsert_number};
pub use super::users::{create_user, insert_token, user_by_email, users};

/// Counts for metrics and tests.
pub fn count(conn: &Db, sql_table_where: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!("SELECT COUNT(*) FROM {sql_table_where}"),
        (),
        |r| r.get(0),
    )?)
}
