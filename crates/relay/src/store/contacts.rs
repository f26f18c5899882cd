//! Customers: reading one with their tags, logging their state, internal notes, and who may see
//! a customer at all (whoever sees one of their conversations; a held one counts for supervisors
//! and admins only). Tags are written by `store::routing`, since routing reads them.

use crate::store::db::{params, Db, Optional};
use switchboard_protocol::api::{event_kind, Contact, MarketingPreference, Note, User};

use super::events::{Audience, NewEvent};
use super::numbers::configured_sql;
use super::{Result, StoreError, WriteCtx};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

/// Everyone who sees one of the customer's conversations (supervisors and admins always; held
/// conversations count for nobody else).
pub fn audience(conn: &Db, contact: i64) -> Result<Audience> {
    let mut audience = Audience::default();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.assignee_id FROM conversations c WHERE c.contact_id = ?1 AND {}",
        configured_sql("c.phone_number_id")
    ))?;
    for a in stmt.query_map([contact], |r| r.get::<Option<i64>>(0))? {
        let part = Audience::conversation(a?, None);
        audience.all_agents |= part.all_agents;
        audience.users.extend(part.users);
    }
    Ok(audience)
}

/// Whether `user` may see customer `contact`: supervisors and admins always, agents when one of
/// the customer's conversations is theirs or unassigned (and not held). A missing customer is
/// `NotFound`.
pub fn may_see(conn: &Db, user: &User, contact: i64) -> Result<bool> {
    let exists: Option<i64> = conn
        .prepare_cached("SELECT id FROM contacts WHERE id = ?1")?
        .query_row([contact], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("contact {contact}")));
    }
    if user.sees_all() {
        return Ok(true);
    }
    agent_sees(conn, user.id, contact)
}

/// Whether an agent (`user_id`) may see customer `contact` right now: one of the customer's
/// conversations is theirs or unassigned, on a configured number. A missing customer is not
/// visible.
pub fn agent_sees(conn: &Db, user_id: i64, contact: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT 1 FROM conversations c WHERE c.contact_id = ?1 AND (c.assignee_id IS NULL OR c.assignee_id = ?2) AND {} LIMIT 1",
            configured_sql("c.phone_number_id")
        ))?
        .exists(params![contact, user_id])?)
}

/// Checks visibility; an invisible customer answers like a missing one.
pub fn check_visible(conn: &Db, user: &User, contact: i64) -> Result<()> {
    if may_see(conn, user, contact)? {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("contact {contact}")))
    }
}

