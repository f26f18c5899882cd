//! The media archive's bookkeeping (`media_archive`): which inbound media files are to be
//! downloaded, when to try again, which are stored, and which left the archive (evicted to keep
//! it under its size, expired past its retention). The files themselves and the worker that
//! fetches them are `crate::archive`; [`retry_delay`] is the retry decision (pure).

use std::time::Duration;

use super::db::{params, Db};
use super::{Result, WriteCtx};

/// How many times a download is tried before the file is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before attempt `attempts + 1` after `attempts` failed ones: `base` times four for
/// each failure (5 s, 20 s, 80 s, ... up to about a day with the default), `None` once
/// [`MAX_ATTEMPTS`] were made.
pub fn retry_delay(attempts: i64, base: Duration) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let factor = 4u32.saturating_pow(attempts.clamp(0, 15) as u32);
    Some(
        base.saturating_mul(factor)
            .min(Duration::from_secs(24 * 3600)),
    )
}

/// Queues an inbound message's media file for the archive (once per media id).
pub fn enqueue(ctx: &mut WriteCtx<'_>, media_id: &str, message_id: i64, at: i64) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO media_archive (media_id, message_id, state, next_attempt_at, created_at)
             VALUES (?1, ?2, 'pending', ?3, ?4) ON CONFLICT (media_id) DO NOTHING",
        )?
        .execute(params![media_id, message_id, ctx.now, at])?;
    Ok(())
}

/// A file to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub media_id: String,
    pub attempts: i64,
    /// The business number the file came on.
    pub phone_number_id: Option<String>,
}

/// Files due for a download at `now`, the longest waiting first.
pub fn due(conn: &Db, now: i64, limit: usize) -> Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.media_id, a.attempts, c.phone_number_id FROM media_archive a
         LEFT JOIN messages m ON m.id = a.message_id LEFT JOIN conversations c ON c.id = m.conversation_id
         WHERE a.state = 'pending' AND a.next_attempt_at <= ?1
         ORDER BY a.next_attempt_at, a.media_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| {
        Ok(Due {
            media_id: r.get(0)?,
            attempts: r.get(1)?,
            phone_number_id: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// A download finished: the file is stored with `bytes`. `false` when its row is gone (a purge
/// or an erasure took the message meanwhile): the caller deletes the file.
pub fn stored(ctx: &mut WriteCtx<'_>, media_id: &str, bytes: u64) -> Result<bool> {
    let n = ctx.conn.exec(
        "UPDATE media_archive SET state = 'stored', bytes = ?2, stored_at = ?3, error = NULL WHERE media_id = ?1",
        params![media_id, bytes as i64, ctx.now],
    )?;
    Ok(n > 0)
}

/// A download failed: tried again after `retry` (from [`retry_delay`]), or given up.
pub fn failed(
    ctx: &mut WriteCtx<'_>,
    media_id: &str,
    error: &str,
    retry: Option<Duration>,
) -> Result<()> {
    match retry {
        Some(wait) => ctx.conn.exec(
            "UPDATE media_archive SET attempts = attempts + 1, next_attempt_at = ?2, error = ?3 WHERE media_id = ?1",
            params![media_id, ctx.now + wait.as_millis() as i64, error],
        )?,
        None => ctx.conn.exec(
            "UPDATE media_archive SET attempts = attempts + 1, state = 'failed', error = ?2 WHERE media_id = ?1",
            params![media_id, error],
        )?,
    };
    Ok(())
}

/// Files that left the archive: `expired` (past the retention) or `evicted` (to keep it under
/// its size).
pub fn removed(ctx: &mut WriteCtx<'_>, files: &[crate::media::Removed]) -> Result<()> {
    for f in files {
        let state = if f.expired { "expired" } else { "evicted" };
        ctx.conn.exec(
            "UPDATE media_archive SET state = ?2 WHERE media_id = ?1 AND state = 'stored'",
            params![f.name, state],
        )?;
    }
    Ok(())
}

/// Every file's media id, state and failed attempts, oldest message first (for admins and
/// tests).
pub fn entries(conn: &Db) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT media_id, state, attempts FROM media_archive ORDER BY created_at, media_id",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// File counts per state and the stored bytes.
pub fn summary(conn: &Db) -> Result<switchboard_protocol::admin::ArchiveSummary> {
    let mut s = switchboard_protocol::admin::ArchiveSummary {
        stored: 0,
        bytes: 0,
        pending: 0,
        failed: 0,
        evicted: 0,
        expired: 0,
        max_bytes: 0,
        retention_days: None,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT state, COUNT(*), COALESCE(SUM(bytes), 0) FROM media_archive GROUP BY state",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<i64>(2)?))
    })?;
    for row in rows {
        let (state, n, bytes) = row?;
        match state.as_str() {
            "stored" => {
                s.stored = n;
                s.bytes = bytes;
            }
            "pending" => s.pending = n,
            "failed" => s.failed = n,
            "evicted" => s.evicted = n,
            "expired" => s.expired = n,
            _ => {}
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_fourfold_cap_at_a_day_and_end() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(0, base), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(1, base), Some(Duration::from_secs(20)));
        assert_eq!(retry_delay(2, base), Some(Duration::from_secs(80)));
        assert_eq!(retry_delay(7, base), Some(Duration::from_secs(81_920)));
        assert_eq!(
            retry_delay(7, Duration::from_secs(60)),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(retry_delay(MAX_ATTEMPTS, base), None);
        assert_eq!(
            retry_delay(-3, base),
            Some(base),
            "a corrupt count retries soon"
        );
    }
}
