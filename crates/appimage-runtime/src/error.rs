use std::path::PathBuf;

/// Everything the runtime can fail at; each message names the file and what to do where it can.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} is not an AppImage (type 2): {why}")]
    NotAnAppImage { path: PathBuf, why: String },
    #[error("no squashfs image at byte {offset} of {path}: {why}; download the AppImage again")]
    NoSquashfs {
        path: PathBuf,
        offset: u64,
        why: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write the AppImage cache in {dir}: {source}; make it writable or point \
         XDG_CACHE_HOME at a writable directory (or run with --appimage-extract)"
    )]
    CacheNotWritable {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no cache directory: neither XDG_CACHE_HOME nor HOME is set to an absolute path")]
    NoCacheDir,
    #[error("cannot extract {path}: {source}")]
    Extract {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the image holds an unsafe path ({0}); refusing to extract it")]
    UnsafePath(PathBuf),
    #[error("the image holds {0} twice; refusing to extract it")]
    Duplicate(PathBuf),
    #[error(
        "cannot extract {entry}: {parent} is a symlink or a file, not a directory, and nothing \
         is written through it; remove it if an earlier extraction left it, else the image is unsafe"
    )]
    NotADirectory { entry: PathBuf, parent: PathBuf },
    #[error("the image has no AppRun at its root ({0} is missing)")]
    NoAppRun(PathBuf),
    #[error("cannot start {path}: {source}")]
    Exec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown option {0}; see --appimage-help")]
    UnknownOption(String),
}
