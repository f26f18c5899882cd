//! The audit log: what admins and supervisors did (and sign-ins that failed), as a hash chain
//! that cannot be edited quietly.
//!
//! Each entry's `hash` is [`entry_hash`] of the previous entry's hash and the entry's own id,
//! actor, action, details and time; `audit_head` keeps the newest entry's id and hash. Altering
//! an entry breaks its own hash, removing one breaks its successor's, removing the newest breaks
//! the head: [`verify`] (`switchboard-relay admin verify-audit`) names the first entry that does
//! not hold. Someone able to rewrite every entry and the head can forge a whole new chain; an
//! operator who keeps the head [`verify`] prints elsewhere (a ticket, a backup) detects that too.
//!
//! Every write holds the cluster's write lock, and [`audit`] also takes the head row's lock
//! before reading it, so concurrent relays append to one chain.

use crate::store::db::{params, Db, Optional, ToDb};
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_protocol::admin::AuditEntry;

use super::Result;

/// The schema version that made the log a chain; entries written before it are chained by
/// [`seal_legacy`] in that migration's transaction.
pub const CHAIN_VERSION: i64 = 11;

/// One stored entry, as the chain covers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub details: String,
    pub at: i64,
    pub hash: Option<String>,
}

/// SHA-256 (hex) of the previous hash and the entry's fields, each on its own line (`details`
/// is JSON and `actor`/`action` never hold a line break, so the fields cannot run into each
/// other; the length prefix makes sure of it).
pub fn entry_hash(
    prev: &str,
    id: i64,
    actor: &str,
    action: &str,
    details: &str,
    at: i64,
) -> String {
    let mut h = Sha256::new();
    for field in [
        prev,
        &id.to_string(),
        actor,
        action,
        details,
        &at.to_string(),
    ] {
        h.update(field.len().to_string().as_bytes());
        h.update(b":");
        h.update(field.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Why a chain does not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Broken {
    #[error("entry {id} was altered, or an entry before it was removed (its hash does not match)")]
    Mismatch { id: i64 },
    #[error("entry {id} has no hash (it was written around the chain)")]
    Unsealed { id: i64 },
    #[error("the newest entries were removed: the head names entry {head_id}, the newest stored is {last_id:?}")]
    Truncated { head_id: i64, last_id: Option<i64> },
    #[error("the chain's head is missing (table audit_head was emptied)")]
    NoHead,
}

/// A chain that holds: how many entries and the newest hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub entries: usize,
    pub head: String,
}

/// Checks entries (in id order) against their hashes and the head `(last_id, hash)`.
pub fn verify_chain(entries: &[Entry], head: Option<(i64, String)>) -> Result<Verified, Broken> {
    let mut prev = String::new();
    for e in entries {
        let Some(stored) = &e.hash else {
            return Err(Broken::Unsealed { id: e.id });
        };
        let expected = entry_hash(&prev, e.id, &e.actor, &e.action, &e.details, e.at);
        if *stored != expected {
            return Err(Broken::Mismatch { id: e.id });
        }
        prev = expected;
    }
    let last_id = entries.last().map(|e| e.id);
    match head {
        None => Err(Broken::NoHead),
        Some((head_id, head_hash)) => {
            let head_matches = match entries.last() {
                Some(e) => head_id == e.id && head_hash == prev,
                None => head_id == 0 && head_hash.is_empty(),
            };
            if head_matches {
                Ok(Verified {
                    entries: entries.len(),
                    head: prev,
                })
            } else {
                Err(Broken::Truncated { head_id, last_id })
            }
        }
    }
}

fn head(conn: &Db) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT last_id, hash FROM audit_head WHERE id = 1",
            (),
            |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
        )
        .optional()?)
}

/// Appends an entry to the chain (inside the caller's write).
pub fn audit(conn: &Db, actor: &str, action: &str, details: &Value, now: i64) -> Result<()> {
    // Lock the head row first: a concurrent writer's entry is then committed and seen below.
    let locked = conn.execute("UPDATE audit_head SET last_id = last_id WHERE id = 1", ())?;
    let prev = if locked == 1 {
        head(conn)?.map(|(_, h)| h).unwrap_or_default()
    } else {
        // The head was removed (verify reports it for good); keep chaining from the newest entry.
        conn.query_row(
            "SELECT COALESCE(hash, '') FROM audit_log ORDER BY id DESC LIMIT 1",
            (),
            |r| r.get::<String>(0),
        )
        .optional()?
        .unwrap_or_default()
    };
    let details = details.to_string();
    let id: i64 = conn.query_row(
        "INSERT INTO audit_log (actor, action, details, at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        params![actor, action, details, now],
        |r| r.get(0),
    )?;
    let hash = entry_hash(&prev, id, actor, action, &details, now);
    conn.execute(
        "UPDATE audit_log SET hash = ?1 WHERE id = ?2",
        params![hash, id],
    )?;
    conn.execute(
        "UPDATE audit_head SET last_id = ?1, hash = ?2 WHERE id = 1",
        params![id, hash],
    )?;
    Ok(())
}

