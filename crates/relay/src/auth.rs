//! Passwords (argon2id), bearer tokens and the `AuthUser` extractor.
//!
//! Tokens are 256 random bits, given to the client once; the store keeps only their SHA-256, so
//! a leaked database does not leak sessions.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_protocol::api::{Role, User};

use crate::error::ApiError;
use crate::store::{now_ms, queries};
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

pub fn validate_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("password must have at least 8 characters".into());
    }
    Ok(())
}

/// The signed-in user, from `Authorization: Bearer <token>`.
pub struct AuthUser(pub User);

impl AuthUser {
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role ({}) may not do this",
                self.0.role.as_str()
            )))
        }
    }
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("sign in first: no bearer token was sent"))?;
        let hash = token_hash(token);
        let user = state
            .store
            .read(move |c| queries::user_for_token(c, &hash, now_ms()))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("your session has expired or was signed out; sign in again")
            })?;
        Ok(AuthUser(user))
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
}
