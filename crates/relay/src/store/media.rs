//! Who may send a media id: the one rule that keeps a file from leaving through a conversation it
//! was never part of (a media id is a bearer reference: whoever names it sends that file).

use switchboard_protocol::api::User;

use crate::store::db::{params, Db};

use super::Result;

/// Whether `user` may send `media_id` in `conversation_id`: it was uploaded for this conversation
/// (by anyone; the caller already checked that the user may see the conversation), or a message
/// carrying it lies in a conversation the user may see now (agents: assigned to them or
/// unassigned; supervisors and admins: any). A media id nobody knows is refused like any other.
pub fn may_send_media(
    conn: &Db,
    user: &User,
    conversation_id: i64,
    media_id: &str,
) -> Result<bool> {
    let sees_all: i64 = user.sees_all().into();
    let allowed: i64 = conn
        .prepare_cached(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM uploads WHERE media_id = ?1 AND conversation_id = ?2)
                OR EXISTS (SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
                           WHERE m.media_id = ?1 AND (?3 = 1 OR c.assignee_id IS NULL OR c.assignee_id = ?4))
             THEN 1 ELSE 0 END",
        )?
        .query_row(
            params![media_id, conversation_id, sees_all, user.id],
            |r| r.get(0),
        )?;
    Ok(allowed == 1)
}
