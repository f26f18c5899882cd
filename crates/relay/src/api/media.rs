//! `GET /api/v1/messages/{id}/media`: inbound media through the relay (see `crate::media`).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::graph::GraphError;
use crate::media::MAX_MEDIA_BYTES;
use crate::store::queries;
use crate::AppState;

/// The media file of an inbound message, fetched from WhatsApp on first request.
#[utoipa::path(get, path = "/api/v1/messages/{id}/media", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the file"), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 502, description = "WhatsApp did not deliver the file", body = switchboard_protocol::api::ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (conv, media_id, mime) = s
        .store
        .read(move |c| queries::message_media(c, id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("message {id} has no media")))?;
    let u = user.clone();
    if !s.store.read(move |c| queries::may_see(c, &u, conv)).await? {
        return Err(ApiError::not_found(format!(
            "message {id} does not exist or is not visible to you"
        )));
    }
    let mime = mime.unwrap_or_else(|| "application/octet-stream".into());
    if let Some(bytes) = s.media.get(&media_id).await {
        return Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response());
    }
    let bad_gateway = |e: GraphError| {
        tracing::warn!(error = %e, "media fetch failed");
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "media_unavailable",
            format!("WhatsApp did not deliver this file: {e}"),
        )
    };
    let info = s.graph.media_info(&media_id).await.map_err(bad_gateway)?;
    let bytes = s
        .graph
        .download(&info.url, MAX_MEDIA_BYTES)
        .await
        .map_err(bad_gateway)?;
    if let Err(e) = s.media.put(&media_id, &bytes).await {
        tracing::warn!(error = %e, "media cache write failed");
    }
    let mime = info.mime_type.unwrap_or(mime);
    Ok(([(header::CONTENT_TYPE, mime)], bytes.to_vec()).into_response())
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
    axum::extract::Query(q): axum::extract::Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, axum::Json<Uploaded>), ApiError> {
    use axum::http::StatusCode;
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
