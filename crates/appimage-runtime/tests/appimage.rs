//! The runtime end to end: a small AppDir packed with `mksquashfs` behind the built runtime (with
//! the `AI\x02` magic written into it, as `scripts/build-appimage.sh` does), then started, started
//! again, extracted, and damaged. Needs `mksquashfs` (squashfs-tools; scripts/setup.sh installs
//! it). HOME and XDG_CACHE_HOME point into a temporary directory.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RUNTIME: &str = env!("CARGO_BIN_EXE_switchboard-appimage-runtime");

const APPRUN: &str = r#"#!/bin/sh
out="$1"
shift
{
  echo "args=$*"
  echo "APPIMAGE=$APPIMAGE"
  echo "APPDIR=$APPDIR"
  echo "ARGV0=$ARGV0"
  echo "OWD=$OWD"
  echo "here=$(dirname "$0")"
  cat "$(dirname "$0")/usr/share/hello/nested.txt"
} > "$out"
"#;

fn mksquashfs_missing() -> bool {
    let missing = Command::new("mksquashfs").arg("-version").output().is_err();
    if missing {
        eprintln!(
            "################################################################################"
        );
        eprintln!("# SKIPPED: mksquashfs is not installed (Debian package squashfs-tools;");
        eprintln!(
            "# scripts/setup.sh installs it). The AppImage runtime was NOT tested end to end."
        );
        eprintln!(
            "################################################################################"
        );
    }
    missing
}

