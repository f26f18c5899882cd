//! Data governance (permission `manage_data`): retention per business number, legal holds on
//! customers and conversations, and erasing a customer. Every change is audited; an erasure's
//! audit entry holds ids and counts, never who the customer was.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::api::ErrorBody;
use switchboard_protocol::governance::{
    valid_hold_reason, valid_retention, Erased, LegalHold, LegalHoldRequest, Retention,
    RetentionRequest,
};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::retention::{self, HoldOn};
use crate::store::{erasure, queries, StoreError};
use crate::AppState;

/// Every business number's retention and how far its last purge reached.
#[utoipa::path(get, path = "/api/v1/admin/retention", security(("bearer" = [])),
    responses((status = 200, body = [Retention])))]
pub async fn list_retention(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<Vec<Retention>>, ApiError> {
    Ok(Json(s.store.read(retention::list_retention).await?))
}

/// Sets how long a number's messages, media, events and raw webhook bodies are kept: 90 to
/// 3650 days, or `null` for ever. A shorter period is purged at once, in the background.
#[utoipa::path(put, path = "/api/v1/admin/numbers/{phone_number_id}/retention",
    params(("phone_number_id" = String, Path)), request_body = RetentionRequest, security(("bearer" = [])),
    responses((status = 200, body = Retention), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_retention(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(number): Path<String>,
    JsonBody(req): JsonBody<RetentionRequest>,
) -> Result<Json<Retention>, ApiError> {
    let days = valid_retention(req.days).map_err(|m| ApiError::unprocessable("invalid", m))?;
    let actor = admin.0.email;
    let n = number.clone();
    let all = s
        .store
        .write(move |ctx| {
            retention::set_retention(ctx.conn, &n, days)?;
            queries::audit(
                ctx.conn,
                &actor,
                "retention.set",
                &json!({"phone_number_id": n, "days": days}),
                ctx.now,
            )?;
            retention::list_retention(ctx.conn)
        })
        .await?;
    s.retention_wake.notify_one();
    let one = all
        .into_iter()
        .find(|r| r.phone_number_id == number)
        .ok_or_else(|| StoreError::NotFound(format!("number {number}")))?;
    Ok(Json(one))
}

/// Every legal hold in force.
#[utoipa::path(get, path = "/api/v1/admin/legal-holds", security(("bearer" = [])),
    responses((status = 200, body = [LegalHold])))]
pub async fn list_holds(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<Vec<LegalHold>>, ApiError> {
    Ok(Json(s.store.read(retention::list_holds).await?))
}

async fn set_hold(
    s: AppState,
    admin: AuthUser,
    on: HoldOn,
    req: LegalHoldRequest,
) -> Result<Json<LegalHold>, ApiError> {
    let reason =
        valid_hold_reason(&req.reason).map_err(|m| ApiError::unprocessable("invalid", m))?;
    let actor = admin.0.email;
    let hold = s
        .store
        .write(move |ctx| retention::set_hold(ctx, on, &reason, &actor))
        .await?;
    Ok(Json(hold))
}

async fn release(s: AppState, admin: AuthUser, on: HoldOn) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email;
    s.store
        .write(move |ctx| retention::release_hold(ctx, on, &actor))
        .await?;
    // What the hold kept may be past retention now.
    s.retention_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// Puts a customer (every conversation of theirs) on legal hold: nothing of theirs is purged and
/// they cannot be erased until it is released.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/legal-hold", params(("id" = i64, Path)),
    request_body = LegalHoldRequest, security(("bearer" = [])),
    responses((status = 200, body = LegalHold), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn hold_contact(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<LegalHoldRequest>,
) -> Result<Json<LegalHold>, ApiError> {
    set_hold(s, admin, HoldOn::Contact(id), req).await
}

/// Releases a customer's legal hold.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}/legal-hold", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn release_contact(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    release(s, admin, HoldOn::Contact(id)).await
}

/// Puts one conversation on legal hold.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/legal-hold", params(("id" = i64, Path)),
    request_body = LegalHoldRequest, security(("bearer" = [])),
    responses((status = 200, body = LegalHold), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn hold_conversation(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<LegalHoldRequest>,
) -> Result<Json<LegalHold>, ApiError> {
    set_hold(s, admin, HoldOn::Conversation(id), req).await
}

/// Releases a conversation's legal hold.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/legal-hold", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn release_conversation(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    release(s, admin, HoldOn::Conversation(id)).await
}

/// Erases a customer (GDPR Art. 17): their messages, media, notes, tags and identifiers leave
/// the relay, and every client cache drops them at its next sync (`contact.erased`). Refused
/// (409) while a legal hold applies. Not undoable.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Erased), (status = 404, body = ErrorBody),
              (status = 409, description = "a legal hold applies", body = ErrorBody)))]
pub async fn erase_contact(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Erased>, ApiError> {
    let actor = admin.0.email;
    let done = s
        .store
        .write(move |ctx| erasure::erase_contact(ctx, id, &actor))
        .await?;
    crate::retention::remove_files(&[&s.archive.files, s.media.as_ref()], &done.media_ids).await;
    // The write-ahead log emptied (SQLite) or the tables vacuumed (PostgreSQL) in the
    // background: the erasure is committed, the answer need not wait.
    let store = s.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.scrub().await {
            tracing::warn!(error = %e, "scrubbing the database after an erasure failed");
        }
    });
    Ok(Json(done.report))
}
