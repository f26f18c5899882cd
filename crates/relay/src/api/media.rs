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
