//! Credentials per WhatsApp Business Account (permission `manage_numbers`): each account's own
//! access token and the Meta app (with its app secret) whose webhooks it sends. Tokens and
//! secrets are sealed before they are stored (`crate::secrets`), never answered, never logged,
//! and the audit log records that they changed, not what they are. Every relay picks up a change
//! within `credentials::RELOAD_EVERY`; this one at once.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::admin::{BusinessAccount, BusinessAccountUpdate, MetaApp, MetaAppSecret};

use crate::auth::AuthUser;
use crate::credentials::{app_purpose, token_purpose};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::{accounts, queries};
use crate::AppState;

/// Meta's ids are digits.
fn meta_id(what: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::unprocessable(
            "invalid",
            format!("{what} must be Meta's numeric id"),
        ));
    }
    Ok(())
}

/// A token or secret as Meta issues them: printable, no spaces, of a sane length.
fn credential(what: &str, v: &str) -> Result<(), ApiError> {
    if v.len() < 8 || v.len() > 1024 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::unprocessable(
            "invalid",
            format!("{what} must be 8 to 1024 printable characters without spaces"),
        ));
    }
    Ok(())
}

fn no_key(e: crate::secrets::SecretError) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "no_secret_key", e.to_string())
}

/// Every business account: from the relay's numbers and those an admin set up.
#[utoipa::path(get, path = "/api/v1/admin/business-accounts", security(("bearer" = [])),
    responses((status = 200, body = [BusinessAccount])))]
pub async fn list_accounts(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<Vec<BusinessAccount>>, ApiError> {
    Ok(Json(s.store.read(accounts::list).await?))
}

/// Sets an account's name, Meta app and (when given) its own access token; `""` removes the
/// token (the relay's configured one is used again).
#[utoipa::path(put, path = "/api/v1/admin/business-accounts/{waba_id}", params(("waba_id" = String, Path)),
    request_body = BusinessAccountUpdate, security(("bearer" = [])),
    responses((status = 200, body = BusinessAccount), (status = 409, description = "SWITCHBOARD_SECRET_KEY is not set", body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn put_account(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(waba_id): Path<String>,
    JsonBody(req): JsonBody<BusinessAccountUpdate>,
) -> Result<Json<BusinessAccount>, ApiError> {
    meta_id("waba_id", &waba_id)?;
    // Absent: kept; null or empty: cleared.
    use switchboard_protocol::rules::{fits, CREDENTIAL_OR_EMPTY, META_ID_OR_EMPTY, ONE_LINE};
    if req
        .name
        .as_ref()
        .and_then(|n| n.as_deref())
        .is_some_and(|n| n.chars().count() > 100 || !fits(ONE_LINE, n))
    {
        return Err(ApiError::unprocessable(
            "invalid",
            "name must have at most 100 characters",
        ));
    }
    let name: Option<Option<String>> = req
        .name
        .map(|n| n.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()));
    if let Some(Some(a)) = &req.app_id {
        if !fits(META_ID_OR_EMPTY, a) {
            meta_id("app_id", a)?;
        }
    }
    let app_id: Option<Option<String>> = req.app_id.map(|a| a.filter(|a| !a.is_empty()));
    let sealed = match req.access_token.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(t) => {
            if !fits(CREDENTIAL_OR_EMPTY, t) {
                credential("access_token", t)?;
            }
            let key = s.graph.creds.key().map_err(no_key)?;
            Some(Some(key.seal(t, &token_purpose(&waba_id))))
        }
    };
    let actor = admin.0.email.clone();
    let w = waba_id.clone();
    s.store
        .write(move |ctx| {
            accounts::put_account(
                ctx,
                &w,
                &accounts::AccountChange {
                    name: name.as_ref().map(|n| n.as_deref()),
                    app_id: app_id.as_ref().map(|a| a.as_deref()),
                    token: sealed.as_ref().map(|t| t.as_deref()),
                },
            )?;
            let token = match &sealed {
                None => "kept",
                Some(None) => "removed",
                Some(Some(_)) => "replaced",
            };
            queries::audit(
                ctx.conn,
                &actor,
                "business_account.update",
                &json!({"waba_id": w, "name": name, "app_id": app_id, "access_token": token}),
                ctx.now,
            )
        })
        .await?;
    s.graph.creds.reload(&s.store).await?;
    let all = s.store.read(accounts::list).await?;
    let out = all
        .into_iter()
        .find(|a| a.waba_id == waba_id)
        .ok_or_else(ApiError::internal)?;
    Ok(Json(out))
}

/// The Meta apps whose secrets the relay holds (never the secrets).
#[utoipa::path(get, path = "/api/v1/admin/meta-apps", security(("bearer" = [])),
    responses((status = 200, body = [MetaApp])))]
pub async fn list_apps(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<Vec<MetaApp>>, ApiError> {
    Ok(Json(s.store.read(accounts::apps).await?))
}

/// Adds a Meta app or replaces its app secret.
#[utoipa::path(put, path = "/api/v1/admin/meta-apps/{app_id}", params(("app_id" = String, Path)),
    request_body = MetaAppSecret, security(("bearer" = [])),
    responses((status = 204), (status = 409, description = "SWITCHBOARD_SECRET_KEY is not set", body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn put_app(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(app_id): Path<String>,
    JsonBody(req): JsonBody<MetaAppSecret>,
) -> Result<StatusCode, ApiError> {
    meta_id("app_id", &app_id)?;
    let secret = req.app_secret.as_str();
    credential("app_secret", secret)?;
    let sealed = s
        .graph
        .creds
        .key()
        .map_err(no_key)?
        .seal(secret, &app_purpose(&app_id));
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            accounts::put_app(ctx, &app_id, &sealed)?;
            queries::audit(
                ctx.conn,
                &actor,
                "meta_app.secret",
                &json!({ "app_id": app_id }),
                ctx.now,
            )
        })
        .await?;
    s.graph.creds.reload(&s.store).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a Meta app no account belongs to.
#[utoipa::path(delete, path = "/api/v1/admin/meta-apps/{app_id}", params(("app_id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 409, description = "accounts still belong to it", body = switchboard_protocol::api::ErrorBody)))]
pub async fn delete_app(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(app_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    let id = app_id.clone();
    let gone = s
        .store
        .write(move |ctx| {
            let gone = accounts::delete_app(ctx, &id)?;
            if gone {
                queries::audit(
                    ctx.conn,
                    &actor,
                    "meta_app.delete",
                    &json!({ "app_id": id }),
                    ctx.now,
                )?;
            }
            Ok(gone)
        })
        .await?;
    if !gone {
        return Err(ApiError::not_found(format!(
            "Meta app {app_id} is not known"
        )));
    }
    s.graph.creds.reload(&s.store).await?;
    Ok(StatusCode::NO_CONTENT)
}
