//! `switchboard-appimage-runtime`: Switchboard's own AppImage **type 2 runtime**, the executable
//! part at the start of `Switchboard_<version>_amd64.AppImage` (built by
//! `scripts/build-appimage.sh`, which writes the `AI\x02` magic into its ELF header and appends
//! a squashfs image of the AppDir).
//!
//! It owns what happens when the AppImage is started: it finds the squashfs image after its own
//! ELF end (`e_shoff + e_shnum * e_shentsize`), extracts it once into
//! `${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/appimage/<key>/` (key: a hash of the image's
//! content and this runtime's version; extracted beside it and renamed into place atomically)
//! and `exec`s `<dir>/AppRun` with the user's arguments and the variables the official runtime
//! sets (`APPIMAGE`, `APPDIR`, `ARGV0`, `OWD`). It needs no FUSE and no `libfuse2`. Options of
//! its own: `--appimage-extract [pattern]`, `--appimage-offset`, `--appimage-version`,
//! `--appimage-help`. Squashfs is read with `backhand` (gzip only; the packaging script
//! compresses with gzip).

mod cache;
mod error;
mod extract;
mod image;

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use error::Error;
use image::AppImage;

const HELP: &str = "\
Switchboard AppImage (type 2, runtime switchboard-appimage-runtime)

Started without an --appimage-* option, it extracts its content once into
${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/appimage/<key>/ and runs its AppRun
with all arguments.

Options (only as the first argument):
  --appimage-extract [PATTERN]  extract the content (or the paths matching the
                                shell pattern PATTERN) into ./squashfs-root
  --appimage-offset             print the byte offset of the squashfs image
  --appimage-version            print the runtime's version
  --appimage-help               print this help

Environment:
  TARGET_APPIMAGE  use the image of this AppImage file instead of this one
";

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let args: Vec<OsString> = args.collect();
    match run(argv0, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard AppImage: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The AppImage file: `TARGET_APPIMAGE` if it names an existing file (the AppImage spec asks
/// runtimes to honour it), else this executable.
fn image_path() -> Result<PathBuf, Error> {
    let path = match std::env::var_os("TARGET_APPIMAGE").map(PathBuf::from) {
        Some(target) if target.is_file() => target,
        _ => std::env::current_exe().map_err(|source| Error::Read {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?,
    };
    path.canonicalize()
        .map_err(|source| Error::Read { path, source })
}

fn run(argv0: OsString, args: Vec<OsString>) -> Result<(), Error> {
    let option = args
        .first()
        .and_then(|a| a.to_str())
        .filter(|a| a.starts_with("--appimage-"));
    match option {
        None => start(argv0, args),
        Some("--appimage-help") => {
            print!("{HELP}");
            Ok(())
        }
        Some("--appimage-version") => {
            println!(
                "switchboard-appimage-runtime {} (AppImage type 2, extract and run)",
                env!("CARGO_PKG_VERSION")
            );
            Ok(())
        }
        Some("--appimage-offset") => {
            println!("{}", image::offset_of(&image_path()?)?);
            Ok(())
        }
        Some("--appimage-extract") => {
            let pattern = args.get(1).map(|p| p.to_string_lossy().into_owned());
            extract_here(&image_path()?, pattern.as_deref())
        }
        Some(other) => Err(Error::UnknownOption(other.to_string())),
    }
}

/// `--appimage-extract`: the whole tree (or what matches `pattern`) into `./squashfs-root`.
fn extract_here(path: &Path, pattern: Option<&str>) -> Result<(), Error> {
    let image = AppImage::open(path)?;
    let filesystem = image.filesystem()?;
    let dest = PathBuf::from("squashfs-root");
    std::fs::create_dir_all(&dest).map_err(|source| Error::Extract {
        path: dest.clone(),
        source,
    })?;
    let options = extract::Options {
        pattern,
        verbose: true,
        sync: false,
    };
    extract::extract(&filesystem, &dest, &options)?;
    Ok(())
}

/// A normal start: extract once into the cache, then become `AppRun`.
fn start(argv0: OsString, args: Vec<OsString>) -> Result<(), Error> {
    let path = image_path()?;
    let image = AppImage::open(&path)?;
    let base = cache::base_dir(
        std::env::var_os("XDG_CACHE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )?;
    let appdir = cache::ensure_extracted(&image, &base)?;
    let apprun = appdir.join("AppRun");
    if std::fs::symlink_metadata(&apprun).is_err() {
        return Err(Error::NoAppRun(apprun));
    }
    let mut command = Command::new(&apprun);
    command
        .args(args)
        .env("APPIMAGE", &path)
        .env("APPDIR", &appdir)
        .env("ARGV0", &argv0);
    if let Ok(owd) = std::env::current_dir() {
        command.env("OWD", owd);
    }
    // Only returns on failure.
    let source = command.exec();
    Err(Error::Exec {
        path: apprun,
        source,
    })
}
