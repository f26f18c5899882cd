//! `ApiError`: the one way the API reports failure, as `{code, message}` with an HTTP status.
//! Internal details (SQL errors and the like) are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchboard_protocol::api::ErrorBody;

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra fields of the body beside `code` and `message` (policy refusals).
    pub details: Option<serde_json::Value>,
    /// Seconds the client should wait before trying again (`Retry-After`).
    pub retry_after: Option<u32>,
    /// The parameter or body field at fault, for a refused request.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            field: None,
        }
    }
    /// Names the parameter or body field at fault (`field` in the body).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// 503 `busy` with `Retry-After`: the relay is saturated for a moment.
    pub fn busy(message: impl Into<String>, retry_after_secs: u32) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message);
        e.retry_after = Some(retry_after_secs);
        e
    }
    /// 422 for a send the outbound policy refused; the body is the whole [`Refusal`].
    pub fn refused(r: crate::policy::Refusal) -> Self {
        let code: &'static str = match r.code.as_str() {
            "sensitive_word" => "sensitive_word",
            "window_closed" => "window_closed",
            _ => "template_invalid",
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, r.message.clone());
        e.details = serde_json::to_value(&r).ok();
        e
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on the relay; the error was logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => {
                ApiError::not_found(format!("{what} does not exist or is not visible to you"))
            }
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(m) => ApiError::unprocessable("invalid", m),
            StoreError::Forbidden(m) => ApiError::forbidden(m),
            StoreError::Refused(r) => ApiError::refused(*r),
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the relay is shutting down",
            ),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = if let Some(serde_json::Value::Object(mut body)) = self.details {
            body.insert("code".into(), self.code.into());
            body.insert("message".into(), self.message.into());
            if let Some(field) = self.field {
                body.insert("field".into(), field.into());
            }
            (self.status, Json(serde_json::Value::Object(body))).into_response()
        } else {
            (
                self.status,
                Json(ErrorBody {
                    code: self.code.to_string(),
                    message: self.message,
                    field: self.field,
                }),
            )
                .into_response()
        };
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_says_when_to_try_again_other_errors_do_not() {
        let r = ApiError::busy("later", 1).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let r = ApiError::bad_request("no").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}
