//! The event log: append (writer side), page (reader side) and who may see what.
//!
//! Each event carries a full snapshot of the changed object, so a client that applies an event
//! twice, or out of a page boundary, ends in the same state. Visibility is decided when the event
//! is written: `visible_all` (every agent: the conversation is or just was unassigned) or a list of
//! user ids (`,3,7,`: the assignee now and the one before). Supervisors and admins see everything.

use super::db::{params, Db, Optional, Row};
use serde_json::Value;
use switchboard_protocol::api::Event;

use super::Result;

/// Who may see an event besides supervisors and admins.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audience {
    pub all_agents: bool,
    pub users: Vec<i64>,
}

impl Audience {
    /// For a change to a conversation assigned to `now` and, before this change, to `before`.
    pub fn conversation(now: Option<i64>, before: Option<Option<i64>>) -> Audience {
        let mut a = Audience::default();
        for who in std::iter::once(now).chain(before) {
            match who {
                None => a.all_agents = true,
                Some(id) => {
                    if !a.users.contains(&id) {
                        a.users.push(id)
                    }
                }
            }
        }
        a
    }

    /// Only those who see every conversation (no agent): e.g. blocked-message reports.
    pub fn supervisors() -> Audience {
        Audience::default()
    }

    /// Whether the event reaches `user_id`; `sees_all`: their role grants
    /// `see_all_conversations`.
    pub fn admits(&self, user_id: i64, sees_all: bool) -> bool {
        sees_all || self.all_agents || self.users.contains(&user_id)
    }

    fn users_column(&self) -> String {
        let mut s = String::from(",");
        for u in &self.users {
            s.push_str(&u.to_string());
            s.push(',');
        }
        s
    }

    pub(crate) fn from_columns(all: bool, users: &str) -> Audience {
        Audience {
            all_agents: all,
            users: users.split(',').filter_map(|p| p.parse().ok()).collect(),
        }
    }
}

/// Event kinds that describe a conversation itself (not its content).
pub const CONVERSATION_KINDS: [&str; 2] = [
    switchboard_protocol::api::event_kind::CONVERSATION_UPDATED,
    switchboard_protocol::api::event_kind::CONVERSATION_MERGED,
];

pub struct NewEvent {
    pub kind: &'static str,
    pub conversation_id: Option<i64>,
    pub audience: Audience,
    pub data: Value,
}

/// An event as stored, with who may see it.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub event: Event,
    pub audience: Audience,
}

pub fn append(conn: &Db, ev: NewEvent, now: i64) -> Result<LoggedEvent> {
    let data = serde_json::to_string(&ev.data)?;
    let seq: i64 = conn.query_row(
        "INSERT INTO events (kind, conversation_id, visible_all, visible_users, data, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq",
        params![
            ev.kind,
            ev.conversation_id,
            ev.audience.all_agents,
            ev.audience.users_column(),
            data,
            now
        ],
        |r| r.get(0),
    )?;
    Ok(LoggedEvent {
        event: Event {
            seq,
            kind: ev.kind.to_string(),
            conversation_id: ev.conversation_id,
            data: ev.data,
            at: now,
        },
        audience: ev.audience,
    })
}

/// Changes who may see an event not yet committed (the job that appended it is still running):
/// a conversation opened and assigned in one job is shown to its assignee only, not first to
/// every agent as unassigned.
pub fn set_audience(conn: &Db, ev: &mut LoggedEvent, audience: Audience) -> Result<()> {
    conn.prepare_cached("UPDATE events SET visible_all = ?2, visible_users = ?3 WHERE seq = ?1")?
        .execute(params![
            ev.event.seq,
            audience.all_agents,
            audience.users_column()
        ])?;
    ev.audience = audience;
    Ok(())
}

pub fn head(conn: &Db) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", (), |r| r.get(0))?)
}

/// Every event after `after` (at most `limit`), in `seq` order, whoever may see it: what the
/// PostgreSQL follower broadcasts.
pub fn since(conn: &Db, after: i64, limit: usize) -> Result<Vec<LoggedEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, conversation_id, visible_all, visible_users, data, at
         FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], raw_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.parse()?);
    }
    Ok(out)
}

/// The first seven columns `seq, kind, conversation_id, visible_all, visible_users, data, at`.
fn raw_row(r: &Row<'_>) -> super::db::Result<RawLogged> {
    Ok(RawLogged {
        seq: r.get(0)?,
        kind: r.get(1)?,
        conversation_id: r.get(2)?,
        data: r.get(5)?,
        at: r.get(6)?,
        audience: Audience::from_columns(r.get(3)?, &r.get::<String>(4)?),
    })
}

/// Events after `after` that `user_id` may see, at most `limit`, scanning at most `scan` rows.
/// Returns the events and the seq up to which the log was scanned.
/// One stored event with its snapshot still as JSON text (what the HTTP page sends as is).
pub struct RawLogged {
    pub seq: i64,
    pub kind: String,
    pub conversation_id: Option<i64>,
    pub data: String,
    pub at: i64,
    pub audience: Audience,
}

impl RawLogged {
    /// With its snapshot parsed.
    pub fn parse(self) -> Result<LoggedEvent> {
        Ok(LoggedEvent {
            event: Event {
                seq: self.seq,
                kind: self.kind,
                conversation_id: self.conversation_id,
                data: serde_json::from_str(&self.data)?,
                at: self.at,
            },
            audience: self.audience,
        })
    }
}

