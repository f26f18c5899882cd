//! Roles: named sets of permissions (`roles`), which `users.role` names.
//!
//! Users' permissions are read with the user on every request ([`PERMISSIONS_OF_USER`]), so a
//! change to a role takes effect on its holders' next request. Two rules keep a relay
//! manageable: a predefined role keeps its name and cannot be deleted, and no change (to a role
//! or to a user) may leave no active user allowed to manage users ([`managers_left`]).

use switchboard_protocol::access::{valid_role_name, Permission, RoleInfo};

use crate::store::db::{params, Db, Optional, Row};

use super::{Result, StoreError};

/// The SQL expression for the permissions of the user row aliased `u` (a comma-separated list;
/// NULL when the role does not exist).
pub const PERMISSIONS_OF_USER: &str = "(SELECT r.permissions FROM roles r WHERE r.name = u.role)";

/// Parses a stored permission list; names this build does not know are skipped.
pub fn parse_permissions(stored: Option<&str>) -> Vec<Permission> {
    let mut out: Vec<Permission> = stored
        .unwrap_or("")
        .split(',')
        .filter_map(|p| Permission::parse(p.trim()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The stored form: sorted, without duplicates.
pub fn store_permissions(permissions: &[Permission]) -> String {
    let mut ps = permissions.to_vec();
    ps.sort();
    ps.dedup();
    ps.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

fn role_row(r: &Row<'_>) -> crate::store::db::Result<RoleInfo> {
    let permissions: String = r.get(2)?;
    Ok(RoleInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        permissions: parse_permissions(Some(&permissions)),
        builtin: r.get::<i64>(3)? != 0,
        users: r.get(4)?,
    })
}

const ROLE_COLS: &str = "r.id, r.name, r.permissions, r.builtin,
    (SELECT COUNT(*) FROM users u WHERE u.role = r.name)";

pub fn list(conn: &Db) -> Result<Vec<RoleInfo>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROLE_COLS} FROM roles r ORDER BY r.builtin DESC, r.id"
    ))?;
    let rows = stmt.query_map((), role_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn get(conn: &Db, id: i64) -> Result<RoleInfo> {
    conn.prepare_cached(&format!("SELECT {ROLE_COLS} FROM roles r WHERE r.id = ?1"))?
        .query_row([id], role_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("role {id}")))
}

/// Whether a role of this name exists.
pub fn exists(conn: &Db, name: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT id FROM roles WHERE name = ?1", [name], |r| {
            r.get::<i64>(0)
        })
        .optional()?
        .is_some())
}

fn taken(conn: &Db, name: &str, except: i64) -> Result<bool> {
    // Names differing only in case would confuse people choosing from a list. Compared here, not
    // in SQL: SQLite's LOWER folds ASCII only (`Qualität` and `QUALITÄT` must clash too).
    let wanted = name.to_lowercase();
    let mut stmt = conn.prepare_cached("SELECT id, name FROM roles")?;
    let rows = stmt.query_map((), |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)))?;
    for row in rows {
        let (id, other) = row?;
        if id != except && other.to_lowercase() == wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn create(conn: &Db, name: &str, permissions: &[Permission], now: i64) -> Result<RoleInfo> {
    let name = valid_role_name(name).map_err(StoreError::Invalid)?;
    if taken(conn, &name, 0)? {
        return Err(StoreError::Conflict(format!("a role named {name} exists")));
    }
    let id: i64 = conn.query_row(
        "INSERT INTO roles (name, permissions, builtin, created_at) VALUES (?1, ?2, 0, ?3) RETURNING id",
        params![name, store_permissions(permissions), now],
        |r| r.get(0),
    )?;
    get(conn, id)
}

/// Renames a role (its holders follow) and/or sets its permissions.
pub fn update(
    conn: &Db,
    id: i64,
    name: Option<&str>,
    permissions: Option<&[Permission]>,
) -> Result<RoleInfo> {
    let old = get(conn, id)?;
    if let Some(name) = name {
        let name = valid_role_name(name).map_err(StoreError::Invalid)?;
        if name != old.name {
            if old.builtin {
                return Err(StoreError::Conflict(format!(
                    "{} is a predefined role; its name cannot change",
                    old.name
                )));
            }
            if taken(conn, &name, id)? {
                return Err(StoreError::Conflict(format!("a role named {name} exists")));
            }
            conn.execute(
                "UPDATE roles SET name = ?2 WHERE id = ?1",
                params![id, name],
            )?;
            conn.execute(
                "UPDATE users SET role = ?2 WHERE role = ?1",
                params![old.name, name],
            )?;
        }
    }
    if let Some(permissions) = permissions {
        conn.execute(
            "UPDATE roles SET permissions = ?2 WHERE id = ?1",
            params![id, store_permissions(permissions)],
        )?;
    }
    if managers_left(conn)? == 0 {
        return Err(StoreError::Conflict(
            "no active user would be allowed to manage users any more".into(),
        ));
    }
    get(conn, id)
}

/// Deletes a role no one holds (not a predefined one).
pub fn delete(conn: &Db, id: i64) -> Result<RoleInfo> {
    let role = get(conn, id)?;
    if role.builtin {
        return Err(StoreError::Conflict(format!(
            "{} is a predefined role and cannot be deleted",
            role.name
        )));
    }
    if role.users > 0 {
        return Err(StoreError::Conflict(format!(
            "{} users hold the role {}; give them another role first",
            role.users, role.name
        )));
    }
    conn.execute("DELETE FROM roles WHERE id = ?1", [id])?;
    Ok(role)
}

/// Active users whose role allows managing users. A change that leaves none is refused (the
/// caller runs it inside its write, so refusing rolls the change back).
pub fn managers_left(conn: &Db) -> Result<i64> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PERMISSIONS_OF_USER} FROM users u WHERE u.active = 1"
    ))?;
    let rows = stmt.query_map((), |r| r.get::<Option<String>>(0))?;
    let mut n = 0;
    for permissions in rows {
        if parse_permissions(permissions?.as_deref()).contains(&Permission::ManageUsers) {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_lists_parse_sorted_and_skip_unknown_names() {
        assert_eq!(
            parse_permissions(Some("monitor, reassign,monitor,flying")),
            vec![Permission::Reassign, Permission::Monitor]
        );
        assert!(parse_permissions(None).is_empty());
        assert!(parse_permissions(Some("")).is_empty());
        assert_eq!(
            store_permissions(&[
                Permission::Monitor,
                Permission::Reassign,
                Permission::Monitor
            ]),
            "reassign,monitor"
        );
    }
}
