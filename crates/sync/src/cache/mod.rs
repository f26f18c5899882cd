//! The local cache: one SQLite database per relay and user (WAL, versioned migrations, FTS5).
//!
//! Everything the user may see is mirrored here from the relay's event log, so the inbox opens
//! and search answers without the network. Writes come from three places only: applying a page
//! of events ([`apply`]), the local outbox ([`outbox`]), and sign-in metadata. Each page is
//! applied in one transaction together with the cursor, so a crash never leaves the cache
//! half-applied or the cursor ahead of the data.

pub mod alerts;
pub mod apply;
pub mod outbox;
pub mod query;
pub mod raw;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use switchboard_protocol::api::User;

use crate::error::{Result, SyncError};
use crate::private;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema_v1.sql")),
    (2, include_str!("schema_v2.sql")),
    (3, include_str!("schema_v3.sql")),
    (4, include_str!("schema_v4.sql")),
    (5, include_str!("schema_v5.sql")),
    (6, include_str!("schema_v6.sql")),
];

pub struct Cache {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    /// Contact id → `updated_at` of the version stored, so repeated identical contact snapshots
    /// (one in every conversation update) are not written again. Cleared whenever contacts are
    /// deleted.
    pub(crate) known_contacts: Mutex<std::collections::HashMap<i64, i64>>,
}

/// Where the cache of `user_id` on `relay_url` lives under `root`.
pub fn cache_path(root: &Path, relay_url: &str, user_id: i64) -> PathBuf {
    let relay: String = relay_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join(relay).join(format!("user-{user_id}.db"))
}