/// Events after `after` that `user_id` may see, at most `limit`, scanning at most `scan` rows.
/// Returns the events and the seq up to which the log was scanned.
pub fn page(
    conn: &Db,
    after: i64,
    limit: usize,
    user_id: i64,
    sees_all: bool,
) -> Result<(Vec<LoggedEvent>, i64)> {
    let (rows, scanned) = page_raw(conn, after, limit, user_id, sees_all)?;
    let out = rows
        .into_iter()
        .map(RawLogged::parse)
        .collect::<Result<_>>()?;
    Ok((out, scanned))
}

/// [`page`] without parsing the snapshots.
pub fn page_raw(
    conn: &Db,
    after: i64,
    limit: usize,
    user_id: i64,
    sees_all: bool,
) -> Result<(Vec<RawLogged>, i64)> {
    let scan = (limit * 20).max(1000) as i64;
    let mut stmt = conn.prepare_cached(
        &format!(
            "SELECT e.seq, e.kind, e.conversation_id, e.visible_all, e.visible_users, e.data, e.at, c.id, c.assignee_id, {}
             FROM events e LEFT JOIN conversations c ON c.id = e.conversation_id
             WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2",
            super::numbers::configured_sql("c.phone_number_id")
        ),
    )?;
    let mut rows = stmt.query_map(params![after, scan], |r| {
        Ok((
            raw_row(r)?,
            r.get::<Option<i64>>(7)?,
            r.get::<Option<i64>>(8)?,
            r.get::<bool>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    let mut scanned_to = after;
    // Customers an agent may see now, asked once per page.
    let mut customers: std::collections::HashMap<i64, bool> = std::collections::HashMap::new();
    while let Some(r) = rows.next().transpose()? {
        let (ev, conv, assignee, configured) = r;
        let seq = ev.seq;
        if !ev.audience.admits(user_id, sees_all) {
            scanned_to = seq;
            continue;
        }
        // Replaying history must not hand an agent a conversation that has since gone to a
        // colleague: content events also need the conversation to be visible *now*. The
        // conversation's own updates still pass, so a client learns that it left. Events about
        // a customer (their snapshot, internal notes) follow the customer routes' rule: visible
        // while one of the customer's conversations is. A held conversation (its number is not
        // configured) is visible to no agent.
        let visible_now = match (conv, assignee) {
            (None, _) if !sees_all => match customer_of(&ev) {
                Some(contact) => match customers.get(&contact) {
                    Some(v) => *v,
                    None => {
                        let v = super::contacts::agent_sees(conn, user_id, contact)?;
                        customers.insert(contact, v);
                        v
                    }
                },
                None => true,
            },
            (None, _) => true,
            (Some(_), _) if !configured => false,
            (Some(_), None) => true,
            (Some(_), Some(a)) => a == user_id,
        };
        let structural = CONVERSATION_KINDS.contains(&ev.kind.as_str());
        if sees_all || visible_now || structural {
            if out.len() == limit {
                break;
            }
            let mut ev = ev;
            if !sees_all {
                ev.data = for_agent(conn, &ev.kind, ev.data, user_id)?;
            }
            out.push(ev);
        }
        scanned_to = seq;
    }
    Ok((out, scanned_to))
}

/// What an agent reads of an event's snapshot: of a purge's held conversations only those they
/// see now (an agent does not learn of a hold elsewhere); every other snapshot as it is.
pub fn for_agent(conn: &Db, kind: &str, data: String, user_id: i64) -> Result<String> {
    if kind != switchboard_protocol::api::event_kind::RETENTION_PURGED {
        return Ok(data);
    }
    let mut p: switchboard_protocol::governance::RetentionPurged = serde_json::from_str(&data)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT 1 FROM conversations c WHERE c.id = ?1 AND (c.assignee_id IS NULL OR c.assignee_id = ?2) AND {}",
        super::numbers::configured_sql("c.phone_number_id")
    ))?;
    let mut seen = Vec::new();
    for id in p.held {
        if stmt.exists(params![id, user_id])? {
            seen.push(id);
        }
    }
    p.held = seen;
    Ok(serde_json::to_string(&p)?)
}

/// The customer an event without a conversation is about (contact snapshots and notes).
fn customer_of(ev: &RawLogged) -> Option<i64> {
    use switchboard_protocol::api::event_kind;
    let field = match ev.kind.as_str() {
        event_kind::CONTACT_UPDATED => "id",
        event_kind::NOTE_CREATED => "contact_id",
        _ => return None,
    };
    let data: Value = serde_json::from_str(&ev.data).ok()?;
    data.get(field)?.as_i64()
}

pub fn last_seq_for(conn: &Db, conversation_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT MAX(seq) FROM events WHERE conversation_id = ?1",
            [conversation_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_rules() {
        let unassigned = Audience::conversation(None, None);
        assert!(unassigned.admits(5, false));
        let mine = Audience::conversation(Some(5), Some(Some(5)));
        assert!(mine.admits(5, false));
        assert!(!mine.admits(6, false));
        assert!(mine.admits(6, true));
        // Taken from the queue by agent 5: everyone learns it left the unassigned list.
        let taken = Audience::conversation(Some(5), Some(None));
        assert!(taken.admits(6, false));
        let moved = Audience::conversation(Some(7), Some(Some(5)));
        assert!(moved.admits(5, false) && moved.admits(7, false) && !moved.admits(6, false));
        let round = Audience::from_columns(false, &moved.users_column());
        assert_eq!(round, moved);
    }
}