fn note_row(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<Note> {
    Ok(Note {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        author_id: r.get(2)?,
        author_name: r.get(3)?,
        text: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// A customer's notes, oldest first.
pub fn notes(conn: &Db, contact: i64) -> Result<Vec<Note>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, contact_id, author_id, author_name, text, created_at FROM contact_notes WHERE contact_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([contact], note_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub(crate) fn note(conn: &Db, id: i64) -> Result<Note> {
    conn.prepare_cached(
        "SELECT id, contact_id, author_id, author_name, text, created_at FROM contact_notes WHERE id = ?1",
    )?
    .query_row([id], note_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("note {id}")))
}

/// Writes a note and logs it for everyone who sees the customer.
pub fn add_note(ctx: &mut WriteCtx<'_>, contact: i64, author: &User, text: &str) -> Result<Note> {
    if !switchboard_protocol::rules::fits(switchboard_protocol::rules::TEXT, text) {
        return Err(StoreError::Invalid("a note must not be empty".into()));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(StoreError::Invalid(format!(
            "a note is limited to {MAX_NOTE_CHARS} characters"
        )));
    }
    let text = text.trim();
    let id: i64 = ctx.conn.query_row(
        "INSERT INTO contact_notes (contact_id, author_id, author_name, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![contact, author.id, author.name, text, ctx.now],
        |r| r.get(0),
    )?;
    let n = note(ctx.conn, id)?;
    emit_note(ctx, &n)?;
    Ok(n)
}

fn emit_note(ctx: &mut WriteCtx<'_>, n: &Note) -> Result<()> {
    let audience = audience(ctx.conn, n.contact_id)?;
    ctx.emit(NewEvent {
        kind: event_kind::NOTE_CREATED,
        conversation_id: None,
        audience,
        data: serde_json::to_value(n)?,
    })?;
    Ok(())
}

/// Moves tags and notes of a customer being merged into another (same person, two identities);
/// the moved notes (only those) are logged again so caches file them under the surviving
/// customer.
pub fn merge_into(ctx: &mut WriteCtx<'_>, from: i64, into: i64) -> Result<()> {
    ctx.conn.execute(
        "INSERT INTO contact_tags (contact_id, tag) SELECT ?2, tag FROM contact_tags WHERE contact_id = ?1
         ON CONFLICT (contact_id, tag) DO NOTHING",
        params![from, into],
    )?;
    ctx.conn
        .execute("DELETE FROM contact_tags WHERE contact_id = ?1", [from])?;
    let moved = notes(ctx.conn, from)?;
    ctx.conn.execute(
        "UPDATE contact_notes SET contact_id = ?2 WHERE contact_id = ?1",
        params![from, into],
    )?;
    for mut n in moved {
        n.contact_id = into;
        emit_note(ctx, &n)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- reading and logging

/// A customer's tags, sorted.
pub fn contact_tags(conn: &Db, contact: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT tag FROM contact_tags WHERE contact_id = ?1 ORDER BY tag")?;
    let rows = stmt.query_map([contact], |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// The marketing preference as stored (both columns, or none).
pub fn marketing(choice: Option<String>, at: Option<i64>) -> Option<MarketingPreference> {
    Some(MarketingPreference {
        choice: choice?,
        at: at?,
    })
}

/// Keeps a customer's choice about marketing messages made at `at` (ms), unless a later one is
/// stored already (webhooks are unordered). Returns whether it changed anything.
pub fn set_marketing(
    ctx: &mut WriteCtx<'_>,
    contact_id: i64,
    choice: &str,
    at: i64,
) -> Result<bool> {
    let changed = ctx.conn.exec(
        "UPDATE contacts SET marketing_pref = ?2, marketing_pref_at = ?3, updated_at = ?4
         WHERE id = ?1 AND (marketing_pref_at IS NULL OR marketing_pref_at < ?3)",
        params![contact_id, choice, at, ctx.now],
    )?;
    if changed > 0 {
        emit_contact(ctx, contact_id)?;
    }
    Ok(changed > 0)
}

pub fn contact(conn: &Db, id: i64) -> Result<Contact> {
    conn.prepare_cached(
        "SELECT id, wa_id, bsuid, username, name, updated_at, marketing_pref, marketing_pref_at, app_name FROM contacts WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Contact {
            id: r.get(0)?,
            wa_id: r.get(1)?,
            bsuid: r.get(2)?,
            username: r.get(3)?,
            name: r.get(4)?,
            updated_at: r.get(5)?,
            tags: Vec::new(),
            marketing: marketing(r.get(6)?, r.get(7)?),
            app_name: r.get(8)?,
        })
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("contact {id}")))
    .and_then(|mut c| {
        c.tags = contact_tags(conn, id)?;
        Ok(c)
    })
}

/// Logs the customer's current state, to everyone who sees one of their conversations.
pub fn emit_contact(ctx: &mut WriteCtx<'_>, contact_id: i64) -> Result<()> {
    let c = contact(ctx.conn, contact_id)?;
    // A contact is visible to whoever sees one of its conversations.
    let audience = audience(ctx.conn, contact_id)?;
    ctx.emit(NewEvent {
        kind: event_kind::CONTACT_UPDATED,
        conversation_id: None,
        audience,
        data: serde_json::to_value(&c)?,
    })?;
    Ok(())
}
