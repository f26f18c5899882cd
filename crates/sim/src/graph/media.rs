//! Media endpoints: upload (`POST /{phone_number_id}/media`), descriptor (`GET /{media_id}`, in
//! `objects`), delete, and the bearer-protected download URL.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ids;
use crate::media::{mime_supported, MediaItem};
use crate::meta_error::GraphFailure;
use crate::sim::Simulator;

use super::{authorize, check_version};

impl Simulator {
    /// A fresh download URL for a media id (valid five minutes).
    pub(crate) fn media_url(&self, media_id: &str) -> String {
        let token = ids::token();
        self.inner
            .media
            .lock()
            .expect("media lock")
            .issue_token(media_id, token.clone());
        format!("{}/media-download/{token}", self.inner.base_url)
    }

    /// The business number a stored media file belongs to.
    pub(crate) fn media_number(&self, media_id: &str) -> Option<String> {
        let store = self.inner.media.lock().expect("media lock");
        store.get(media_id).map(|i| i.phone_number_id.clone())
    }

    /// `{messaging_product, url, mime_type, sha256, file_size, id}` for a stored media id.
    pub(crate) fn media_descriptor(
        &self,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Option<serde_json::Value> {
        let (mime, sha, size) = {
            let store = self.inner.media.lock().expect("media lock");
            let item = store.get(media_id)?;
            if phone_number_id.is_some_and(|p| p != item.phone_number_id) {
                return None;
            }
            (
                item.mime_type.clone(),
                item.sha256.clone(),
                item.bytes.len(),
            )
        };
        Some(json!({
            "messaging_product": "whatsapp",
            "url": self.media_url(media_id),
            "mime_type": mime,
            "sha256": sha,
            "file_size": size,
            "id": media_id,
        }))
    }
}

/// Meta's size limits per MIME family.
fn size_limit(mime: &str) -> usize {
    const MB: usize = 1024 * 1024;
    match mime.split('/').next().unwrap_or("") {
        "image" if mime.starts_with("image/webp") => 500 * 1024,
        "image" => 5 * MB,
        "audio" | "video" => 16 * MB,
        _ => 100 * MB,
    }
}

pub(crate) async fn upload(
    State(sim): State<Simulator>,
    Path((version, phone_number_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, GraphFailure> {
    check_version(&version, &uri)?;
    super::authorize_number(&sim, &headers, &uri, &phone_number_id)?;
    if sim.number(&phone_number_id).is_none() {
        return Err(GraphFailure::object_not_found("post", &phone_number_id));
    }
    let mut multipart = multipart.map_err(|e| {
        GraphFailure::invalid_param(format!("The request must be multipart/form-data: {e}"))
    })?;
    let mut product = None;
    let mut type_field = None;
    let mut file: Option<(Bytes, Option<String>)> = None;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| GraphFailure::invalid_param(format!("Malformed multipart body: {e}")))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or("").to_string();
        let content_type = field.content_type().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| GraphFailure::invalid_param(format!("Malformed multipart body: {e}")))?;
        match name.as_str() {
            "messaging_product" => product = Some(String::from_utf8_lossy(&data).into_owned()),
            "type" => type_field = Some(String::from_utf8_lossy(&data).into_owned()),
            "file" => file = Some((data, content_type)),
            _ => {}
        }
    }
    match product.as_deref() {
        None => {
            return Err(GraphFailure::missing_param(
                "The parameter messaging_product is required.",
            ))
        }
        Some("whatsapp") => {}
        Some(other) => {
            return Err(GraphFailure::invalid_param(format!(
                "Param messaging_product must be 'whatsapp', got '{other}'."
            )))
        }
    }
    let (bytes, part_type) =
        file.ok_or_else(|| GraphFailure::missing_param("The parameter file is required."))?;
    let mime = type_field
        .or(part_type)
        .ok_or_else(|| GraphFailure::missing_param("The parameter type is required."))?;
    if !mime_supported(&mime) {
        return Err(GraphFailure::whatsapp(
            131053,
            Some(format!(
                "Param file must be a file with a supported type, got {mime}."
            )),
        ));
    }
    if bytes.len() > size_limit(&mime) {
        return Err(GraphFailure::whatsapp(
            131053,
            Some(format!(
                "File size {} exceeds the limit of {} bytes for {mime}.",
                bytes.len(),
                size_limit(&mime)
            )),
        ));
    }
    let id = sim.inner.ids.digits();
    sim.inner
        .media
        .lock()
        .expect("media lock")
        .insert(MediaItem::new(id.clone(), bytes, &mime, &phone_number_id));
    Ok(Json(json!({ "id": id })).into_response())
}

pub(crate) async fn delete(
    State(sim): State<Simulator>,
    Path((version, media_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GraphFailure> {
    check_version(&version, &uri)?;
    authorize(&sim, &headers, &uri)?;
    if sim
        .inner
        .media
        .lock()
        .expect("media lock")
        .delete(&media_id)
    {
        Ok(Json(json!({"success": true})).into_response())
    } else {
        Err(GraphFailure::object_not_found("delete", &media_id))
    }
}

/// `GET <media url>`: the bytes, with the bearer token (401 without), 404 once expired.
pub(crate) async fn download(
    State(sim): State<Simulator>,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GraphFailure> {
    let number = sim
        .inner
        .media
        .lock()
        .expect("media lock")
        .by_token(&token)
        .map(|i| i.phone_number_id.clone());
    // Only with the token of the account the file's number belongs to.
    match &number {
        Some(n) => super::authorize_number(&sim, &headers, &uri, n)?,
        None => authorize(&sim, &headers, &uri)?,
    }
    if number.is_some()
        && sim
            .inner
            .faults
            .take(crate::faults::Side::Media, number.as_deref(), &[])
            .is_some()
    {
        return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let store = sim.inner.media.lock().expect("media lock");
    match store.by_token(&token) {
        Some(item) => Ok((
            [(header::CONTENT_TYPE, item.mime_type.clone())],
            item.bytes.clone(),
        )
            .into_response()),
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}
