//! The business's WhatsApp numbers: configured ones and those first seen in a webhook.

use crate::store::db::{params, Db};
use switchboard_protocol::api::PhoneNumber;

use super::Result;

pub fn upsert_number(conn: &Db, n: &PhoneNumber, waba_id: Option<&str>, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO phone_numbers (phone_number_id, display_phone_number, name, waba_id, configured, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = excluded.display_phone_number,
            name = excluded.name, waba_id = COALESCE(excluded.waba_id, phone_numbers.waba_id),
            configured = excluded.configured",
    )?
    .execute(params![n.phone_number_id, n.display_phone_number, n.name, waba_id, n.configured, now])?;
    Ok(())
}

/// Records a number seen in a webhook; an unknown one appears as unconfigured for admins.
pub fn note_number_seen(conn: &Db, id: &str, display: &str, waba_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO phone_numbers (phone_number_id, display_phone_number, name, waba_id, configured, created_at)
         VALUES (?1, ?2, '', ?3, 0, ?4) ON CONFLICT (phone_number_id) DO NOTHING",
    )?
    .execute(params![id, display, if waba_id.is_empty() { None } else { Some(waba_id) }, now])?;
    Ok(())
}

pub fn numbers(conn: &Db) -> Result<Vec<PhoneNumber>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, display_phone_number, name, configured FROM phone_numbers ORDER BY configured DESC, name, phone_number_id",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(PhoneNumber {
            phone_number_id: r.get(0)?,
            display_phone_number: r.get(1)?,
            name: r.get(2)?,
            configured: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}
