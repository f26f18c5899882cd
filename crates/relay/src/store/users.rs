//! Users and their sessions.
//!
//! A session is a bearer token the client holds; the store keeps its SHA-256 only. It ends at
//! `expires_at` (absolute lifetime), after `idle` without use, at logout, or when an admin
//! deactivates the user, changes their role or resets their password. Ending sessions also
//! appends a row to `session_revocations`, which every relay polls ([`revocations_since`]) to
//! close those sessions' open streams at once.

use crate::store::db::{params, Db, Optional, Row};
use switchboard_protocol::admin::{Account, Session};
use switchboard_protocol::api::User;

use super::roles::{self, PERMISSIONS_OF_USER};
use super::{Result, StoreError, WriteCtx};

/// The columns [`user_row`] reads, from the user row aliased `u`: id, email, name, role and the
/// role's permissions. Queries add their own columns after these (from index 5).
fn user_cols() -> String {
    format!("u.id, u.email, u.name, u.role, {PERMISSIONS_OF_USER}")
}

pub fn create_user(
    conn: &Db,
    email: &str,
    name: &str,
    role: &str,
    hash: &str,
    now: i64,
) -> Result<User> {
    if !roles::exists(conn, role)? {
        return Err(StoreError::Invalid(format!(
            "there is no role named {role}"
        )));
    }
    let email = email.trim().to_lowercase();
    let exists: Option<i64> = conn
        .query_row("SELECT id FROM users WHERE email = ?1", [&email], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = conn.query_row(
        "INSERT INTO users (email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![email, name, role, hash, now],
        |r| r.get::<i64>(0),
    )?;
    user(conn, id)
}

fn user_row(r: &Row<'_>) -> crate::store::db::Result<User> {
    let permissions: Option<String> = r.get(4)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        permissions: roles::parse_permissions(permissions.as_deref()),
    })
}

/// One user, by id.
pub fn user(conn: &Db, id: i64) -> Result<User> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM users u WHERE u.id = ?1",
        user_cols()
    ))?
    .query_row([id], user_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
}

/// The user, their password hash and whether they may sign in.
pub fn user_by_email(conn: &Db, email: &str) -> Result<Option<(User, String, bool)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {}, u.password_hash, u.active FROM users u WHERE u.email = ?1",
            user_cols()
        ))?
        .query_row([email.trim().to_lowercase()], |r| {
            Ok((user_row(r)?, r.get(5)?, r.get::<i64>(6)? != 0))
        })
        .optional()?)
}

/// A user's password hash, by id.
pub fn password_hash(conn: &Db, user_id: i64) -> Result<String> {
    conn.prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?
        .query_row([user_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))
}