impl Cache {
    /// Opens (creating if needed) a cache file. It holds customer data, so on Unix the
    /// directories created for it are 0700 and the database with its `-wal` and `-shm` files is
    /// 0600 (the database is created 0600 before SQLite opens it, and SQLite gives its side files
    /// the database's mode; the files of an older cache are tightened here).
    pub fn open(path: &Path) -> Result<Cache> {
        let open_err = |e: std::io::Error| SyncError::CacheOpen {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            private::create_dir_all(dir).map_err(open_err)?;
        }
        match private::restrict(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                private::create_file(path).map_err(open_err)?
            }
            Err(e) => return Err(open_err(e)),
        }
        let conn = Connection::open(path).map_err(|e| SyncError::CacheOpen {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: a committed page survives a crash of the app; the relay is the
        // source of truth for anything lost to a power cut, and re-sync restores it.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let cache = Self::init(conn, Some(path.to_path_buf()))?;
        for side in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(side);
            match private::restrict(Path::new(&name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(open_err(e)),
            }
        }
        Ok(cache)
    }

    /// A cache in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Cache> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Cache> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Freed space is overwritten: an erased customer's text does not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "cache_size", -32_000)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > known {
            return Err(SyncError::CacheTooNew {
                found: current,
                known,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(Cache {
            conn: Mutex::new(conn),
            path,
            known_contacts: Mutex::default(),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .lock()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        set_meta(&self.lock(), key, value)
    }

    /// The last event sequence number applied.
    pub fn cursor(&self) -> Result<i64> {
        Ok(self
            .meta("cursor")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The signed-in user this cache belongs to (decides what the cache keeps).
    pub fn user(&self) -> Result<Option<User>> {
        Ok(self
            .meta("user")?
            .and_then(|u| serde_json::from_str(&u).ok()))
    }

    pub fn set_user(&self, user: &User) -> Result<()> {
        self.set_meta("user", &serde_json::to_string(user)?)
    }

    /// The signed-in user's id and whether their role shows every conversation.
    pub(crate) fn viewer(&self) -> Result<Option<(i64, bool)>> {
        Ok(self.user()?.map(|u| (u.id, u.sees_all())))
    }

    /// Forgets what the log delivered (conversations, messages, customers, notes) and sets the
    /// cursor back to the start, keeping the outbox and the user: the next catch-up applies the
    /// log again under the user's current rule (their role now shows more or less).
    pub fn restart_log(&self) -> Result<()> {
        self.known_contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.lock().execute_batch(
            "BEGIN; DELETE FROM messages; DELETE FROM conversations; DELETE FROM notes; DELETE FROM contact_tags; DELETE FROM contacts; DELETE FROM meta WHERE key = 'cursor'; COMMIT;",
        )?;
        Ok(())
    }

    /// Deletes everything (sign-out with "wipe local data", a deactivated account): the rows,
    /// their freed pages overwritten (`secure_delete`), the write-ahead log emptied and the file
    /// compacted, so no customer text stays in the file.
    pub fn wipe(&self) -> Result<()> {
        self.known_contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let conn = self.lock();
        conn.execute_batch(
            "PRAGMA secure_delete = ON;
             DELETE FROM messages; DELETE FROM conversations; DELETE FROM notes; DELETE FROM contact_tags; DELETE FROM contacts; DELETE FROM outbox; DELETE FROM alerts; DELETE FROM meta;",
        )?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        conn.execute_batch("VACUUM;")?;
        Ok(())
    }
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache written by version 1 opens under version 2 with its data intact; customers start
    /// without tags and the tag filter works on the upgraded schema.
    #[test]
    fn a_version_1_cache_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO contacts (id, wa_id, name, updated_at) VALUES (1, '4915', 'Erika', 5);
                 INSERT INTO conversations (id, phone_number_id, contact_id, status, last_message_at, preview, unread_count, created_at, updated_at)
                    VALUES (9, 'pn', 1, 'open', 5, 'Hallo', 1, 5, 5);
                 INSERT INTO meta (key, value) VALUES ('cursor', '42');",
            )
            .unwrap();
        }
        let cache = Cache::open(&path).unwrap();
        let version: i64 = cache
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.last().unwrap().0);
        let c = cache.conversation(9).unwrap();
        assert_eq!(c.contact.name.as_deref(), Some("Erika"));
        assert!(c.contact.tags.is_empty());
        assert!(!cache.history_complete(9).unwrap());
        assert!(cache
            .conversations(&crate::ConversationFilter {
                tag: Some("vip".into()),
                ..Default::default()
            })
            .unwrap()
            .is_empty());
        assert!(cache.notes(1).unwrap().is_empty());
    }

    /// A wipe leaves no customer text in the cache's files (database, write-ahead log).
    #[test]
    fn a_wipe_leaves_no_customer_text_in_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        let cache = Cache::open(&path).unwrap();
        let secret = "Kundengeheimnis-4711";
        cache
            .lock()
            .execute_batch(&format!(
                "INSERT INTO contacts (id, wa_id, name, updated_at) VALUES (1, '4915', '{secret}', 5);
                 INSERT INTO conversations (id, phone_number_id, contact_id, status, last_message_at, preview, unread_count, created_at, updated_at)
                    VALUES (9, 'pn', 1, 'open', 5, '{secret}', 1, 5, 5);
                 INSERT INTO messages (id, conversation_id, text, client_id, data)
                    VALUES (1, 9, '{secret}', NULL, '{{\"created_at\": 5, \"text\": \"{secret}\"}}');"
            ))
            .unwrap();
        cache.wipe().unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            if let Ok(bytes) = std::fs::read(PathBuf::from(name)) {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "the text is still in cache.db{suffix}"
                );
            }
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn side(path: &Path, suffix: &str) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// The cache holds customer data: the directories made for it are 0700, the database and
    /// its WAL files 0600.
    #[cfg(unix)]
    #[test]
    fn a_new_cache_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir.path().join("cache"), "http://127.0.0.1:8080", 7);
        let cache = Cache::open(&path).unwrap();
        cache.set_meta("cursor", "1").unwrap();
        assert_eq!(mode(&dir.path().join("cache")), 0o700);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
        // Open in WAL mode after a write, both side files exist.
        assert_eq!(mode(&side(&path, "-wal")), 0o600);
        assert_eq!(mode(&side(&path, "-shm")), 0o600);
    }

    /// A cache an older build left readable by others is tightened when it is opened.
    #[cfg(unix)]
    #[test]
    fn opening_an_older_cache_tightens_its_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        {
            let cache = Cache::open(&path).unwrap();
            cache.set_meta("cursor", "5").unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cache = Cache::open(&path).unwrap();
        cache.set_meta("cursor", "6").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&side(&path, "-wal")), 0o600);
        assert_eq!(mode(&side(&path, "-shm")), 0o600);
        assert_eq!(cache.cursor().unwrap(), 6);
    }
}
