//! Files and directories only their owner may open: the client keeps customer data (the cache),
//! the bearer token and its settings on disk. On Unix the directories created here are 0700 and
//! the files 0600; elsewhere these are the plain `std` calls (on Windows the user's profile
//! directory already keeps other users out).

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many fresh temporary names [`write_atomic`] tries before giving up.
const TEMP_ATTEMPTS: u32 = 8;

/// Creates `dir` and any missing parents; on Unix those it creates are 0700. Directories that
/// already exist are left alone (they may be shared ones, like `/tmp`).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Makes the existing file `path` readable and writable by its owner only (0600) on Unix.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Creates `path` if it is missing, 0600 from its creation on Unix; an existing file is kept as
/// it is (not truncated, mode unchanged: see [`restrict`]).
pub fn create_file(path: &Path) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop)
}

/// Replaces `path` with a file holding `bytes`, readable by its owner only, atomically.
///
/// The bytes go to a temporary file in the same directory under a name unique to this process,
/// moment and call (`.<name>.<pid>-<nanos>-<random>.tmp`). It is created new and exclusively
/// (`create_new`: a file or a symlink someone planted under that name makes the open fail; it is
/// never followed and never truncated), 0600 from its creation on Unix, written, synced and
/// renamed over `path` (a symlink at `path` itself is replaced, not followed). On any error the
/// temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = dir.join(temp_name(name));
        let file = match create_exclusive(&tmp) {
            Ok(f) => f,
            // Taken (by chance or by someone else's planted file or link): try another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = fill(file, bytes).and_then(|()| fs::rename(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        return written;
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "no free temporary name next to {} after {TEMP_ATTEMPTS} tries",
            path.display()
        ),
    ))
}

fn temp_name(name: &OsStr) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    PathBuf::from(format!(
        ".{}.{}-{nanos}-{:016x}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ))
}

fn create_exclusive(tmp: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(tmp)
}

/// Writes and syncs the new file, then closes it (it is renamed only once closed).
fn fill(mut file: File, bytes: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        // The umask can only take bits away from 0600; this makes it exactly 0600 (on the open
        // file, so no path is followed).
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["settings.json"]);
    }

    #[test]
    fn a_failed_write_removes_its_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the file should go: the rename over it fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        assert!(write_atomic(&path, b"data").is_err());
        assert_eq!(names(dir.path()), ["taken"]);
        assert_eq!(names(&path), ["inside"]);
    }

    #[test]
    fn create_file_keeps_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        fs::write(&path, b"data").unwrap();
        create_file(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"data");
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn on_unix_new_directories_are_0700_and_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        create_dir_all(&dir.path().join("a/b")).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);

        let written = dir.path().join("a/b/settings.json");
        fs::write(&written, b"old").unwrap();
        fs::set_permissions(&written, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&written, b"new").unwrap();
        assert_eq!(
            mode(&written),
            0o600,
            "a replaced 0644 file comes back 0600"
        );

        let created = dir.path().join("a/b/cache.db");
        create_file(&created).unwrap();
        assert_eq!(mode(&created), 0o600);

        fs::set_permissions(&created, fs::Permissions::from_mode(0o664)).unwrap();
        restrict(&created).unwrap();
        assert_eq!(mode(&created), 0o600);
    }
}
