//! `GET /api/v1/messages/{id}/media`: inbound media through the relay (see `crate::media`), and
//! `POST /api/v1/conversations/{id}/media`: uploads for sending.

use crate::extract::{Path, Query};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::graph::GraphError;
use crate::media::MAX_MEDIA_BYTES;
use crate::store::queries;
use crate::AppState;

/// The media file of a message: from the media archive (inbound files are downloaded when they
/// arrive), else fetched from WhatsApp on first request (at most `graph::MEDIA_FETCHES` at once,
/// only from WhatsApp's media hosts) and streamed from the cache afterwards. Sent with `X-Content-Type-Options: nosniff`; documents (and any type a browser
/// would not just show) as `Content-Disposition: attachment`.
#[utoipa::path(get, path = "/api/v1/messages/{id}/media", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the file"), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 502, description = "WhatsApp did not deliver the file", body = switchboard_protocol::api::ErrorBody),
              (status = 503, description = "too many files are being fetched; try again", body = switchboard_protocol::api::ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let media = s
        .store
        .read(move |c| queries::message_media(c, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("message {id} has no media")))?;
    let (u, conv) = (user.clone(), media.conversation_id);
    if !s.store.read(move |c| queries::may_see(c, &u, conv)).await? {
        return Err(ApiError::not_found(format!(
            "message {id} does not exist or is not visible to you"
        )));
    }
    let mime = media
        .mime
        .unwrap_or_else(|| "application/octet-stream".into());
    // The archive first (inbound media is kept there on arrival), then the bounded cache.
    let kept = match s.archive.files.open(&media.media_id).await {
        Some(f) => Some(f),
        None => s.media.open(&media.media_id).await,
    };
    if let Some((file, len)) = kept {
        let body = Body::from_stream(file_chunks(file));
        return Ok(file_response(&media.kind, &mime, body, Some(len)));
    }
    // First request: the download goes chunk by chunk into a temporary file of the cache, which
    // becomes the cached file when complete and is then streamed like any cached file, so memory
    // stays bounded however large the file and however many are fetched at once.
    let mut fill = s.media.begin(&media.media_id).await.map_err(cache_failed)?;
    let info = s
        .graph
        .fetch_media(
            &media.media_id,
            Some(&media.phone_number_id),
            MAX_MEDIA_BYTES,
            fill.file(),
        )
        .await
        .map_err(|e| match e {
            GraphError::Busy => ApiError::busy(
                "the relay is fetching many files from WhatsApp; try again in a moment",
                5,
            ),
            e => {
                tracing::warn!(error = %e, "media fetch failed");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "media_unavailable",
                    format!("WhatsApp did not deliver this file: {e}"),
                )
            }
        })?;
    let mime = info.mime_type.unwrap_or(mime);
    let (file, len) = s.media.finish(fill).await.map_err(cache_failed)?;
    Ok(file_response(
        &media.kind,
        &mime,
        Body::from_stream(file_chunks(file)),
        Some(len),
    ))
}

/// The media cache's folder is not writable (disk full, permissions): logged, and a 500 that
/// names no path.
fn cache_failed(e: std::io::Error) -> ApiError {
    tracing::warn!(error = %e, "media cache write failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "media_cache",
        "the relay could not store this file; try again later",
    )
}

/// Bytes read from the cache per chunk of a streamed file.
const CHUNK_BYTES: usize = 64 * 1024;

/// A file as a stream of chunks, so a large file is never held whole in memory.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::stream::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Whether a browser should save rather than show a file: documents always, and any type that is
/// not plain image, audio or video (an SVG or HTML file could run script on the relay's origin).
fn as_attachment(kind: &str, mime: &str) -> bool {
    let mime = mime.trim().to_ascii_lowercase();
    let shown = (mime.starts_with("image/") && !mime.starts_with("image/svg"))
        || mime.starts_with("audio/")
        || mime.starts_with("video/");
    kind == "document" || !shown
}

fn file_response(kind: &str, mime: &str, body: Body, len: Option<u64>) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if as_attachment(kind, mime) {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    if let Some(len) = len {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}

/// Largest file an agent can upload for sending (WhatsApp allows images up to 5 MB).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// What WhatsApp sends as an image; the rest of [`DOCUMENT_TYPES`] go as documents.
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png"];
const DOCUMENT_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name as the customer will see it (documents).
    filename: Option<String>,
}

pub use switchboard_protocol::api::Uploaded;

