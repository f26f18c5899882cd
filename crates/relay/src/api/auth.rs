//! Sign-in, sign-out and who-am-I.

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use switchboard_protocol::api::{LoginRequest, LoginResponse, User};

use crate::auth::{dummy_hash, new_token, token_hash, verify_password, AuthUser};
use crate::error::{ApiError, JsonBody};
use crate::store::{now_ms, queries};
use crate::AppState;

/// Exchanges email and password for a bearer token. Rate-limited per email and per client.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong email or password", body = switchboard_protocol::api::ErrorBody),
              (status = 429, description = "too many attempts", body = switchboard_protocol::api::ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let email = req.email.trim().to_lowercase();
    if email.is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request("email and password are required"));
    }
    let limited = s
        .login_limiter
        .check_key(&format!("email:{email}"))
        .is_err()
        || s.login_limiter
            .check_key(&format!("ip:{}", peer.ip()))
            .is_err()
            && !peer.ip().is_loopback();
    if limited {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many sign-in attempts; wait a minute and try again",
        ));
    }
    let lookup = email.clone();
    let found = s
        .store
        .read(move |c| queries::user_by_email(c, &lookup))
        .await?;
    let password = req.password;
    let (user, ok) = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) => {
            let ok = verify_password(&hash, &password);
            (Some(user), ok)
        }
        None => {
            // Same work as for a real user, so timing does not reveal which emails exist.
            let _ = verify_password(dummy_hash(), &password);
            (None, false)
        }
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => return Err(ApiError::unauthorized("wrong email or password")),
    };
    let (token, hash) = new_token();
    let expires_at = now_ms() + s.config.token_ttl.as_millis() as i64;
    let uid = user.id;
    s.store
        .write(move |ctx| queries::insert_token(ctx.conn, &hash, uid, ctx.now, expires_at))
        .await?;
    Ok(Json(LoginResponse {
        token,
        id: user.id,
        user,
        expires_at,
    }))
}

/// Ends this session (the token stops working at once).
#[utoipa::path(post, path = "/api/v1/auth/logout", security(("bearer" = [])), responses((status = 204)))]
pub async fn logout(
    State(s): State<AppState>,
    _user: AuthUser,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| token_hash(t.trim()))
        .ok_or_else(|| ApiError::unauthorized("no bearer token"))?;
    s.store
        .write(move |ctx| queries::delete_token(ctx.conn, &token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", security(("bearer" = [])), responses((status = 200, body = User)))]
pub async fn me(AuthUser(user): AuthUser) -> Json<User> {
    Json(user)
}
