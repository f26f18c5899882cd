//! `GET/POST /webhooks/whatsapp`: Meta's verification handshake and signed notifications.
//!
//! The signature is checked on the raw bytes (Meta signs exactly what it sends). A signed body
//! is committed before the 200 goes out; if the commit fails the relay answers 500 and Meta
//! redelivers. A body that does not parse still gets 200 (else Meta retries it for a week) and is
//! kept as a dead letter. A body whose bytes are in the inbox already (a replayed signed body)
//! gets 200 and is neither stored nor applied again (`switchboard_webhooks_replayed_total`).

use std::collections::HashMap;

use crate::extract::Query;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store::ingest::{self, Outcome};
use crate::AppState;

/// Meta's bodies reach 3 MB; anything over 4 MiB is refused with 413.
pub const MAX_WEBHOOK_BYTES: usize = 4 * 1024 * 1024;

/// Verification handshake: echoes `hub.challenge` when `hub.verify_token` matches.
#[utoipa::path(get, path = "/webhooks/whatsapp",
    params(("hub.mode" = String, Query), ("hub.verify_token" = String, Query), ("hub.challenge" = String, Query)),
    responses((status = 200, description = "the challenge, as plain text"), (status = 403, description = "wrong verify token")))]
pub async fn verify(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mode_ok = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token_ok = q
        .get("hub.verify_token")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), s.config.verify_token.expose().as_bytes()));
    match (mode_ok && token_ok, q.get("hub.challenge")) {
        (true, Some(ch)) => (StatusCode::OK, ch.clone()).into_response(),
        _ => ApiError::forbidden("webhook verification failed: wrong hub.mode or hub.verify_token")
            .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed notification from Meta.
#[utoipa::path(post, path = "/webhooks/whatsapp", request_body(content = String, content_type = "application/json"),
    params(("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC of the raw body with the app secret>")),
    responses((status = 200, description = "stored"), (status = 401, description = "missing or wrong signature", body = switchboard_protocol::api::ErrorBody),
              (status = 413, description = "body over 4 MiB")))]
pub async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // The secret of the Meta app whose business account(s) the body names, where admins set
    // one; the relay's own otherwise.
    let creds = &s.graph.creds;
    // With apps of their own, the body is read first (as ingest will read it) to learn which
    // account it names; a body that does not parse is checked with the relay's secret and kept
    // as a dead letter, so it writes nothing.
    let parsed = if creds.has_app_secrets() {
        switchboard_protocol::webhook::parse_notification(&body).ok()
    } else {
        None
    };
    let secret = if let Some(n) = &parsed {
        match creds.webhook_secret(&crate::credentials::claimed_accounts(n)) {
            Ok(secret) => secret,
            Err(crate::credentials::MixedApps) => {
                Metrics::inc(&s.metrics.webhooks_rejected_signature);
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_signature",
                    "the body names business accounts of different Meta apps; each app signs its own",
                )
                .into_response();
            }
        }
    } else {
        s.config.app_secret.clone()
    };
    if !switchboard_protocol::signature::verify(secret.expose().as_bytes(), &body, sig) {
        Metrics::inc(&s.metrics.webhooks_rejected_signature);
        let why = if sig.is_none() {
            "X-Hub-Signature-256 header missing"
        } else {
            "X-Hub-Signature-256 does not match the body"
        };
        return ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", why).into_response();
    }
    if let Some(Err(why)) = parsed.as_ref().map(|n| creds.check_numbers(n)) {
        Metrics::inc(&s.metrics.webhooks_rejected_signature);
        return ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", why).into_response();
    }
    let bytes = body.to_vec();
    // Automations run in the same write job: an auto-reply is queued durably with the message.
    let policy = s.policy.current();
    match s
        .store
        .write(move |ctx| ingest::ingest_with(ctx, &bytes, Some(&policy)))
        .await
    {
        Ok((_, Outcome::Replayed)) => {
            // Already stored (a replay, or a redelivery of an acknowledged body): 200, so Meta
            // stops retrying, and nothing else.
            Metrics::inc(&s.metrics.webhooks_replayed);
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Ok((_, outcome)) => {
            Metrics::inc(&s.metrics.webhooks_accepted);
            match outcome {
                Outcome::Processed {
                    messages, replies, ..
                } => {
                    s.metrics
                        .messages_in
                        .fetch_add(messages as u64, std::sync::atomic::Ordering::Relaxed);
                    if messages > 0 {
                        // Media of new messages waits for the archive.
                        s.archive.wake.notify_one();
                    }
                    if replies > 0 {
                        s.metrics
                            .auto_replies
                            .fetch_add(replies as u64, std::sync::atomic::Ordering::Relaxed);
                        s.sender_wake.notify_one();
                    }
                }
                Outcome::Dead(_) => Metrics::inc(&s.metrics.webhooks_dead),
                Outcome::Pending(_) | Outcome::Replayed => {}
            }
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(e) => {
            Metrics::inc(&s.metrics.webhooks_rejected_other);
            tracing::error!(error = %e, "could not store webhook; Meta will redeliver");
            ApiError::internal().into_response()
        }
    }
}