fn clean_filename(name: Option<&str>) -> String {
    let name = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        "file".into()
    } else {
        name.to_string()
    }
}

/// Uploads a file (the raw body, typed by `Content-Type`) to WhatsApp for sending in this
/// conversation. JPEG and PNG become images (up to 5 MB); PDF, text and Office files documents
/// (up to 16 MiB). Then send it with `{"type": "image" | "document", "media_id": ...}`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/media", params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file; Content-Type names its type"),
    security(("bearer" = [])),
    responses((status = 201, body = Uploaded), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 413, body = switchboard_protocol::api::ErrorBody), (status = 415, body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody),
              (status = 502, description = "WhatsApp did not take the file", body = switchboard_protocol::api::ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, axum::Json<Uploaded>), ApiError> {
    let u = user.clone();
    let conv = s
        .store
        .read(move |c| {
            if !queries::may_see(c, &u, id)? {
                return Err(crate::store::StoreError::NotFound(format!(
                    "conversation {id}"
                )));
            }
            queries::conversation(c, id)
        })
        .await?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let kind = if IMAGE_TYPES.contains(&mime.as_str()) {
        "image"
    } else if DOCUMENT_TYPES.contains(&mime.as_str()) {
        "document"
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "WhatsApp cannot send {:?} files: send JPEG or PNG images, or PDF, text or Office documents",
                mime
            ),
        ));
    };
    if body.is_empty() {
        return Err(ApiError::unprocessable("invalid", "the file is empty"));
    }
    let limit = if kind == "image" {
        MAX_IMAGE_BYTES
    } else {
        MAX_UPLOAD_BYTES
    };
    if body.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "this {kind} is {:.1} MB; WhatsApp takes {kind}s up to {} MB",
                body.len() as f64 / 1_048_576.0,
                limit / 1_048_576
            ),
        ));
    }
    let filename = clean_filename(q.filename.as_deref());
    let media_id = s
        .graph
        .upload_media(&conv.phone_number_id, body.to_vec(), &mime, &filename)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "media upload failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "media_upload_failed",
                format!("WhatsApp did not take the file: {e}"),
            )
        })?;
    if let Err(e) = s.media.put(&media_id, &body).await {
        tracing::warn!(error = %e, "media cache write failed");
    }
    let size = body.len();
    let row = Uploaded {
        media_id,
        kind: kind.into(),
        mime_type: mime,
        filename,
        size,
    };
    let r = row.clone();
    let uid = user.id;
    s.store
        .write(move |ctx| {
            ctx.conn.exec(
                "INSERT INTO uploads (media_id, conversation_id, user_id, mime, filename, size, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (media_id) DO NOTHING",
                crate::store::db::params![r.media_id, id, uid, r.mime_type, r.filename, r.size as i64, ctx.now],
            )?;
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_active_types_are_downloaded_not_shown() {
        assert!(!as_attachment("image", "image/png"));
        assert!(!as_attachment("audio", "audio/ogg; codecs=opus"));
        assert!(!as_attachment("video", "video/mp4"));
        assert!(as_attachment("document", "application/pdf"));
        assert!(as_attachment("document", "image/png"));
        assert!(as_attachment("image", "image/svg+xml"));
        assert!(as_attachment("image", "text/html"));
        assert!(as_attachment("sticker", "application/octet-stream"));
    }

    #[tokio::test]
    async fn a_file_streams_in_chunks_and_whole() {
        use futures_util::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..CHUNK_BYTES * 2 + 10).map(|i| (i % 251) as u8).collect();
        tokio::fs::write(&path, &data).await.unwrap();
        let file = tokio::fs::File::open(&path).await.unwrap();
        let chunks: Vec<bytes::Bytes> = file_chunks(file).map(|c| c.unwrap()).collect().await;
        assert!(chunks.len() >= 3, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
        assert_eq!(chunks.concat(), data);
    }

    #[test]
    fn responses_say_nosniff_and_keep_the_type() {
        let r = file_response("document", "application/pdf", Body::empty(), Some(3));
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.headers()[header::CONTENT_DISPOSITION], "attachment");
        assert_eq!(r.headers()[header::CONTENT_LENGTH], "3");
        let r = file_response("image", "image/png", Body::empty(), None);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
        assert!(r.headers().get(header::CONTENT_DISPOSITION).is_none());
        let r = file_response("image", "bad\nvalue", Body::empty(), None);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/octet-stream"
        );
    }
}
