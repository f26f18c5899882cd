//! The extraction cache: `${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/appimage/<key>/`, one
//! directory per image content. A tree is extracted into a temporary directory beside it and
//! renamed into place, so the final directory exists only when it is whole: a crash leaves a
//! temporary directory (removed by a later start), and of two parallel starts one rename wins and
//! the other drops its copy.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::extract::{self, Options};
use crate::image::AppImage;

/// A temporary directory this old is left over from a crashed start.
const STALE_TMP: Duration = Duration::from_secs(3600);
const TMP_PREFIX: &str = ".tmp-";

/// The directory holding every extracted image, from the environment's values.
pub fn base_dir(xdg_cache_home: Option<&OsStr>, home: Option<&OsStr>) -> Result<PathBuf, Error> {
    let absolute = |v: Option<&OsStr>| {
        v.map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .filter(|p| !p.as_os_str().is_empty())
    };
    let cache = match (absolute(xdg_cache_home), absolute(home)) {
        (Some(xdg), _) => xdg,
        (None, Some(home)) => home.join(".cache"),
        (None, None) => return Err(Error::NoCacheDir),
    };
    Ok(cache.join("switchboard").join("appimage"))
}

fn is_key(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Returns the directory holding the extracted tree of `image`, extracting it first if no start
/// before this one has.
pub fn ensure_extracted(image: &AppImage, base: &Path) -> Result<PathBuf, Error> {
    let key = image.content_key()?;
    let dir = base.join(&key);
    if dir.is_dir() {
        return Ok(dir);
    }
    let not_writable = |source: std::io::Error| Error::CacheNotWritable {
        dir: base.to_owned(),
        source,
    };
    fs::create_dir_all(base).map_err(not_writable)?;
    let tmp = base.join(format!("{TMP_PREFIX}{key}-{}", std::process::id()));
    if tmp.exists() {
        // Left by a crashed process that had our pid.
        fs::remove_dir_all(&tmp).map_err(not_writable)?;
    }
    fs::create_dir(&tmp).map_err(not_writable)?;
    let extracted = image.filesystem().and_then(|fs| {
        let options = Options {
            pattern: None,
            verbose: false,
            sync: true,
        };
        extract::extract(&fs, &tmp, &options)
    });
    if let Err(e) = extracted {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, &dir) {
        let _ = fs::remove_dir_all(&tmp);
        // A parallel start renamed its (identical) tree first: use that one.
        if !dir.is_dir() {
            return Err(not_writable(e));
        }
    }
    prune(base, &key);
    Ok(dir)
}

/// Removes the trees of other image contents (older or newer versions of the app) and temporary
/// directories of crashed starts. A running app keeps the files it has open; errors are ignored.
fn prune(base: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale_tmp = name.starts_with(TMP_PREFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TMP);
        if (is_key(name) && name != keep) || stale_tmp {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_follows_xdg_then_home() {
        let xdg = OsStr::new("/x/cache");
        let home = OsStr::new("/home/u");
        assert_eq!(
            base_dir(Some(xdg), Some(home)).unwrap(),
            PathBuf::from("/x/cache/switchboard/appimage")
        );
        assert_eq!(
            base_dir(None, Some(home)).unwrap(),
            PathBuf::from("/home/u/.cache/switchboard/appimage")
        );
        // The XDG spec says a relative value is to be ignored.
        assert_eq!(
            base_dir(Some(OsStr::new("rel")), Some(home)).unwrap(),
            PathBuf::from("/home/u/.cache/switchboard/appimage")
        );
        assert!(matches!(base_dir(None, None), Err(Error::NoCacheDir)));
    }

    #[test]
    fn other_keys_and_stale_temporary_trees_are_pruned() {
        let base = tempfile::tempdir().unwrap();
        let keep = "0123456789abcdef";
        for name in [keep, "fedcba9876543210", ".tmp-fresh-1", "not-ours"] {
            fs::create_dir(base.path().join(name)).unwrap();
        }
        prune(base.path(), keep);
        let mut left: Vec<String> = fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".tmp-fresh-1", keep, "not-ours"]);
    }
}
