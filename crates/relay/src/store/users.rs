//! Users and their session tokens.

use crate::store::db::{params, Db, Optional, Row};
use switchboard_protocol::api::{Role, User};

use super::{Result, StoreError};

pub fn create_user(
    conn: &Db,
    email: &str,
    name: &str,
    role: Role,
    hash: &str,
    now: i64,
) -> Result<User> {
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
        params![email, name, role.as_str(), hash, now],
        |r| r.get(0),
    )?;
    Ok(User {
        id,
        email,
        name: name.to_string(),
        role,
    })
}

fn user_row(r: &Row<'_>) -> crate::store::db::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
    })
}

/// The user and their password hash.
pub fn user_by_email(conn: &Db, email: &str) -> Result<Option<(User, String)>> {
    Ok(conn
        .prepare_cached("SELECT id, email, name, role, password_hash FROM users WHERE email = ?1")?
        .query_row([email.trim().to_lowercase()], |r| {
            Ok((user_row(r)?, r.get(4)?))
        })
        .optional()?)
}

pub fn users(conn: &Db) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached("SELECT id, email, name, role FROM users ORDER BY id")?;
    let rows = stmt.query_map((), user_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn insert_token(
    conn: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

pub fn user_for_token(conn: &Db, token_hash: &str, now: i64) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.email, u.name, u.role FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2",
        )?
        .query_row(params![token_hash, now], user_row)
        .optional()?)
}

pub fn delete_token(conn: &Db, token_hash: &str) -> Result<()> {
    conn.execute("DELETE FROM tokens WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}