pub fn users(conn: &Db) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM users u ORDER BY u.id",
        user_cols()
    ))?;
    let rows = stmt.query_map((), user_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Every user as admins see them, with their open sessions at `now`.
pub fn accounts(conn: &Db, now: i64, idle_ms: i64) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, u.active, u.created_at,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?1 AND s.last_used_at > ?2)
         FROM users u ORDER BY u.id",
        user_cols()
    ))?;
    let rows = stmt.query_map(params![now, now - idle_ms], account_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

fn account_row(r: &Row<'_>) -> crate::store::db::Result<Account> {
    let user = user_row(r)?;
    Ok(Account {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        active: r.get::<i64>(5)? != 0,
        created_at: r.get(6)?,
        sessions: r.get(7)?,
    })
}

/// One user as admins see them.
pub fn account(conn: &Db, id: i64, now: i64, idle_ms: i64) -> Result<Account> {
    conn.prepare_cached(&format!(
        "SELECT {}, u.active, u.created_at,
                (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?2 AND s.last_used_at > ?3)
         FROM users u WHERE u.id = ?1",
        user_cols()
    ))?
    .query_row(params![id, now, now - idle_ms], account_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
}

/// Changes a user's name, role and whether they may sign in. Returns whether their sessions
/// must end (role changed or deactivated; the caller ends them in the same job).
pub fn update_user(
    conn: &Db,
    id: i64,
    name: Option<&str>,
    role: Option<&str>,
    active: Option<bool>,
) -> Result<bool> {
    let (old_role, old_active): (String, i64) = conn
        .query_row("SELECT role, active FROM users WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    if let Some(n) = name {
        conn.execute("UPDATE users SET name = ?2 WHERE id = ?1", params![id, n])?;
    }
    let mut end = false;
    if let Some(r) = role {
        if r != old_role {
            if !roles::exists(conn, r)? {
                return Err(StoreError::Invalid(format!("there is no role named {r}")));
            }
            conn.execute("UPDATE users SET role = ?2 WHERE id = ?1", params![id, r])?;
            end = true;
        }
    }
    if let Some(a) = active {
        if i64::from(a) != old_active {
            conn.execute(
                "UPDATE users SET active = ?2 WHERE id = ?1",
                params![id, i64::from(a)],
            )?;
            end |= !a;
        }
    }
    Ok(end)
}

/// Sets a user's password hash.
pub fn set_password(conn: &Db, id: i64, hash: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    Ok(())
}

// ---------------------------------------------------------------- sessions

/// Who signs in: the client's address and `User-Agent` (shortened), recorded with the session.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// Starts a session; returns its id.
pub fn create_session(
    conn: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
    client: &Client,
) -> Result<i64> {
    let agent: String = client.user_agent.chars().take(200).collect();
    Ok(conn.query_row(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, expires_at, user_agent, ip)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6) RETURNING id",
        params![token_hash, user_id, now, expires_at, agent, client.ip],
        |r| r.get(0),
    )?)
}

/// Kept for callers that only need a token (tests, benchmarks): a session with no client.
pub fn insert_token(
    conn: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    create_session(
        conn,
        token_hash,
        user_id,
        now,
        expires_at,
        &Client::default(),
    )?;
    Ok(())
}

/// A live session: its user, id and when it was last used.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: User,
    pub id: i64,
    pub last_used_at: i64,
}

/// The session of a token at `now`, if it is live: not expired, used within `idle_ms`, and its
/// user active.
pub fn session_for_token(
    conn: &Db,
    token_hash: &str,
    now: i64,
    idle_ms: i64,
) -> Result<Option<LiveSession>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {}, s.id, s.last_used_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.last_used_at > ?3 AND u.active = 1",
            user_cols()
        ))?
        .query_row(params![token_hash, now, now - idle_ms], |r| {
            Ok(LiveSession {
                user: user_row(r)?,
                id: r.get(5)?,
                last_used_at: r.get(6)?,
            })
        })
        .optional()?)
}

/// Whether session `id` is live at `now` (open streams check this now and then).
pub fn session_live(conn: &Db, id: i64, now: i64, idle_ms: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = ?1 AND s.expires_at > ?2 AND s.last_used_at > ?3 AND u.active = 1",
        )?
        .query_row(params![id, now, now - idle_ms], |r| r.get::<i64>(0))
        .optional()?
        .is_some())
}

