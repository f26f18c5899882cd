//! Admin routes: dead letters and numbers (users: `api::users`, roles: `api::roles`, the audit
//! log: `api::audit`). Every change is audited.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use switchboard_protocol::api::{DeadLetter, PhoneNumber};

use crate::auth::AuthUser;
use crate::error::{ApiError, JsonBody};
use crate::store::queries;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LimitQuery {
    /// 1..=1000, default 100.
    limit: Option<usize>,
}

fn limit(q: &LimitQuery) -> Result<usize, ApiError> {
    let l = q.limit.unwrap_or(100);
    if (1..=1000).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::bad_request("limit must be between 1 and 1000"))
    }
}

/// Webhook bodies that could not be parsed, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/admin/dead-letters", params(LimitQuery), security(("bearer" = [])),
    responses((status = 200, body = [DeadLetter]), (status = 403, body = switchboard_protocol::api::ErrorBody)))]
pub async fn dead_letters(
    State(s): State<AppState>,
    _user: AuthUser,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let l = limit(&q)?;
    Ok(Json(
        s.store.read(move |c| queries::dead_letters(c, l)).await?,
    ))
}

pub use switchboard_protocol::admin::NewNumber;

/// Adds a business number, or adopts one that appeared unconfigured (admins only); the
/// conversations held while it was unconfigured are released in the same write (routed, and
/// shown to agents).
#[utoipa::path(post, path = "/api/v1/admin/numbers", request_body = NewNumber, security(("bearer" = [])),
    responses((status = 200, body = PhoneNumber), (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn add_number(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<NewNumber>,
) -> Result<Json<PhoneNumber>, ApiError> {
    if req.phone_number_id.is_empty() || !req.phone_number_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::unprocessable(
            "invalid",
            "phone_number_id must be Meta's numeric phone number id",
        ));
    }
    let pn = PhoneNumber {
        phone_number_id: req.phone_number_id,
        display_phone_number: req.display_phone_number,
        name: req.name,
        configured: true,
    };
    let actor = admin.0.email.clone();
    let out = pn.clone();
    s.store
        .write(move |ctx| {
            // Releases the conversations held while the number was unconfigured.
            crate::store::numbers::add_number(ctx, &pn, req.waba_id.as_deref())?;
            queries::audit(
                ctx.conn,
                &actor,
                "number.add",
                &serde_json::to_value(&pn)?,
                ctx.now,
            )
        })
        .await?;
    Ok(Json(out))
}
