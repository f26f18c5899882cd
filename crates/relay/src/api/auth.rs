//! Sign-in, sign-out, who-am-I, one's own password and sessions.
//!
//! Failed sign-ins and lockouts are audited (a lockout once per key and minute). A deactivated
//! user cannot sign in. Changing one's password ends one's other sessions; any session of one's
//! own can be ended from the list.
//!
//! Password checks (argon2, deliberately slow) run on the blocking pool that every store read
//! uses, so at most [`AppState::password_checks`] run at once; a sign-in that cannot start one
//! within [`PASSWORD_CHECK_WAIT`] is answered 503 `busy` (`Retry-After: 1`). The client address
//! limited, recorded with the session and audited is the TCP peer, or the client a trusted proxy
//! names (`client_ip`).

use crate::extract::Path;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::json;
use switchboard_protocol::admin::{PasswordChange, Session};
use switchboard_protocol::api::{LoginRequest, LoginResponse, User};

use crate::auth::{dummy_hash, new_token, validate_new_password, verify_password, AuthSession};
use crate::client_ip;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::{now_ms, queries, users};
use crate::AppState;

/// Largest sign-in body read: an email of 254 and a password of 1,024 characters fit, even with
/// every character written as a JSON escape.
pub const MAX_LOGIN_BODY: usize = 16 * 1024;

/// Longest email accepted at sign-in (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// How long a password check waits for its turn before the request is answered `busy`.
pub const PASSWORD_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A turn to check a password, held until the check ends (also when the client has gone).
async fn password_turn(s: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(
        PASSWORD_CHECK_WAIT,
        s.password_checks.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(turn)) => Ok(turn),
        Ok(Err(_)) | Err(_) => Err(ApiError::busy(
            "the relay is checking too many passwords at once; try again in a second",
            1,
        )),
    }
}

/// Exchanges email and password for a bearer token. Rate-limited per email and per client.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong email or password", body = switchboard_protocol::api::ErrorBody),
              (status = 403, description = "the account is deactivated", body = switchboard_protocol::api::ErrorBody),
              (status = 429, description = "too many attempts", body = switchboard_protocol::api::ErrorBody),
              (status = 503, description = "too many sign-ins at once; retry after the `Retry-After` seconds", body = switchboard_protocol::api::ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    if !switchboard_protocol::rules::fits(switchboard_protocol::rules::TEXT, &req.email)
        || req.password.is_empty()
    {
        return Err(ApiError::bad_request("email and password are required"));
    }
    let email = req.email.trim().to_lowercase();
    if req.email.chars().count() > MAX_EMAIL || req.password.chars().count() > 1024 {
        return Err(ApiError::bad_request(
            "email or password too long (at most 254 and 1024 characters)",
        ));
    }
    let ip = client_ip::of_request(peer.ip(), &headers, &s.config.trusted_proxies);
    let by_email = format!("email:{email}");
    let by_ip = format!("ip:{ip}");
    let locked = if s.login_limiter.check_key(&by_email).is_err() {
        Some(by_email)
    } else if !ip.is_loopback() && s.login_limiter.check_key(&by_ip).is_err() {
        Some(by_ip)
    } else {
        None
    };
    if let Some(key) = locked {
        if s.lockouts.first(&key, now_ms()) {
            let details = json!({"limit": key, "ip": ip.to_string()});
            let actor = email.clone();
            s.store
                .write(move |ctx| {
                    queries::audit(ctx.conn, &actor, "login.locked", &details, ctx.now)
                })
                .await?;
        }
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many sign-in attempts; wait a minute and try again",
        ));
    }
    let lookup = email.clone();
    let found = s
        .store
        .read(move |c| users::user_by_email(c, &lookup))
        .await?;
    let password = req.password;
    let turn = password_turn(&s).await?;
    let (user, active, ok) = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        match found {
            Some((user, hash, active)) => {
                let ok = verify_password(&hash, &password);
                (Some(user), active, ok)
            }
            None => {
                // Same work as for a real user, so timing does not reveal which emails exist.
                let _ = verify_password(dummy_hash(), &password);
                (None, false, false)
            }
        }
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            let details = json!({"ip": ip.to_string()});
            let actor = email.clone();
            s.store
                .write(move |ctx| {
                    queries::audit(ctx.conn, &actor, "login.failed", &details, ctx.now)
                })
                .await?;
            return Err(ApiError::unauthorized("wrong email or password"));
        }
    };
    if !active {
        return Err(ApiError::forbidden(
            "this account is deactivated; ask an admin to activate it",
        ));
    }
    let (token, hash) = new_token();
    let expires_at = now_ms() + s.config.token_ttl.as_millis() as i64;
    let uid = user.id;
    let client = users::Client {
        ip: ip.to_string(),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let actor = user.email.clone();
    s.store
        .write(move |ctx| {
            let session = users::create_session(ctx.conn, &hash, uid, ctx.now, expires_at, &client)?;
            // Every sign-in is on the record (who, from where, with what), like the failed ones.
            queries::audit(
                ctx.conn,
                &actor,
                "login",
                &json!({"user_id": uid, "session_id": session, "ip": client.ip, "client": client.user_agent}),
                ctx.now,
            )
        })
        .await?;
    Ok(Json(LoginResponse {
        token,
        id: user.id,
        user,
        expires_at,
    }))
}

