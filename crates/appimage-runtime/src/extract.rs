//! Writing the squashfs tree to a directory: regular files (with their permission bits),
//! directories and symlinks. Device nodes, pipes and sockets have no place in an AppDir and are
//! skipped.
//!
//! The image is not trusted: whatever symlinks it holds, nothing is created or written outside
//! the destination. Paths are normal components only, each parent is checked to be a real
//! directory (never a symlink) before anything is made in it, files are created `O_EXCL` (which
//! does not follow a symlink), and an image naming one path twice is refused. Symlinks themselves
//! are created as they are, whatever their target: they are links, nothing is written through
//! them.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{BufWriter, Read, Write};
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

/// What one entry of the image is, as [`Writer::place`] writes it.
enum Kind<'r> {
    Dir,
    File(&'r mut dyn Read),
    /// A symlink and its target, written as it is: nothing is ever written through it.
    Symlink(&'r Path),
}

/// Whether a real directory (not a symlink to one) is at `path`.
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Removes whatever is at `path` unless it is a real directory, never following a symlink there
/// (a symlink is removed, not its target), so a file is never written through an old symlink.
fn clear(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => fs::remove_file(path),
        _ => Ok(()),
    }
}

/// Makes every parent of `rel` below `dest` a real directory, component by component, creating
/// the missing ones. A parent that is a symlink (one this extraction made, or one an earlier
/// extraction left in the destination) or a file is refused: nothing is ever created through it.
fn make_parents(dest: &Path, rel: &Path) -> Result<(), Error> {
    let Some(parents) = rel.parent() else {
        return Ok(());
    };
    let mut at = dest.to_path_buf();
    for part in parents.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::NotADirectory {
                    entry: rel.to_owned(),
                    parent: at.strip_prefix(dest).unwrap_or(at.as_path()).to_owned(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir(&at).map_err(|source| Error::Extract {
                    path: at.clone(),
                    source,
                })?
            }
            Err(source) => return Err(Error::Extract { path: at, source }),
        }
    }
    Ok(())
}

/// One extraction in progress: where to, which paths it has written, and the directories whose
/// modes are applied once their children are in.
struct Writer<'d> {
    dest: &'d Path,
    sync: bool,
    seen: HashSet<PathBuf>,
    dirs: Vec<(PathBuf, u32)>,
}

impl<'d> Writer<'d> {
    fn new(dest: &'d Path, sync: bool) -> Self {
        Writer {
            dest,
            sync,
            seen: HashSet::new(),
            dirs: Vec::new(),
        }
    }

    /// Writes one entry at `rel` (a relative path of normal components, see [`relative`]) below
    /// the destination. A path the image names twice (a symlink and a directory of one name, say)
    /// is refused. Parents must be real directories inside the destination ([`make_parents`]).
    /// A directory replaces a symlink or file of its name (left by an earlier extraction into
    /// the same place) and keeps a directory; a file or symlink replaces a symlink or file (the
    /// old symlink itself, never its target) and fails on a directory. Files are created with
    /// `O_CREAT | O_EXCL`, which never follows a symlink at the path.
    fn place(&mut self, rel: &Path, kind: Kind<'_>, mode: u32) -> Result<(), Error> {
        if !self.seen.insert(rel.to_owned()) {
            return Err(Error::Duplicate(rel.to_owned()));
        }
        make_parents(self.dest, rel)?;
        let path = self.dest.join(rel);
        let failed = |source: std::io::Error| Error::Extract {
            path: path.clone(),
            source,
        };
        match kind {
            Kind::Dir => {
                if !is_real_dir(&path) {
                    clear(&path).map_err(failed)?;
                    fs::create_dir(&path).map_err(failed)?;
                }
                // Applied at the end: a read-only directory could not receive its children.
                self.dirs.push((path.clone(), mode));
            }
            Kind::File(reader) => {
                clear(&path).map_err(failed)?;
                let out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(failed)?;
                let mut out = BufWriter::with_capacity(1 << 16, out);
                std::io::copy(reader, &mut out).map_err(failed)?;
                let out: File = out.into_inner().map_err(|e| failed(e.into_error()))?;
                out.set_permissions(Permissions::from_mode(mode))
                    .map_err(failed)?;
                if self.sync {
                    out.sync_all().map_err(failed)?;
                }
            }
            Kind::Symlink(target) => {
                clear(&path).map_err(failed)?;
                std::os::unix::fs::symlink(target, &path).map_err(failed)?;
            }
        }
        Ok(())
    }