fn entries(conn: &Db) -> Result<Vec<Entry>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, actor, action, details, at, hash FROM audit_log ORDER BY id")?;
    let rows = stmt.query_map((), |r| {
        Ok(Entry {
            id: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            details: r.get(3)?,
            at: r.get(4)?,
            hash: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Chains the entries written before [`CHAIN_VERSION`] and writes the head (in the migration's
/// transaction, once).
pub fn seal_legacy(conn: &Db) -> Result<()> {
    let mut prev = String::new();
    let mut last_id = 0;
    for e in entries(conn)? {
        let hash = entry_hash(&prev, e.id, &e.actor, &e.action, &e.details, e.at);
        conn.execute(
            "UPDATE audit_log SET hash = ?1 WHERE id = ?2",
            params![hash, e.id],
        )?;
        prev = hash;
        last_id = e.id;
    }
    conn.execute(
        "INSERT INTO audit_head (id, last_id, hash) VALUES (1, ?1, ?2)",
        params![last_id, prev],
    )?;
    Ok(())
}

/// Checks the stored chain: `Ok(Ok(..))` when it holds, `Ok(Err(broken))` naming the first
/// entry that does not.
pub fn verify(conn: &Db) -> Result<Result<Verified, Broken>> {
    let entries = entries(conn)?;
    Ok(verify_chain(&entries, head(conn)?))
}

/// Which entries to read: by actor (exact), action (prefix: `role.` is every role change),
/// period (`since` inclusive, `until` exclusive, Unix ms), older than entry `before` (paging),
/// newest first, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: usize,
}

/// `text` as a LIKE pattern matching itself only (`\` escapes `%`, `_` and itself).
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `cond` with its one `?` numbered as the next parameter, `value`.
fn condition<'a>(sql: &mut String, args: &mut Vec<&'a dyn ToDb>, cond: &str, value: &'a dyn ToDb) {
    args.push(value);
    sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
}

pub fn audit_entries(conn: &Db, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let pattern = filter
        .action
        .as_deref()
        .map(|a| format!("{}%", like_literal(a)));
    let mut sql = String::from("SELECT id, actor, action, details, at FROM audit_log WHERE 1 = 1");
    let mut args: Vec<&dyn ToDb> = Vec::new();
    if let Some(a) = &filter.actor {
        condition(&mut sql, &mut args, " AND actor = ?", a);
    }
    if let Some(p) = &pattern {
        condition(&mut sql, &mut args, " AND action LIKE ? ESCAPE '\\'", p);
    }
    if let Some(t) = &filter.since {
        condition(&mut sql, &mut args, " AND at >= ?", t);
    }
    if let Some(t) = &filter.until {
        condition(&mut sql, &mut args, " AND at < ?", t);
    }
    if let Some(id) = &filter.before {
        condition(&mut sql, &mut args, " AND id < ?", id);
    }
    let limit = filter.limit as i64;
    condition(&mut sql, &mut args, " ORDER BY id DESC LIMIT ?", &limit);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args.as_slice(), |r| {
        let details: String = r.get(3)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            details: serde_json::from_str::<Value>(&details).unwrap_or(Value::Null),
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Vec<Entry>, (i64, String)) {
        let mut prev = String::new();
        let mut out = Vec::new();
        for id in 1..=n {
            let (actor, action, details, at) =
                ("ada", "user.created", format!("{{\"n\":{id}}}"), 1000 + id);
            let hash = entry_hash(&prev, id, actor, action, &details, at);
            out.push(Entry {
                id,
                actor: actor.into(),
                action: action.into(),
                details,
                at,
                hash: Some(hash.clone()),
            });
            prev = hash;
        }
        (out, (n, prev))
    }

    #[test]
    fn an_intact_chain_holds_and_every_quiet_edit_is_named() {
        let (entries, head) = chain(5);
        let ok = verify_chain(&entries, Some(head.clone())).unwrap();
        assert_eq!(ok.entries, 5);
        assert_eq!(ok.head, head.1);
        assert!(verify_chain(&[], Some((0, String::new()))).is_ok());

        let mut altered = entries.clone();
        altered[2].details = "{\"n\":99}".into();
        assert_eq!(
            verify_chain(&altered, Some(head.clone())),
            Err(Broken::Mismatch { id: 3 })
        );
        let mut altered = entries.clone();
        altered[1].at += 1;
        assert_eq!(
            verify_chain(&altered, Some(head.clone())),
            Err(Broken::Mismatch { id: 2 })
        );

        let mut removed = entries.clone();
        removed.remove(1);
        assert_eq!(
            verify_chain(&removed, Some(head.clone())),
            Err(Broken::Mismatch { id: 3 })
        );
        let truncated = &entries[..4];
        assert_eq!(
            verify_chain(truncated, Some(head.clone())),
            Err(Broken::Truncated {
                head_id: 5,
                last_id: Some(4)
            })
        );
        assert_eq!(
            verify_chain(&[], Some(head.clone())),
            Err(Broken::Truncated {
                head_id: 5,
                last_id: None
            })
        );
        assert_eq!(verify_chain(&entries, None), Err(Broken::NoHead));
        let mut unsealed = entries.clone();
        unsealed[4].hash = None;
        assert_eq!(
            verify_chain(&unsealed, Some(head)),
            Err(Broken::Unsealed { id: 5 })
        );
    }

    #[test]
    fn an_action_prefix_matches_itself_only() {
        assert_eq!(like_literal("role."), "role.");
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        assert_ne!(
            entry_hash("", 1, "ab", "c", "{}", 1),
            entry_hash("", 1, "a", "bc", "{}", 1)
        );
    }
}