/// Records that session `id` was used at `now`.
pub fn touch_session(conn: &Db, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1 AND last_used_at < ?2",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// A user's live sessions, newest first; `current` marks the one asking.
pub fn sessions(
    conn: &Db,
    user_id: i64,
    current: i64,
    now: i64,
    idle_ms: i64,
) -> Result<Vec<Session>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, created_at, last_used_at, expires_at, user_agent, ip FROM sessions
         WHERE user_id = ?1 AND expires_at > ?2 AND last_used_at > ?3 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map(params![user_id, now, now - idle_ms], |r| {
        let id: i64 = r.get(0)?;
        let last_used_at: i64 = r.get(2)?;
        let expires_at: i64 = r.get(3)?;
        Ok(Session {
            id,
            created_at: r.get(1)?,
            last_used_at,
            expires_at: expires_at.min(last_used_at.saturating_add(idle_ms)),
            user_agent: r.get(4)?,
            ip: r.get(5)?,
            current: id == current,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Which sessions of a user end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ending {
    /// This one (logout, or ending one from the list).
    One(i64),
    /// Every one (deactivation, a role change, a password reset).
    All,
    /// Every one but this (a user changed their own password).
    AllBut(i64),
}

/// Ends sessions of `user_id`; their tokens stop working as this job commits, and every relay
/// closes their streams when it next polls the revocations. Returns how many ended.
pub fn end_sessions(ctx: &mut WriteCtx<'_>, user_id: i64, which: Ending) -> Result<usize> {
    let ended: Vec<i64> = {
        let mut stmt = ctx
            .conn
            .prepare_cached("SELECT id FROM sessions WHERE user_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([user_id], |r| r.get(0))?;
        rows.collect::<crate::store::db::Result<Vec<i64>>>()?
            .into_iter()
            .filter(|id| match which {
                Ending::One(one) => *id == one,
                Ending::All => true,
                Ending::AllBut(keep) => *id != keep,
            })
            .collect()
    };
    for id in &ended {
        ctx.conn
            .execute("DELETE FROM sessions WHERE id = ?1", [*id])?;
        ctx.conn.execute(
            "INSERT INTO session_revocations (user_id, session_id, at) VALUES (?1, ?2, ?3)",
            params![user_id, *id, ctx.now],
        )?;
    }
    if which == Ending::All {
        // Also streams opened a moment ago on a session this job did not see.
        ctx.conn.execute(
            "INSERT INTO session_revocations (user_id, session_id, at) VALUES (?1, NULL, ?2)",
            params![user_id, ctx.now],
        )?;
    }
    Ok(ended.len())
}

/// One revocation: every session of `user_id`, or only `session_id`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Revocation {
    pub id: i64,
    pub user_id: i64,
    pub session_id: Option<i64>,
}

/// Revocations after `after` (by id), oldest first.
pub fn revocations_since(conn: &Db, after: i64) -> Result<Vec<Revocation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, session_id FROM session_revocations WHERE id > ?1 ORDER BY id LIMIT 1000",
    )?;
    let rows = stmt.query_map([after], |r| {
        Ok(Revocation {
            id: r.get(0)?,
            user_id: r.get(1)?,
            session_id: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// The newest revocation's id (a relay starts polling after it).
pub fn revocations_head(conn: &Db) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(id), 0) FROM session_revocations",
        (),
        |r| r.get(0),
    )?)
}

/// What the purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Purged {
    pub sessions: usize,
    pub idempotency_keys: usize,
    pub revocations: usize,
}

/// Removes bookkeeping nobody needs any more: sessions past their lifetime or idle time,
/// idempotency keys older than a day (a retry after that is a new message, as at Stripe), and
/// revocations older than an hour (every relay has polled them).
/// Remembers the tokens of a user being deactivated (before their sessions end), so their app
/// learns why at its next contact; forgets them when the user is active again.
pub fn remember_deactivation(ctx: &mut WriteCtx<'_>, user_id: i64, active: bool) -> Result<()> {
    if active {
        ctx.conn
            .execute("DELETE FROM ended_tokens WHERE user_id = ?1", [user_id])?;
    } else {
        ctx.conn.execute(
            "INSERT INTO ended_tokens (token_hash, user_id, reason, at)
             SELECT token_hash, user_id, 'deactivated', ?2 FROM sessions WHERE user_id = ?1
             ON CONFLICT (token_hash) DO NOTHING",
            params![user_id, ctx.now],
        )?;
    }
    Ok(())
}

/// Why a token that opens no session ended, where the relay remembers (`deactivated`).
pub fn ended_reason(conn: &Db, token_hash: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT reason FROM ended_tokens WHERE token_hash = ?1")?
        .query_row([token_hash], |r| r.get(0))
        .optional()?)
}

pub fn purge(conn: &Db, now: i64, idle_ms: i64) -> Result<Purged> {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    conn.execute(
        "DELETE FROM ended_tokens WHERE at <= ?1",
        [now - 90 * DAY_MS],
    )?;
    Ok(Purged {
        sessions: conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_used_at <= ?2",
            params![now, now - idle_ms],
        )?,
        idempotency_keys: conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at <= ?1",
            [now - DAY_MS],
        )?,
        revocations: conn.execute(
            "DELETE FROM session_revocations WHERE at <= ?1",
            [now - 3600 * 1000],
        )?,
    })
}
