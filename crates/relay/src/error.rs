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

/// JSON body extractor whose rejections are `ApiError`s (clear message, our error shape, the
/// field at fault).
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the request body is larger than this route accepts",
                ))
            }
            Err(rejection) => return Err(ApiError::bad_request(rejection.body_text())),
        };
        decode_json(&bytes).map(JsonBody)
    }
}

/// A route whose body may be left out: no body (and no Content-Type) is `None`, anything else
/// is read as [`JsonBody`].
impl<S, T> axum::extract::OptionalFromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <JsonBody<T> as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// Decodes a JSON body, naming the field at fault when it does not fit. A number with no
/// fraction (`3.0`) is an integer, as JSON Schema says, so it fits an integer field.
pub fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    // Straight from the bytes: nothing is built but the value itself, and decoding stops at the
    // first fault. Every body is closed, as the document says: a field the type does not know is
    // refused, whether or not the type itself refuses unknown fields (types that are also read
    // from responses stay lenient there, for older clients).
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path| unknown.push(path.to_string());
    let direct: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        &mut serde_json::Deserializer::from_slice(bytes),
        &mut note,
    ));
    let e = match direct {
        Ok(v) => return closed(v, unknown),
        Err(e) => e,
    };
    // Only a float where an integer belongs is worth a second look (`3.0`), and only for a
    // body small enough to hold as a tree.
    let float = e.inner().to_string().contains("floating point");
    if float && bytes.len() <= MAX_TREE_BODY {
        let mut value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        integral_floats_as_integers(&mut value);
        let mut unknown = Vec::new();
        let mut note = |path: serde_ignored::Path| unknown.push(path.to_string());
        let v =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut note))
                .map_err(body_error)?;
        return closed(v, unknown);
    }
    Err(body_error(e))
}

fn closed<T>(v: T, unknown: Vec<String>) -> Result<T, ApiError> {
    match unknown.first() {
        None => Ok(v),
        Some(field) => Err(ApiError::bad_request(format!(
            "the body is not valid: unknown field `{field}`"
        ))
        .at(field.clone())),
    }
}

/// The largest body re-read as a tree to take `3.0` for `3`.
const MAX_TREE_BODY: usize = 64 * 1024;

fn body_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let err = ApiError::bad_request(format!("the body is not valid: {}", e.into_inner()));
    if path == "." {
        err
    } else {
        err.at(path)
    }
}

fn integral_floats_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            // Only where the float holds the integer exactly (|f| < 2^53); beyond, a number
            // out of an integer field's range must not turn into its nearest end.
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Path parameters whose rejections are `ApiError`s (400, our error shape, the parameter).
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        // Meta's ids in a path are digits, as the document says (`api::openapi`).
        let mut only = None;
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await {
            let names: Vec<&str> = raw.iter().map(|(n, _)| n).collect();
            if let [name] = names[..] {
                only = Some(name.to_string());
            }
            for (name, value) in raw.iter() {
                if crate::api::META_ID_PATH_PARAMS.contains(&name)
                    && !switchboard_protocol::rules::fits(
                        switchboard_protocol::rules::META_ID,
                        value,
                    )
                {
                    return Err(
                        ApiError::bad_request(format!("{name} must be Meta's numeric id")).at(name),
                    );
                }
            }
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let message = format!("the path is not valid: {}", e.body_text());
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    // A route with one parameter reads it as a plain value, without its name.
                    _ => only,
                };
                let err = ApiError::bad_request(message);
                Err(match field {
                    Some(f) => err.at(f),
                    None => err,
                })
            }
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// Query parameters whose rejections are `ApiError`s (400, our error shape, the parameter).
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let err =
                    ApiError::bad_request(format!("the query is not valid: {}", e.into_inner()));
                if path == "." {
                    err
                } else {
                    err.at(path)
                }
            })
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
