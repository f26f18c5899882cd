//! Request bodies that stop arriving. Each chunk of a body must come within [`BODY_IDLE`] of the
//! one before (or of the headers); otherwise reading the body fails, the request is answered 400,
//! and the connection closes (its body was not read to the end). A client that sends headers and
//! then withholds the body holds its connection that long, not forever. (The headers themselves
//! are bounded by `header_read_timeout` in `server.rs`.) Requests without a body pass untouched.

use std::time::Duration;

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

/// Longest pause allowed within a request body.
pub const BODY_IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("the request body paused longer than {0:?}")]
struct BodyStalled(Duration);

/// Middleware: the request's body fails once it pauses longer than [`BODY_IDLE`].
pub async fn limit_body_pauses(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let chunks = futures_util::stream::unfold(Some(body.into_data_stream()), |state| async move {
        let mut chunks = state?;
        match tokio::time::timeout(BODY_IDLE, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(chunks))),
            Ok(None) => None,
            // The error ends the body: nothing is read after it.
            Err(_) => Some((Err(axum::Error::new(BodyStalled(BODY_IDLE))), None)),
        }
    });
    next.run(Request::from_parts(parts, Body::from_stream(chunks)))
        .await
}
