//! Passwords (argon2id) and their policy, bearer tokens and the `AuthUser` / `AuthSession`
//! extractors.
//!
//! Tokens are 256 random bits, given to the client once; the store keeps only their SHA-256, so
//! a leaked database does not leak sessions. A token names a session (`store::users`), which
//! ends at its lifetime, after the idle time, at logout or when an admin changes the user.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_protocol::api::User;

use crate::error::ApiError;
use crate::store::{now_ms, users};
use crate::AppState;

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so timing does not reveal which
/// emails exist.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").expect("argon2 works"))
}

pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Common passwords and stems, shipped with the relay (`data/common-passwords.txt`).
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Checks a new password against the policy: at least `min_chars` characters, not a common
/// password (or one followed only by digits and punctuation), and not the email or its name
/// part. The message says what to change; it never repeats the password.
pub fn validate_new_password(password: &str, min_chars: usize, email: &str) -> Result<(), String> {
    if password.chars().count() < min_chars {
        return Err(format!(
            "password must have at least {min_chars} characters"
        ));
    }
    if password.chars().count() > 1024 {
        return Err("password must have at most 1024 characters".into());
    }
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    let list = common_passwords();
    if list.contains(lower.as_str()) || list.contains(stem) {
        return Err("this password is too common; choose one that is hard to guess".into());
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower == email || (local.len() >= 3 && stem == local)) {
        return Err("the password must not be the email address".into());
    }
    Ok(())
}

/// The signed-in user, from `Authorization: Bearer <token>` (what their role allows is checked
/// per route by `api::access`, from one table).
pub struct AuthUser(pub User);

/// The token of `Authorization: Bearer <token>`, whatever the case of the scheme (RFC 9110).
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// A session's last use is recorded at most this often (a write per request would be waste).
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// The signed-in user and the session the request was made with (looked up once per request:
/// `api::access::enforce` hands the one it checked on through the request's extensions).
#[derive(Clone)]
pub struct AuthSession {
    pub user: User,
    pub session_id: i64,
}

impl FromRequestParts<AppState> for AuthSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(session) = parts.extensions.get::<AuthSession>() {
            return Ok(session.clone());
        }
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("sign in first: no bearer token was sent"))?;
        let hash = token_hash(token);
        let idle = state.config.session_idle.as_millis() as i64;
        let now = now_ms();
        let h = hash.clone();
        let live = state
            .store
            .read(move |c| users::session_for_token(c, &h, now, idle))
            .await?;
        let Some(live) = live else {
            // Deactivated: the app deletes what it stored when it reads this code.
            let reason = state
                .store
                .read(move |c| users::ended_reason(c, &hash))
                .await?;
            return Err(if reason.as_deref() == Some("deactivated") {
                ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "account_deactivated",
                    "your account was deactivated; the messages stored on this device are deleted",
                )
            } else {
                ApiError::unauthorized("your session has expired or was signed out; sign in again")
            });
        };
        if now - live.last_used_at > TOUCH_EVERY_MS {
            let id = live.id;
            state
                .store
                .write(move |ctx| users::touch_session(ctx.conn, id, ctx.now))
                .await?;
        }
        Ok(AuthSession {
            user: live.user,
            session_id: live.id,
        })
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(AuthUser(
            AuthSession::from_request_parts(parts, state).await?.user,
        ))
    }
}

/// Remembers which sign-in limits were hit lately, so a lockout is audited once per key and
/// minute however often it is hit; bounded in size.
#[derive(Default)]
pub struct Lockouts {
    seen: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Lockouts {
    const CAPACITY: usize = 10_000;

    /// Whether a lockout of `key` at `now` is news (not seen within the last minute).
    pub fn first(&self, key: &str, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::CAPACITY {
            seen.retain(|_, at| now - *at < 60_000);
            if seen.len() >= Self::CAPACITY {
                return false;
            }
        }
        match seen.get(key) {
            Some(at) if now - *at < 60_000 => false,
            _ => {
                seen.insert(key.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong horse"));
        assert!(!verify_password("garbage", "x"));
        let (t, th) = new_token();
        assert_eq!(t.len(), 64);
        assert_eq!(token_hash(&t), th);
    }

    #[test]
    fn password_policy() {
        let ok = |p: &str| validate_new_password(p, 10, "anna.schmidt@example.com");
        assert!(ok("short").unwrap_err().contains("at least 10"));
        assert!(ok("Password2026!").unwrap_err().contains("too common"));
        assert!(ok("SOMMER2026!!").unwrap_err().contains("too common"));
        assert!(ok("1234567890").unwrap_err().contains("too common"));
        assert!(ok("anna.schmidt@example.com").is_err());
        assert!(ok("Anna.Schmidt1!").unwrap_err().contains("email"));
        assert!(ok(&"x".repeat(2000)).is_err());
        assert!(ok("Kaffeetasse am Fenster").is_ok());
        assert!(ok("korrekt Pferd Batterie").is_ok());
        // The length is a setting; the list applies whatever it is.
        assert!(validate_new_password("Kaffee12", 8, "a@b.c").is_ok());
        assert!(validate_new_password("password", 8, "a@b.c").is_err());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let h = |v: &str| {
            let mut m = axum::http::HeaderMap::new();
            m.insert(axum::http::header::AUTHORIZATION, v.parse().unwrap());
            m
        };
        assert_eq!(bearer_token(&h("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&h("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&h("BEARER  abc ")), Some("abc"));
        assert_eq!(bearer_token(&h("Basic abc")), None);
        assert_eq!(bearer_token(&h("Bearer")), None);
        assert_eq!(bearer_token(&axum::http::HeaderMap::new()), None);
    }

    #[test]
    fn a_lockout_is_news_once_a_minute() {
        let l = Lockouts::default();
        assert!(l.first("email:a@b.c", 0));
        assert!(!l.first("email:a@b.c", 30_000));
        assert!(l.first("ip:10.0.0.1", 30_000));
        assert!(l.first("email:a@b.c", 61_000));
    }
}
