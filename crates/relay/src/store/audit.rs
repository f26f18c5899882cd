//! The audit log: what admins and supervisors did.

use crate::store::db::{params, Db};
use serde_json::Value;

use super::Result;

pub fn audit(conn: &Db, actor: &str, action: &str, details: &Value, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log (actor, action, details, at) VALUES (?1, ?2, ?3, ?4)",
        params![actor, action, details.to_string(), now],
    )?;
    Ok(())
}

pub fn audit_entries(conn: &Db, limit: usize) -> Result<Vec<Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, actor, action, details, at FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let details: String = r.get(3)?;
        Ok(serde_json::json!({
            "id": r.get::<i64>(0)?, "actor": r.get::<String>(1)?, "action": r.get::<String>(2)?,
            "details": serde_json::from_str::<Value>(&details).unwrap_or(Value::Null), "at": r.get::<i64>(4)?,
        }))
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}
