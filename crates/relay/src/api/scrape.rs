//! `GET /metrics`, for the scraper only: a peer on a loopback address (a scraper or an operator on
//! the relay's own host) may read it; anyone else must present `Authorization: Bearer <token>`
//! with the configured `metrics_token` (`SWITCHBOARD_METRICS_TOKEN`), and is refused outright when
//! none is configured. Note that a reverse proxy on the same host makes every request it forwards
//! come from loopback: forward only the routes clients need, never `/metrics` (a proxy listed in
//! `trusted_proxies` is seen through: the client it names in `X-Forwarded-For` is what counts).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::policy;
use crate::auth::bearer_token;
use crate::client_ip;
use crate::config::Secret;
use crate::error::ApiError;
use crate::store::{events as event_log, outbox, queries};
use crate::AppState;

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, description = "not a loopback peer, and no or a wrong metrics token", body = switchboard_protocol::api::ErrorBody),
              (status = 403, description = "not a loopback peer, and no metrics token is configured", body = switchboard_protocol::api::ErrorBody)))]
pub async fn metrics(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let client = client_ip::of_request(peer.ip(), &headers, &s.config.trusted_proxies);
    let allowed = may_scrape(
        is_loopback(client),
        s.config.metrics_token.as_ref(),
        bearer_token(&headers),
    );
    if let Err(status) = allowed {
        return refusal(status);
    }
    let gauges = s
        .store
        .read(|c| {
            Ok((
                outbox::depth(c)?,
                event_log::head(c)?,
                queries::count(c, "webhook_inbox WHERE state = 'pending'")?,
            ))
        })
        .await
        .unwrap_or((-1, -1, -1));
    let q = policy::queue_gauges(&s).await;
    let mut body = s.metrics.render(gauges.0, gauges.1, gauges.2);
    body.push_str(&s.metrics.render_queue(&q));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Whether a request may read the metrics: a loopback peer always; anyone else only with the
/// configured token (401 without it or with another, 403 when none is configured).
pub fn may_scrape(
    peer_is_loopback: bool,
    configured: Option<&Secret>,
    presented: Option<&str>,
) -> Result<(), StatusCode> {
    if peer_is_loopback {
        return Ok(());
    }
    let Some(token) = configured.filter(|t| !t.is_empty()) else {
        return Err(StatusCode::FORBIDDEN);
    };
    match presented {
        Some(p) if same_secret(p, token.expose()) => Ok(()),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

/// Compares the SHA-256 digests of both, every byte: the time taken shows neither the token's
/// length nor how much of it a guess got right.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Loopback, also as an IPv4-mapped IPv6 address (a dual-stack listener sees 127.0.0.1 so).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

fn refusal(status: StatusCode) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        let mut r = ApiError::unauthorized(
            "metrics are for the scraper: send Authorization: Bearer <metrics_token>",
        )
        .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        r
    } else {
        ApiError::new(
            status,
            "forbidden",
            "metrics are served to loopback peers only; set SWITCHBOARD_METRICS_TOKEN to let a scraper elsewhere read them",
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_peers_may_always_scrape() {
        let token = Secret::new("scrape-me");
        assert_eq!(may_scrape(true, None, None), Ok(()));
        assert_eq!(may_scrape(true, Some(&token), None), Ok(()));
        assert_eq!(may_scrape(true, Some(&token), Some("wrong")), Ok(()));
    }

    #[test]
    fn other_peers_need_the_configured_token() {
        let token = Secret::new("scrape-me");
        assert_eq!(may_scrape(false, Some(&token), Some("scrape-me")), Ok(()));
        for wrong in [
            None,
            Some(""),
            Some("scrape-m"),
            Some("scrape-me!"),
            Some("SCRAPE-ME"),
        ] {
            assert_eq!(
                may_scrape(false, Some(&token), wrong),
                Err(StatusCode::UNAUTHORIZED),
                "{wrong:?}"
            );
        }
        // No token configured (an empty one is none): nothing presented helps.
        for configured in [None, Some(&Secret::new(""))] {
            for presented in [None, Some(""), Some("scrape-me")] {
                assert_eq!(
                    may_scrape(false, configured, presented),
                    Err(StatusCode::FORBIDDEN),
                    "{presented:?}"
                );
            }
        }
    }

    #[test]
    fn loopback_is_recognised_in_every_spelling() {
        for ip in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "0.0.0.0",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "::",
        ] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let r = refusal(StatusCode::UNAUTHORIZED);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            refusal(StatusCode::FORBIDDEN).status(),
            StatusCode::FORBIDDEN
        );
    }
}
