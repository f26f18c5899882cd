//! `switchboard-relay admin backup FILE` and `admin restore FILE`: a consistent online backup of
//! an embedded-SQLite relay while it serves traffic, and bringing one back into an empty data
//! directory.
//!
//! A backup is one tar file: `BACKUP.json` (what it holds: schema version, when, how many media
//! files), `switchboard.db` (a transactionally consistent copy taken with SQLite's
//! `VACUUM INTO` through its own read transaction, so writers go on meanwhile) and
//! `media-archive/<media id>` (the media archive's files, copied after the database: a file
//! archived later is not in the backup, its row says `pending` and is fetched again while Meta
//! still has it). It is written next to FILE under a temporary name and renamed when complete; an
//! existing FILE is never replaced. Restore refuses a data directory (or database file) that is
//! not empty, a backup of a newer schema, and any entry other than those three kinds (no path
//! leaves the data directory). On PostgreSQL the database is backed up with PostgreSQL's own tools
//! (see the README); these commands say so.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, DatabaseUrl};

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: a backup never replaces a file; name a new one")]
    Exists(PathBuf),
    #[error("the relay runs on PostgreSQL: back up the database with pg_dump or pg_basebackup, and the data directory's media-archive folder (README: Several relays on one PostgreSQL)")]
    Postgres,
    #[error("{0} is not empty: restore only into an empty data directory (move the old one aside first)")]
    NotEmpty(PathBuf),
    #[error("{0} is not a Switchboard backup: {1}")]
    NotABackup(PathBuf, String),
    #[error("the backup holds schema version {found}; this relay understands up to {known}: restore it with a newer relay")]
    TooNew { found: i64, known: i64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the database could not be copied: {0}")]
    Db(#[from] rusqlite::Error),
}

/// `BACKUP.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: i64,
    /// When it was taken (ms).
    pub created_at: i64,
    pub media_files: u64,
    pub media_bytes: u64,
}

const MANIFEST: &str = "BACKUP.json";
const DATABASE: &str = "switchboard.db";
const MEDIA: &str = "media-archive";

fn sqlite_path(config: &Config) -> Result<&Path, BackupError> {
    match &config.database {
        DatabaseUrl::Sqlite(p) => Ok(p),
        DatabaseUrl::Postgres(_) => Err(BackupError::Postgres),
    }
}

/// A file name the archive could have written (`MediaCache` names files by media id).
fn safe_media_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Takes a backup of the relay configured by `config` into `out`, while it may be serving.
pub fn backup(config: &Config, out: &Path) -> Result<Manifest, BackupError> {
    let db = sqlite_path(config)?;
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".switchboard-backup-")
        .tempdir_in(dir)?;
    let copy = work.path().join(DATABASE);
    {
        // A connection of its own: VACUUM INTO reads in one transaction (a consistent snapshot)
        // and never writes the live database, so the relay's writer goes on meanwhile.
        let conn = rusqlite::Connection::open(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute("VACUUM INTO ?1", [copy.to_string_lossy().as_ref()])?;
    }
    let schema_version: i64 = rusqlite::Connection::open(&copy)?.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let media_dir = config.data_dir.join(MEDIA);
    let mut media: Vec<(String, PathBuf, u64)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&media_dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = e.metadata()?;
            if meta.is_file() && safe_media_name(&name) {
                media.push((name, e.path(), meta.len()));
            }
        }
    }
    media.sort();
    let manifest = Manifest {
        format: 1,
        schema_version,
        created_at: crate::store::now_ms(),
        media_files: media.len() as u64,
        media_bytes: media.iter().map(|m| m.2).sum(),
    };
    let partial = work.path().join("backup.tar");
    {
        let mut tar = tar::Builder::new(File::create(&partial)?);
        let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime((manifest.created_at / 1000) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        tar.append_path_with_name(&copy, DATABASE)?;
        for (name, path, _) in &media {
            // A file evicted since it was listed is simply not in the backup.
            match File::open(path) {
                Ok(mut f) => tar.append_file(format!("{MEDIA}/{name}"), &mut f)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        tar.into_inner()?.sync_all()?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))?;
    }
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    std::fs::rename(&partial, out)?;
    Ok(manifest)
}

fn dir_is_empty(p: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(p) {
        Ok(mut rd) => Ok(rd.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Restores `file` into the data directory (and database file) `config` names, which must be
/// empty. Returns what the backup held.
pub fn restore(config: &Config, file: &Path) -> Result<Manifest, BackupError> {
    let db = sqlite_path(config)?.to_path_buf();
    let data = config.data_dir.clone();
    if !dir_is_empty(&data)? {
        return Err(BackupError::NotEmpty(data));
    }
    if db.exists() {
        return Err(BackupError::NotEmpty(db));
    }
    let not_a_backup = |why: String| BackupError::NotABackup(file.to_path_buf(), why);
    // Read everything into a staging folder inside the data directory first; move into place
    // only when the whole backup read cleanly.
    std::fs::create_dir_all(&data)?;
    let staging = tempfile::Builder::new()
        .prefix(".restore-")
        .tempdir_in(&data)?;
    let mut manifest: Option<Manifest> = None;
    let mut has_db = false;
    let mut archive = tar::Archive::new(File::open(file)?);
    for entry in archive.entries().map_err(|e| not_a_backup(e.to_string()))? {
        let mut entry = entry.map_err(|e| not_a_backup(e.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(not_a_backup("it holds something other than files".into()));
        }
        let name = entry
            .path()
            .map_err(|e| not_a_backup(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let target = match name.as_str() {
            MANIFEST => {
                let mut text = String::new();
                entry.read_to_string(&mut text)?;
                manifest = Some(
                    serde_json::from_str(&text)
                        .map_err(|e| not_a_backup(format!("{MANIFEST}: {e}")))?,
                );
                continue;
            }
            DATABASE => {
                has_db = true;
                staging.path().join(DATABASE)
            }
            other => match other.strip_prefix(&format!("{MEDIA}/")) {
                Some(m) if safe_media_name(m) => staging.path().join(MEDIA).join(m),
                _ => return Err(not_a_backup(format!("unexpected entry {other:?}"))),
            },
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = File::create(&target)?;
        std::io::copy(&mut entry, &mut out)?;
        out.flush()?;
        out.sync_all()?;
    }
    let manifest = manifest.ok_or_else(|| not_a_backup(format!("no {MANIFEST}")))?;
    if !has_db {
        return Err(not_a_backup(format!("no {DATABASE}")));
    }
    let known = crate::store::schema_version();
    if manifest.schema_version > known {
        return Err(BackupError::TooNew {
            found: manifest.schema_version,
            known,
        });
    }
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(staging.path().join(DATABASE), &db)?;
    let media = staging.path().join(MEDIA);
    if media.exists() {
        std::fs::rename(&media, data.join(MEDIA))?;
    }
    Ok(manifest)
}
