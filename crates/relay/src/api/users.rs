//! Users as admins manage them: list, create, change (name, role, active), reset a password.
//!
//! Deactivating a user, changing their role or resetting their password ends all their sessions
//! in the same write: their tokens answer 401 at once and every relay closes their streams within
//! a few seconds (`store::users::end_sessions`). No change may leave no active user allowed to
//! manage users (`store::roles::managers_left`). Every change is audited.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::admin::{Account, NewUser, PasswordReset, UserPatch};
use switchboard_protocol::api::User;
use switchboard_protocol::rules;

use crate::auth::{hash_password, validate_new_password, AuthUser};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::{now_ms, queries, roles, users, StoreError};
use crate::AppState;

/// Hashes a password off the async threads.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| ApiError::internal())
}

/// All users with whether they are active and their open sessions (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/admin/users", security(("bearer" = [])),
    responses((status = 200, body = [Account]), (status = 403, body = switchboard_protocol::api::ErrorBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<Account>>, ApiError> {
    let idle = s.config.session_idle.as_millis() as i64;
    Ok(Json(
        s.store
            .read(move |c| users::accounts(c, now_ms(), idle))
            .await?,
    ))
}

/// Creates a user (admins only).
#[utoipa::path(post, path = "/api/v1/admin/users", request_body = NewUser, security(("bearer" = [])),
    responses((status = 201, body = User), (status = 409, body = switchboard_protocol::api::ErrorBody), (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    if !rules::fits(rules::EMAIL, &req.email)
        || req.email.chars().count() > 254
        || !rules::fits(rules::LABEL, &req.name)
        || req.name.chars().count() > 200
    {
        return Err(ApiError::unprocessable(
            "invalid",
            "a user needs a valid email and a name",
        ));
    }
    validate_new_password(&req.password, s.config.password_min_length, &req.email)
        .map_err(|m| ApiError::unprocessable("weak_password", m))?;
    let hash = hash(req.password.clone()).await?;
    let actor = admin.0.email.clone();
    let user = s
        .store
        .write(move |ctx| {
            let u = queries::create_user(
                ctx.conn,
                &req.email,
                req.name.trim(),
                req.role.trim(),
                &hash,
                ctx.now,
            )?;
            queries::audit(
                ctx.conn,
                &actor,
                "user.create",
                &json!({"user_id": u.id, "email": u.email, "role": u.role}),
                ctx.now,
            )?;
            Ok(u)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user, as in the list (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Account)))]
pub async fn get_user(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    let idle = s.config.session_idle.as_millis() as i64;
    Ok(Json(
        s.store
            .read(move |c| users::account(c, id, now_ms(), idle))
            .await?,
    ))
}

/// Changes a user's name, role or whether they may sign in (admins only). A role change or a
/// deactivation ends all their sessions at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", request_body = UserPatch, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 409, description = "no active user would be allowed to manage users any more (`conflict`), or the change would lock yourself out (`own_account`)", body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn update_user(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> Result<Json<Account>, ApiError> {
    let name = match &patch.name {
        Some(n) if !rules::fits(rules::LABEL, n) || n.chars().count() > 200 => {
            return Err(ApiError::unprocessable(
                "invalid",
                "a name needs 1 to 200 characters",
            ))
        }
        Some(n) => Some(n.trim().to_string()),
        None => None,
    };
    if id == admin.0.id
        && (patch.active == Some(false)
            || patch
                .role
                .as_deref()
                .is_some_and(|r| r.trim() != admin.0.role))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "you cannot deactivate yourself or change your own role; another admin can",
        ));
    }
    let actor = admin.0.email.clone();
    let idle = s.config.session_idle.as_millis() as i64;
    let account = s
        .store
        .write(move |ctx| {
            if let Some(active) = patch.active {
                users::remember_deactivation(ctx, id, active)?;
            }
            let end = users::update_user(
                ctx.conn,
                id,
                name.as_deref(),
                patch.role.as_deref().map(str::trim),
                patch.active,
            )?;
            if roles::managers_left(ctx.conn)? == 0 {
                return Err(StoreError::Conflict(
                    "this is the last active user allowed to manage users: give someone else \
                     that permission first"
                        .into(),
                ));
            }
            let ended = if end {
                users::end_sessions(ctx, id, users::Ending::All)?
            } else {
                0
            };
            queries::audit(
                ctx.conn,
                &actor,
                "user.update",
                &json!({"user_id": id, "changes": patch, "sessions_ended": ended}),
                ctx.now,
            )?;
            users::account(ctx.conn, id, ctx.now, idle)
        })
        .await?;
    Ok(Json(account))
}

/// Sets a new password for a user (admins only); every session of theirs ends, except, when
/// admins set their own, the session making the request (as `POST /api/v1/me/password` does).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password", request_body = PasswordReset, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn reset_password(
    State(s): State<AppState>,
    admin: crate::auth::AuthSession,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    let ending = if id == admin.user.id {
        users::Ending::AllBut(admin.session_id)
    } else {
        users::Ending::All
    };
    let idle = s.config.session_idle.as_millis() as i64;
    let email = s
        .store
        .read(move |c| users::account(c, id, now_ms(), idle))
        .await?
        .email;
    validate_new_password(&req.password, s.config.password_min_length, &email)
        .map_err(|m| ApiError::unprocessable("weak_password", m))?;
    let hash = hash(req.password).await?;
    let actor = admin.user.email.clone();
    s.store
        .write(move |ctx| {
            users::set_password(ctx.conn, id, &hash)?;
            let ended = users::end_sessions(ctx, id, ending)?;
            queries::audit(
                ctx.conn,
                &actor,
                "user.password_reset",
                &json!({"user_id": id, "sessions_ended": ended}),
                ctx.now,
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
