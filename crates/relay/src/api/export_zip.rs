//! `?format=zip` of the exports: one zip streamed as it is written (entries with data
//! descriptors, so nothing is buffered whole): `export.jsonl` (the JSON Lines export),
//! `messages.csv` (the messages as a table) and `media/`, every file the export's messages carry
//! that the relay holds (media archive first, then the cache), named
//! `media/<message id>-<media id>.<extension>`; `media/MISSING.txt` lists those it does not hold
//! (never archived, or removed from the archive and from Meta).

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use axum::body::Body;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio_util::compat::{FuturesAsyncWriteCompatExt, TokioAsyncWriteCompatExt};

use crate::store::export::{csv_page, media_after, next_lines, ExportCursor, Scope};
use crate::AppState;

const PAGE: usize = 500;
/// Files listed by name in `media/MISSING.txt` (the rest are counted).
const MAX_MISSING_LISTED: usize = 100_000;

/// Why a zip export stopped (the client sees a truncated zip; the log says which).
#[derive(Debug, thiserror::Error)]
enum ZipExportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("zip: {0}")]
    Zip(#[from] async_zip::error::ZipError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}

/// The zip as a response body; written by a task of its own into a small pipe.
pub fn zip_body(state: AppState, scope: Scope) -> Body {
    let (w, r) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Err(e) = write_zip(&state, &scope, w).await {
            // The client sees a truncated zip (its reader reports it); the log says why.
            tracing::warn!(error = %e, "the zip export stopped");
        }
    });
    Body::from_stream(tokio_util::io::ReaderStream::new(r))
}

type Zip = ZipFileWriter<tokio_util::compat::Compat<DuplexStream>>;

async fn write_zip(s: &AppState, scope: &Scope, w: DuplexStream) -> Result<(), ZipExportError> {
    let mut zip: Zip = ZipFileWriter::new(w.compat_write());
    // The JSON Lines.
    let mut entry = zip
        .write_entry_stream(ZipEntryBuilder::new(
            "export.jsonl".into(),
            Compression::Deflate,
        ))
        .await?
        .compat_write();
    let mut cur = ExportCursor::default();
    while !cur.done() {
        let sc = scope.clone();
        let (lines, next) = s
            .store
            .read(move |c| Ok((next_lines(c, &sc, &mut cur, PAGE)?, cur)))
            .await?;
        cur = next;
        for l in lines {
            entry.write_all(l.as_bytes()).await?;
            entry.write_all(b"\n").await?;
        }
    }
    entry.into_inner().close().await?;
    // The messages as CSV.
    let mut entry = zip
        .write_entry_stream(ZipEntryBuilder::new(
            "messages.csv".into(),
            Compression::Deflate,
        ))
        .await?
        .compat_write();
    let mut next = Some(0i64);
    let mut first = true;
    while let Some(after) = next {
        let sc = scope.clone();
        let (bytes, more) = s
            .store
            .read(move |c| csv_page(c, &sc, after, first, PAGE))
            .await?;
        entry.write_all(&bytes).await?;
        first = false;
        next = more;
    }
    entry.into_inner().close().await?;
    // The files.
    let mut missing = Vec::new();
    let mut missing_count = 0usize;
    let mut after = 0i64;
    loop {
        let sc = scope.clone();
        let page = s
            .store
            .read(move |c| media_after(c, &sc, after, PAGE))
            .await?;
        for (message, media_id, mime) in &page {
            let file = match s.archive.files.open(media_id).await {
                Some(f) => Some(f),
                None => s.media.open(media_id).await,
            };
            let Some((mut file, _len)) = file else {
                // Bounded: past the cap only the count grows.
                if missing.len() < MAX_MISSING_LISTED {
                    missing.push(format!("{message}\t{}", media_id.escape_debug()));
                }
                missing_count += 1;
                continue;
            };
            let name = format!("media/{message}-{media_id}.{}", extension(mime.as_deref()));
            let mut entry = zip
                .write_entry_stream(ZipEntryBuilder::new(name.into(), Compression::Stored))
                .await?
                .compat_write();
            tokio::io::copy(&mut file, &mut entry).await?;
            entry.into_inner().close().await?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.0,
            _ => break,
        }
    }
    if !missing.is_empty() {
        let mut text = String::from("message id\tmedia id (not held by the relay)\n");
        for m in missing {
            text.push_str(&m);
            text.push('\n');
        }
        if missing_count > MAX_MISSING_LISTED {
            text.push_str(&format!(
                "... and {} more\n",
                missing_count - MAX_MISSING_LISTED
            ));
        }
        let entry = ZipEntryBuilder::new("media/MISSING.txt".into(), Compression::Deflate);
        zip.write_entry_whole(entry, text.as_bytes()).await?;
    }
    let mut w = zip.close().await?.into_inner();
    w.shutdown().await?;
    Ok(())
}

/// A file name extension for a MIME type (`bin` when unknown).
pub fn extension(mime: Option<&str>) -> &'static str {
    let base = mime.unwrap_or("").split(';').next().unwrap_or("").trim();
    match base {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/aac" => "m4a",
        "audio/amr" => "amr",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/msword" => "doc",
        "application/vnd.ms-excel" => "xls",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn extensions() {
        assert_eq!(super::extension(Some("image/jpeg")), "jpg");
        assert_eq!(super::extension(Some("audio/ogg; codecs=opus")), "ogg");
        assert_eq!(super::extension(None), "bin");
        assert_eq!(super::extension(Some("../../etc")), "bin");
    }
}
