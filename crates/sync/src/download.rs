//! Saving a message's file (a customer's document) into a folder of the user's, the Downloads
//! folder in the desktop app: a document is always a download, never a page shown in the app.
//!
//! The name comes from the customer, so it is cleaned ([`safe_file_name`]: no folders, no
//! control or reserved characters, no hidden or device names) and never overwrites anything:
//! the file is created new (`rechnung.pdf`, then `rechnung (1).pdf`, ...), owner-only, and the
//! bytes are streamed into it from the relay; a download that fails half-way removes its file.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::client::RelayClient;
use crate::error::{Result, SyncError};

/// Longest file name written (in characters, before the ` (n)` of a taken name).
const MAX_NAME_CHARS: usize = 120;

/// How many numbered names are tried before giving up.
const MAX_ATTEMPTS: u32 = 1000;

/// A name safe to create in any folder on Windows, macOS and Linux: the last path component of
/// `wanted`, without control characters and `<>:"/\|?*`, without leading dots and trailing dots
/// or spaces, not a Windows device name, at most [`MAX_NAME_CHARS`] characters with the
/// extension kept; `fallback` when nothing is left.
pub fn safe_file_name(wanted: &str, fallback: &str) -> String {
    let last = wanted.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !"<>:\"/\\|?*".contains(*c))
        // Bidirectional overrides make `exe.pdf` read as `fdp.exe`.
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let (stem, ext) = split_ext(trimmed);
    let reserved = [
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
        "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
    ];
    if stem.is_empty() || reserved.contains(&stem.to_ascii_lowercase().as_str()) {
        return fallback.to_string();
    }
    let ext_chars = ext.chars().count();
    let keep = MAX_NAME_CHARS.saturating_sub(ext_chars).max(1);
    let stem: String = stem.chars().take(keep).collect();
    format!("{}{ext}", stem.trim_end_matches(['.', ' ']))
}

/// `("rechnung", ".pdf")`; a name without a dot, or only a leading one, has no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() && name.len() - i <= 10 => name.split_at(i),
        _ => (name, ""),
    }
}

/// The `n`th name to try for `name`: the name itself, then `stem (n).ext`.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    format!("{stem} ({n}){ext}")
}

/// Creates a new file in `dir` for `name` (the first free numbered name), owner-only.
async fn create_new(dir: &Path, name: &str) -> Result<(tokio::fs::File, PathBuf)> {
    for n in 0..MAX_ATTEMPTS {
        let path = dir.join(numbered(name, n));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        match options.open(&path).await {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(local(&path, e)),
        }
    }
    Err(SyncError::Invalid(format!(
        "{} already holds {MAX_ATTEMPTS} files named like {name}",
        dir.display()
    )))
}

fn local(path: &Path, e: std::io::Error) -> SyncError {
    SyncError::Invalid(format!("cannot write {}: {e}", path.display()))
}

/// Downloads the file of message `message_id` into `dir` (created if missing) under the cleaned
/// `wanted` name, never replacing a file; answers the path written.
pub async fn save_media(
    client: &RelayClient,
    message_id: i64,
    dir: &Path,
    wanted: &str,
) -> Result<PathBuf> {
    let response = client.media_response(message_id).await?;
    save_response(response, dir, wanted, &format!("file-{message_id}")).await
}

/// Streams an answer's body into `dir` (created if missing) under the cleaned `wanted` name
/// (`fallback` when nothing of it is left), never replacing a file; answers the path written.
pub async fn save_response(
    mut response: reqwest::Response,
    dir: &Path,
    wanted: &str,
    fallback: &str,
) -> Result<PathBuf> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| local(dir, e))?;
    let name = safe_file_name(wanted, fallback);
    let (mut file, path) = create_new(dir, &name).await?;
    let written = async {
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| SyncError::Offline(e.without_url().to_string()))?
        {
            file.write_all(&chunk).await.map_err(|e| local(&path, e))?;
        }
        file.sync_all().await.map_err(|e| local(&path, e))
    }
    .await;
    if let Err(e) = written {
        drop(file);
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_names_become_plain_file_names() {
        let f = |s: &str| safe_file_name(s, "file-1");
        assert_eq!(f("rechnung.pdf"), "rechnung.pdf");
        assert_eq!(f("../../etc/passwd"), "passwd");
        assert_eq!(f("..\\..\\Windows\\win.ini"), "win.ini");
        assert_eq!(f(".bashrc"), "bashrc");
        assert_eq!(f("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(f("what?<x>|y*.pdf"), "whatxy.pdf");
        assert_eq!(f("Angebot \u{202e}fdp.exe"), "Angebot fdp.exe");
        assert_eq!(f("CON.txt"), "file-1");
        assert_eq!(f("..."), "file-1");
        assert_eq!(f(""), "file-1");
        assert_eq!(f("report. . "), "report");
        let long = format!("{}.pdf", "x".repeat(500));
        let cut = f(&long);
        assert!(
            cut.ends_with(".pdf") && cut.chars().count() == MAX_NAME_CHARS,
            "{cut}"
        );
        assert_eq!(f("Straße & Söhne.docx"), "Straße & Söhne.docx");
    }

    #[test]
    fn taken_names_are_numbered_before_the_extension() {
        assert_eq!(numbered("rechnung.pdf", 0), "rechnung.pdf");
        assert_eq!(numbered("rechnung.pdf", 2), "rechnung (2).pdf");
        assert_eq!(numbered("README", 1), "README (1)");
        assert_eq!(numbered("archiv.tar.gz", 1), "archiv.tar (1).gz");
    }

    #[tokio::test]
    async fn a_new_file_never_replaces_one_or_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pdf"), b"mine").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("a (1).pdf"))
            .unwrap();
        let (_, path) = create_new(dir.path(), "a.pdf").await.unwrap();
        #[cfg(unix)]
        assert_eq!(path, dir.path().join("a (2).pdf"));
        assert_eq!(std::fs::read(dir.path().join("a.pdf")).unwrap(), b"mine");
        assert!(!dir.path().join("elsewhere").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