/// Builds `<tmp>/Test.AppImage` from a small AppDir: runtime + magic + gzip squashfs.
fn build_appimage(tmp: &Path) -> PathBuf {
    let appdir = tmp.join("AppDir");
    fs::create_dir_all(appdir.join("usr/share/hello")).unwrap();
    fs::write(appdir.join("AppRun"), APPRUN).unwrap();
    fs::set_permissions(appdir.join("AppRun"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(appdir.join("usr/share/hello/nested.txt"), "nested file\n").unwrap();
    std::os::unix::fs::symlink("usr/share/hello/nested.txt", appdir.join("link.txt")).unwrap();
    // Links that point out of the AppDir are extracted as links (nothing is written through them).
    std::os::unix::fs::symlink("/etc", appdir.join("etc-link")).unwrap();
    std::os::unix::fs::symlink("../..", appdir.join("usr/up-link")).unwrap();

    let squashfs = squash(&appdir, &tmp.join("app.squashfs"), &["-comp", "gzip"]);
    image_of(&fs::read(squashfs).unwrap(), &tmp.join("Test.AppImage"))
}

/// `mksquashfs appdir out` with `extra` options (root-owned, fresh, quiet); returns `out`.
fn squash(appdir: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let status = Command::new("mksquashfs")
        .arg(appdir)
        .arg(out)
        .args(extra)
        .args(["-root-owned", "-noappend", "-quiet", "-no-progress"])
        .status()
        .unwrap();
    assert!(status.success(), "mksquashfs failed");
    out.to_path_buf()
}

/// The built runtime with the `AI\x02` magic, then `squashfs`, written executable to `image`.
fn image_of(squashfs: &[u8], image: &Path) -> PathBuf {
    let mut bytes = fs::read(RUNTIME).unwrap();
    bytes[8..11].copy_from_slice(b"AI\x02");
    bytes.extend_from_slice(squashfs);
    fs::write(image, bytes).unwrap();
    fs::set_permissions(image, fs::Permissions::from_mode(0o755)).unwrap();
    image.to_path_buf()
}

/// Runs `image` with a private HOME and XDG_CACHE_HOME under `tmp`, from `cwd`.
/// Retries "text file busy": another test thread's fork may briefly hold a copy of the
/// descriptor an image was just written through.
fn run(image: &Path, tmp: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut tries = 0;
    loop {
        let result = Command::new(image)
            .args(args)
            .current_dir(cwd)
            .env("HOME", tmp.join("home"))
            .env("XDG_CACHE_HOME", tmp.join("cache"))
            .env_remove("TARGET_APPIMAGE")
            .output();
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.unwrap(),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_appimage_starts_from_its_cache_and_extracts() {
    if mksquashfs_missing() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    fs::create_dir_all(tmp.join("home")).unwrap();
    let image = build_appimage(&tmp);

    // The offset is the runtime's own size.
    let out = run(&image, &tmp, &tmp, &["--appimage-offset"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runtime_len = fs::metadata(RUNTIME).unwrap().len();
    assert_eq!(text(&out.stdout).trim(), runtime_len.to_string());

    // A start runs AppRun with the arguments and the official runtime's variables.
    let owd = tmp.join("somewhere");
    fs::create_dir(&owd).unwrap();
    let report = tmp.join("report.txt");
    let report_arg = report.to_str().unwrap();
    let out = run(&image, &tmp, &owd, &[report_arg, "one", "two words"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = fs::read_to_string(&report).unwrap();
    let cache = tmp.join("cache/switchboard/appimage");
    let entries: Vec<PathBuf> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one cache entry, no temporary left: {entries:?}"
    );
    let appdir = &entries[0];
    assert_eq!(appdir.file_name().unwrap().len(), 16, "{appdir:?}");
    let expected = format!(
        "args=one two words\nAPPIMAGE={}\nAPPDIR={}\nARGV0={}\nOWD={}\nhere={}\nnested file\n",
        image.display(),
        appdir.display(),
        image.display(),
        owd.display(),
        appdir.display(),
    );
    assert_eq!(got, expected);
    assert_eq!(
        fs::read_link(appdir.join("link.txt")).unwrap(),
        PathBuf::from("usr/share/hello/nested.txt")
    );
    let apprun = fs::metadata(appdir.join("AppRun")).unwrap();
    assert_eq!(apprun.permissions().mode() & 0o777, 0o755);

    // A second start reuses the tree: same inodes, same mtimes.
    let before = (
        fs::metadata(appdir).unwrap(),
        fs::metadata(appdir.join("usr/share/hello/nested.txt")).unwrap(),
    );
    fs::remove_file(&report).unwrap();
    let out = run(&image, &tmp, &owd, &[report_arg, "again"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(fs::read_to_string(&report)
        .unwrap()
        .starts_with("args=again\n"));
    let after = (
        fs::metadata(appdir).unwrap(),
        fs::metadata(appdir.join("usr/share/hello/nested.txt")).unwrap(),
    );
    assert_eq!(before.0.ino(), after.0.ino());
    assert_eq!(before.1.ino(), after.1.ino());
    assert_eq!(before.1.mtime_nsec(), after.1.mtime_nsec());
    assert_eq!(before.1.mtime(), after.1.mtime());

    // --appimage-extract writes ./squashfs-root like the official runtime.
    let here = tmp.join("extract-here");
    fs::create_dir(&here).unwrap();
    let out = run(&image, &tmp, &here, &["--appimage-extract"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root = here.join("squashfs-root");
    assert_eq!(fs::read_to_string(root.join("AppRun")).unwrap(), APPRUN);
    assert_eq!(
        fs::read_to_string(root.join("usr/share/hello/nested.txt")).unwrap(),
        "nested file\n"
    );
    assert_eq!(
        fs::read_link(root.join("link.txt")).unwrap(),
        PathBuf::from("usr/share/hello/nested.txt")
    );
    assert_eq!(
        fs::read_to_string(root.join("link.txt")).unwrap(),
        "nested file\n"
    );
    assert!(text(&out.stdout).contains("squashfs-root/usr/share/hello/nested.txt"));
    assert_eq!(
        fs::read_link(root.join("etc-link")).unwrap(),
        PathBuf::from("/etc")
    );
    assert_eq!(
        fs::read_link(root.join("usr/up-link")).unwrap(),
        PathBuf::from("../..")
    );

    // ... or only what matches a pattern.
    let some = tmp.join("extract-some");
    fs::create_dir(&some).unwrap();
    let out = run(&image, &tmp, &some, &["--appimage-extract", "usr/*.txt"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(some
        .join("squashfs-root/usr/share/hello/nested.txt")
        .is_file());
    assert!(!some.join("squashfs-root/AppRun").exists());

    let out = run(&image, &tmp, &tmp, &["--appimage-version"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = run(&image, &tmp, &tmp, &["--appimage-help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--appimage-extract"));
    let out = run(&image, &tmp, &tmp, &["--appimage-nonsense"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown option --appimage-nonsense"));
}

#[test]
fn damaged_images_fail_with_a_clear_message() {
    if mksquashfs_missing() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    let image = build_appimage(&tmp);
    let runtime_len = fs::metadata(RUNTIME).unwrap().len() as usize;
    let whole = fs::read(&image).unwrap();
    // The squashfs superblock's bytes_used (mksquashfs pads the file beyond it to 4 KiB).
    let used = u64::from_le_bytes(
        whole[runtime_len + 40..runtime_len + 48]
            .try_into()
            .unwrap(),
    );

    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "truncated",
            whole[..runtime_len + used as usize / 2].to_vec(),
            "the image is truncated",
        ),
        (
            "runtime only",
            whole[..runtime_len].to_vec(),
            "no squashfs image at byte",
        ),
        (
            "garbage squashfs",
            [&whole[..runtime_len], &vec![0x5a; 4096][..]].concat(),
            "no squashfs magic",
        ),
        ("no magic", fs::read(RUNTIME).unwrap(), "is not an AppImage"),
    ];
    for (name, bytes, message) in cases {
        let path = tmp.join(format!("{}.AppImage", name.replace(' ', "-")));
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let out = run(&path, &tmp, &tmp, &["arg"]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{name}: started");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{name}: {stderr}");
    }
    assert!(
        !tmp.join("cache/switchboard/appimage").exists() || {
            fs::read_dir(tmp.join("cache/switchboard/appimage"))
                .unwrap()
                .count()
                == 0
        }
    );
}

#[test]
fn an_unwritable_cache_is_named() {
    if mksquashfs_missing() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    let image = build_appimage(&tmp);
    // A file where the cache directory should be: not writable even for root.
    fs::write(tmp.join("cache"), "not a directory").unwrap();
    let out = run(&image, &tmp, &tmp, &["arg"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot write the AppImage cache in"),
        "{stderr}"
    );
    assert!(stderr.contains("XDG_CACHE_HOME"), "{stderr}");
}

/// An image no honest `mksquashfs` makes: a link to a folder outside and a directory of the same
/// name, the directory holding a file. Built uncompressed, then the link's name is patched to
/// the directory's in the image's directory table.
fn build_link_and_dir_image(tmp: &Path, outside: &Path) -> PathBuf {
    let appdir = tmp.join("EvilDir");
    fs::create_dir_all(appdir.join("zlinkr")).unwrap();
    fs::write(appdir.join("AppRun"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(appdir.join("AppRun"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        appdir.join("zlinkr/planted.txt"),
        "written through a link\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside, appdir.join("zlinkq")).unwrap();
    let squashfs = squash(
        &appdir,
        &tmp.join("evil.squashfs"),
        &["-noI", "-noD", "-noF", "-noX", "-no-exports", "-no-xattrs"],
    );
    let mut fs_bytes = fs::read(&squashfs).unwrap();
    let at: Vec<usize> = fs_bytes
        .windows(6)
        .enumerate()
        .filter(|(_, w)| *w == b"zlinkq")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the link's name is in the image once");
    fs_bytes[at[0] + 5] = b'r';
    image_of(&fs_bytes, &tmp.join("Evil.AppImage"))
}

#[test]
fn an_image_with_a_link_and_a_directory_of_one_name_writes_nothing_outside() {
    if mksquashfs_missing() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    fs::create_dir_all(tmp.join("home")).unwrap();
    let outside = tmp.join("outside");
    fs::create_dir(&outside).unwrap();
    let image = build_link_and_dir_image(&tmp, &outside);
    let here = tmp.join("here");
    fs::create_dir(&here).unwrap();

    // Extracted on request, and started (extracted into the cache): both refuse the image.
    let out = run(&image, &tmp, &here, &["--appimage-extract"]);
    assert!(!out.status.success(), "the crafted image was extracted");
    let err = text(&out.stderr);
    assert!(err.contains("zlinkr"), "the error names the entry: {err}");
    let out = run(&image, &tmp, &here, &[]);
    assert!(!out.status.success(), "the crafted image was started");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "a file was written through the link"
    );
    assert!(!tmp.join("home/planted.txt").exists());
}
