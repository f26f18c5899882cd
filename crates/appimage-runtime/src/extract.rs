//! Writing the squashfs tree to a directory: regular files (with their permission bits),
//! directories and symlinks. Device nodes, pipes and sockets have no place in an AppDir and are
//! skipped.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use backhand::{FilesystemReader, InnerNode};

use crate::error::Error;

/// How to extract.
pub struct Options<'a> {
    /// Only entries whose path (relative to the root, e.g. `usr/bin/app`) matches this pattern.
    pub pattern: Option<&'a str>,
    /// Print each extracted path (as `--appimage-extract` does).
    pub verbose: bool,
    /// `fsync` every file before returning, so a tree renamed into place after a crash is whole.
    pub sync: bool,
}

/// A shell-style pattern: `*` matches any run of characters (`/` included, as the official
/// runtime's `fnmatch` without flags does), `?` any one character; everything else itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much of the text it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    pi = sp + 1;
                    ti = st + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The path below the image root, refusing anything that could leave the destination.
fn relative(fullpath: &Path) -> Result<PathBuf, Error> {
    let mut out = PathBuf::new();
    for component in fullpath.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::UnsafePath(fullpath.to_owned()))
            }
        }
    }
    Ok(out)
}

/// Removes whatever is at `path` unless it is a directory, so a file is never written through
/// an old symlink.
fn clear(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => fs::remove_file(path),
        _ => Ok(()),
    }
}

/// Extracts the tree of `filesystem` into `dest` (which must exist). Returns how many entries
/// were written.
pub fn extract(
    filesystem: &FilesystemReader<'_>,
    dest: &Path,
    options: &Options<'_>,
) -> Result<usize, Error> {
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut written = 0;
    for node in filesystem.files() {
        let rel = relative(&node.fullpath)?;
        if rel.as_os_str().is_empty() {
            continue; // the root: `dest` itself
        }
        if let Some(pattern) = options.pattern {
            if !matches(pattern, &rel.to_string_lossy()) {
                continue;
            }
        }
        let path = dest.join(&rel);
        let failed = |source: std::io::Error| Error::Extract {
            path: path.clone(),
            source,
        };
        // Parents come before children in the image's order, except when a pattern skipped them.
        if let Some(parent) = path.parent() {
            if !parent.is_dir() {
                fs::create_dir_all(parent).map_err(failed)?;
            }
        }
        // Permission bits only: no set-uid, set-gid or sticky bits from an image.
        let mode = u32::from(node.header.permissions) & 0o777;
        match &node.inner {
            InnerNode::Dir(_) => {
                match fs::create_dir(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                    other => other.map_err(failed)?,
                }
                // Applied at the end: a read-only directory could not receive its children.
                dirs.push((path.clone(), mode));
            }
            InnerNode::File(file) => {
                clear(&path).map_err(failed)?;
                let out = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(failed)?;
                let mut out = BufWriter::with_capacity(1 << 16, out);
                let mut reader = filesystem.file(file).reader();
                std::io::copy(&mut reader, &mut out).map_err(failed)?;
                let out: File = out.into_inner().map_err(|e| failed(e.into_error()))?;
                out.set_permissions(Permissions::from_mode(mode))
                    .map_err(failed)?;
                if options.sync {
                    out.sync_all().map_err(failed)?;
                }
            }
            InnerNode::Symlink(link) => {
                clear(&path).map_err(failed)?;
                std::os::unix::fs::symlink(&link.link, &path).map_err(failed)?;
            }
            InnerNode::CharacterDevice(_)
            | InnerNode::BlockDevice(_)
            | InnerNode::NamedPipe
            | InnerNode::Socket => {
                if options.verbose {
                    eprintln!(
                        "skipped (not a file, directory or symlink): {}",
                        rel.display()
                    );
                }
                continue;
            }
        }
        if options.verbose {
            let mut shown = PathBuf::from(dest.file_name().unwrap_or_default());
            shown.push(&rel);
            println!("{}", shown.display());
        }
        written += 1;
    }
    // Deepest first; the owner always keeps rwx so the cache can be cleaned up later.
    for (path, mode) in dirs.iter().rev() {
        fs::set_permissions(path, Permissions::from_mode(mode | 0o700)).map_err(|source| {
            Error::Extract {
                path: path.clone(),
                source,
            }
        })?;
    }
    if options.sync {
        File::open(dest)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Extract {
                path: dest.to_owned(),
                source,
            })?;
    }
    std::io::stdout().flush().ok();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_fnmatch_without_flags() {
        assert!(matches("AppRun", "AppRun"));
        assert!(!matches("AppRun", "AppRun2"));
        assert!(matches("*.desktop", "switchboard.desktop"));
        assert!(matches("usr/*", "usr/bin/switchboard-desktop"));
        assert!(matches("*", "anything/at/all"));
        assert!(matches("usr/?in/*-desktop", "usr/bin/switchboard-desktop"));
        assert!(!matches("usr/?in/*-desktop", "usr/lib/libx.so"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-b-b-d"));
        assert!(matches("", ""));
        assert!(!matches("", "x"));
    }

    #[test]
    fn paths_that_leave_the_destination_are_refused() {
        assert_eq!(
            relative(Path::new("/usr/bin/app")).unwrap(),
            PathBuf::from("usr/bin/app")
        );
        assert!(relative(Path::new("/")).unwrap().as_os_str().is_empty());
        assert!(matches!(
            relative(Path::new("/../etc/passwd")),
            Err(Error::UnsafePath(_))
        ));
    }
}