/// Ends this session: the token stops working at once and its streams close.
#[utoipa::path(post, path = "/api/v1/auth/logout", security(("bearer" = [])), responses((status = 204)))]
pub async fn logout(State(s): State<AppState>, me: AuthSession) -> Result<StatusCode, ApiError> {
    let (uid, sid) = (me.user.id, me.session_id);
    s.store
        .write(move |ctx| users::end_sessions(ctx, uid, users::Ending::One(sid)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", security(("bearer" = [])), responses((status = 200, body = User)))]
pub async fn me(me: AuthSession) -> Json<User> {
    Json(me.user)
}

/// Changes one's own password; one's other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "the current password is wrong", body = switchboard_protocol::api::ErrorBody),
              (status = 422, body = switchboard_protocol::api::ErrorBody),
              (status = 503, description = "too many password checks at once; retry after the `Retry-After` seconds", body = switchboard_protocol::api::ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    me: AuthSession,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let uid = me.user.id;
    let current = s.store.read(move |c| users::password_hash(c, uid)).await?;
    let given = req.current_password;
    let turn = password_turn(&s).await?;
    let ok = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        verify_password(&current, &given)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    if !ok {
        return Err(ApiError::forbidden("the current password is not right"));
    }
    validate_new_password(
        &req.new_password,
        s.config.password_min_length,
        &me.user.email,
    )
    .map_err(|m| ApiError::unprocessable("weak_password", m))?;
    let hash = super::users::hash(req.new_password).await?;
    let (actor, sid) = (me.user.email.clone(), me.session_id);
    s.store
        .write(move |ctx| {
            users::set_password(ctx.conn, uid, &hash)?;
            let ended = users::end_sessions(ctx, uid, users::Ending::AllBut(sid))?;
            queries::audit(
                ctx.conn,
                &actor,
                "me.password_change",
                &json!({"sessions_ended": ended}),
                ctx.now,
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One's live sessions, newest first (the one asking is marked `current`).
#[utoipa::path(get, path = "/api/v1/me/sessions", security(("bearer" = [])), responses((status = 200, body = [Session])))]
pub async fn list_sessions(
    State(s): State<AppState>,
    me: AuthSession,
) -> Result<Json<Vec<Session>>, ApiError> {
    let idle = s.config.session_idle.as_millis() as i64;
    let (uid, sid) = (me.user.id, me.session_id);
    Ok(Json(
        s.store
            .read(move |c| users::sessions(c, uid, sid, now_ms(), idle))
            .await?,
    ))
}

/// Ends one of one's sessions (for example a laptop left signed in).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = switchboard_protocol::api::ErrorBody),
              (status = 409, description = "the session making the request: sign out with `POST /api/v1/auth/logout`", body = switchboard_protocol::api::ErrorBody)))]
pub async fn end_session(
    State(s): State<AppState>,
    me: AuthSession,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if id == me.session_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "current_session",
            "this is the session you are using: sign out instead",
        ));
    }
    let uid = me.user.id;
    let ended = s
        .store
        .write(move |ctx| users::end_sessions(ctx, uid, users::Ending::One(id)))
        .await?;
    if ended == 0 {
        return Err(ApiError::not_found(format!("session {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