    /// Applies the directories' modes, deepest first (the owner always keeps rwx so the cache
    /// can be cleaned up later; only real directories, as `set_permissions` follows a symlink),
    /// and with `sync` flushes the destination directory.
    fn finish(self) -> Result<(), Error> {
        for (path, mode) in self.dirs.iter().rev() {
            if !is_real_dir(path) {
                continue;
            }
            fs::set_permissions(path, Permissions::from_mode(mode | 0o700)).map_err(|source| {
                Error::Extract {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        if self.sync {
            File::open(self.dest)
                .and_then(|d| d.sync_all())
                .map_err(|source| Error::Extract {
                    path: self.dest.to_owned(),
                    source,
                })?;
        }
        Ok(())
    }
}

/// Extracts the tree of `filesystem` into `dest` (which must exist). Returns how many entries
/// were written.
///
/// Nothing is created or written outside `dest`: every path is made of normal components only
/// ([`relative`]), an image naming one path twice is refused, and [`Writer::place`] never creates
/// anything through a symlink.
pub fn extract(
    filesystem: &FilesystemReader<'_>,
    dest: &Path,
    options: &Options<'_>,
) -> Result<usize, Error> {
    let mut writer = Writer::new(dest, options.sync);
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
        // Permission bits only: no set-uid, set-gid or sticky bits from an image.
        let mode = u32::from(node.header.permissions) & 0o777;
        match &node.inner {
            InnerNode::Dir(_) => writer.place(&rel, Kind::Dir, mode)?,
            InnerNode::File(file) => {
                let mut reader = filesystem.file(file).reader();
                writer.place(&rel, Kind::File(&mut reader), mode)?;
            }
            InnerNode::Symlink(link) => {
                writer.place(&rel, Kind::Symlink(link.link.as_path()), mode)?;
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
    writer.finish()?;
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

    /// A destination `root` and, beside it, a directory `outside` holding one file: whatever an
    /// image holds, nothing in `outside` may change.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("victim.txt"), "untouched").unwrap();
        fs::set_permissions(&outside, Permissions::from_mode(0o755)).unwrap();
        (tmp, root, outside)
    }

    /// The mode of `dir` and the names and contents of what is in it.
    fn snapshot(dir: &Path) -> (u32, Vec<(String, Vec<u8>)>) {
        let mode = fs::symlink_metadata(dir).unwrap().permissions().mode() & 0o7777;
        let mut entries: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                (name, fs::read(e.path()).unwrap_or_default())
            })
            .collect();
        entries.sort();
        (mode, entries)
    }

    fn file(w: &mut Writer<'_>, rel: &str, text: &str) -> Result<(), Error> {
        w.place(Path::new(rel), Kind::File(&mut text.as_bytes()), 0o644)
    }

    fn symlink(w: &mut Writer<'_>, rel: &str, target: &Path) -> Result<(), Error> {
        w.place(Path::new(rel), Kind::Symlink(target), 0o777)
    }

    fn refused_below_a_link(result: Result<(), Error>) -> bool {
        matches!(result, Err(Error::NotADirectory { .. }))
    }

    #[test]
    fn nothing_is_written_through_an_absolute_symlink() {
        let (_tmp, root, outside) = setup();
        let before = snapshot(&outside);
        let mut w = Writer::new(&root, false);
        // The link itself is extracted as the image has it...
        symlink(&mut w, "lib", &outside).unwrap();
        // ...but no file, directory or symlink is created through it.
        assert!(refused_below_a_link(file(&mut w, "lib/victim.txt", "evil")));
        assert!(refused_below_a_link(file(&mut w, "lib/new.txt", "evil")));
        assert!(refused_below_a_link(w.place(
            Path::new("lib/sub"),
            Kind::Dir,
            0o777
        )));
        assert!(refused_below_a_link(file(
            &mut w,
            "lib/sub/deep.txt",
            "evil"
        )));
        assert!(refused_below_a_link(symlink(
            &mut w,
            "lib/link",
            Path::new("/")
        )));
        w.finish().unwrap();
        assert_eq!(snapshot(&outside), before);
        assert_eq!(fs::read_link(root.join("lib")).unwrap(), outside);
    }

    #[test]
    fn nothing_is_written_through_a_dot_dot_symlink() {
        let (_tmp, root, outside) = setup();
        let before = snapshot(&outside);
        let mut w = Writer::new(&root, false);
        symlink(&mut w, "up", Path::new("../outside")).unwrap();
        assert!(refused_below_a_link(file(&mut w, "up/victim.txt", "evil")));
        // Deeper down, climbing back out of the root.
        w.place(Path::new("a"), Kind::Dir, 0o755).unwrap();
        w.place(Path::new("a/b"), Kind::Dir, 0o755).unwrap();
        symlink(&mut w, "a/b/out", Path::new("../../../outside")).unwrap();
        assert!(refused_below_a_link(file(&mut w, "a/b/out/x.txt", "evil")));
        assert!(refused_below_a_link(w.place(
            Path::new("a/b/out/d"),
            Kind::Dir,
            0o755
        )));
        w.finish().unwrap();
        assert_eq!(snapshot(&outside), before);
        assert_eq!(
            fs::read_link(root.join("a/b/out")).unwrap(),
            PathBuf::from("../../../outside")
        );
    }

    #[test]
    fn a_symlink_and_a_directory_of_one_name_are_refused_in_either_order() {
        let (_tmp, root, outside) = setup();
        let before = snapshot(&outside);
        let mut w = Writer::new(&root, false);
        symlink(&mut w, "usr", &outside).unwrap();
        assert!(matches!(
            w.place(Path::new("usr"), Kind::Dir, 0o700),
            Err(Error::Duplicate(_))
        ));
        w.place(Path::new("lib"), Kind::Dir, 0o755).unwrap();
        assert!(matches!(
            symlink(&mut w, "lib", &outside),
            Err(Error::Duplicate(_))
        ));
        assert!(matches!(file(&mut w, "lib", "x"), Err(Error::Duplicate(_))));
        w.finish().unwrap();
        assert!(is_real_dir(&root.join("lib")));
        assert_eq!(snapshot(&outside), before);
    }

    #[test]
    fn links_left_by_an_earlier_extraction_are_replaced_never_followed() {
        let (_tmp, root, outside) = setup();
        let before = snapshot(&outside);
        // What an earlier extraction into the same place (./squashfs-root) may have left.
        std::os::unix::fs::symlink(&outside, root.join("usr")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim.txt"), root.join("AppRun")).unwrap();
        std::os::unix::fs::symlink(outside.join("created.txt"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("share")).unwrap();
        let mut w = Writer::new(&root, false);
        // A directory replaces the link (its mode is applied to it, not to the link's target)...
        w.place(Path::new("usr"), Kind::Dir, 0o500).unwrap();
        file(&mut w, "usr/victim.txt", "inside").unwrap();
        // ...and so does a file, also where the link points nowhere yet.
        file(&mut w, "AppRun", "#!/bin/sh\n").unwrap();
        file(&mut w, "dangling", "inside").unwrap();
        // A link in the way of a parent the image does not list itself is refused.
        assert!(refused_below_a_link(file(&mut w, "share/x.txt", "evil")));
        w.finish().unwrap();

        assert_eq!(snapshot(&outside), before);
        assert!(!outside.join("created.txt").exists());
        assert!(is_real_dir(&root.join("usr")));
        assert_eq!(
            fs::symlink_metadata(root.join("usr"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(
            fs::read_to_string(root.join("usr/victim.txt")).unwrap(),
            "inside"
        );
        for name in ["AppRun", "dangling"] {
            let meta = fs::symlink_metadata(root.join(name)).unwrap();
            assert!(meta.file_type().is_file(), "{name} is a file now");
        }
        assert_eq!(
            fs::read_to_string(root.join("AppRun")).unwrap(),
            "#!/bin/sh\n"
        );
    }

    #[test]
    fn missing_parents_are_made_as_real_directories() {
        let (_tmp, root, _outside) = setup();
        let mut w = Writer::new(&root, false);
        // As with a pattern that skips the directories themselves.
        file(&mut w, "usr/share/hello/nested.txt", "nested").unwrap();
        w.finish().unwrap();
        for dir in ["usr", "usr/share", "usr/share/hello"] {
            assert!(is_real_dir(&root.join(dir)), "{dir}");
        }
        assert_eq!(
            fs::read_to_string(root.join("usr/share/hello/nested.txt")).unwrap(),
            "nested"
        );
    }
}
