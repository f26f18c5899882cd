//! The Graph API side: what the relay calls, answered as Meta would. Routes live under any
//! `/v{major}.{minor}/` prefix and require `Authorization: Bearer <access_token>` (or Graph's
//! `access_token` query parameter).

mod media;
mod objects;
mod send;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::meta_error::GraphFailure;
use crate::sim::Simulator;

/// Uploads may be up to 100 MB (documents).
const UPLOAD_LIMIT: usize = 101 * 1024 * 1024;

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/{version}/{id}/messages", post(send::post_messages))
        .route(
            "/{version}/{id}/media",
            post(media::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route(
            "/{version}/{id}/message_templates",
            get(objects::list_templates),
        )
        .route(
            "/{version}/{id}",
            get(objects::get_object).delete(media::delete),
        )
        .route("/media-download/{token}", get(media::download))
}

/// Any other path: Graph's "unknown path components" error.
pub(crate) async fn fallback(uri: Uri) -> Response {
    GraphFailure::unknown_path(uri.path()).into_response()
}

/// `v25.0`-style version segments only.
pub(crate) fn check_version(version: &str, uri: &Uri) -> Result<(), GraphFailure> {
    let ok = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(GraphFailure::unknown_path(uri.path()))
    }
}

/// The token of a request: `Authorization: Bearer ...` or `?access_token=...`.
fn token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(h) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
            return Some(rest.trim().to_string());
        }
        return Some(String::new());
    }
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token="))
        .map(str::to_string)
}

/// 401 / code 190 unless the request carries a token of this simulator (the default one or an
/// account's).
pub(crate) fn authorize(
    sim: &Simulator,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(), GraphFailure> {
    let config = &sim.inner.config;
    match token(headers, uri) {
        None => Err(GraphFailure::token_missing()),
        Some(t) if t.is_empty() => Err(GraphFailure::token_missing()),
        Some(t)
            if t == config.access_token || config.accounts.iter().any(|a| a.access_token == t) =>
        {
            Ok(())
        }
        Some(_) => Err(GraphFailure::token_invalid()),
    }
}

/// 401 / code 190 unless the request carries the token of the business account `waba_id`
/// (its own, where [`crate::SimConfig::accounts`] gives one; else the default).
pub(crate) fn authorize_for(
    sim: &Simulator,
    headers: &HeaderMap,
    uri: &Uri,
    waba_id: &str,
) -> Result<(), GraphFailure> {
    let want = sim.inner.config.token_of(waba_id);
    match token(headers, uri) {
        None => Err(GraphFailure::token_missing()),
        Some(t) if t.is_empty() => Err(GraphFailure::token_missing()),
        Some(t) if t == want => Ok(()),
        Some(_) => Err(GraphFailure::token_invalid()),
    }
}

/// [`authorize_for`] the account of a business number (any known token for an unknown number,
/// which is then refused as not found).
pub(crate) fn authorize_number(
    sim: &Simulator,
    headers: &HeaderMap,
    uri: &Uri,
    phone_number_id: &str,
) -> Result<(), GraphFailure> {
    match sim.number(phone_number_id) {
        Some(n) => authorize_for(sim, headers, uri, &n.waba_id.clone()),
        None => authorize(sim, headers, uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let uri: Uri = "/v25.0/1/messages".parse().unwrap();
        assert!(check_version("v25.0", &uri).is_ok());
        assert!(check_version("v3.11", &uri).is_ok());
        assert!(check_version("v25", &uri).is_err());
        assert!(check_version("x25.0", &uri).is_err());
        assert!(check_version("v.0", &uri).is_err());
    }

    #[test]
    fn tokens() {
        let mut h = HeaderMap::new();
        let uri: Uri = "/v25.0/1?access_token=q".parse().unwrap();
        assert_eq!(token(&h, &uri).as_deref(), Some("q"));
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(token(&h, &uri).as_deref(), Some("abc"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(token(&h, &uri).as_deref(), Some(""));
    }
}
