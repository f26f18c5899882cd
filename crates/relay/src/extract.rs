//! Reading a request as the OpenAPI document describes it: `JsonBody`, `Path` and `Query`
//! answer a refusal as an [`ApiError`] (`{code, message, field}`) instead of axum's plain text,
//! name the parameter or field at fault, refuse unknown body fields, read `3.0` as an integer
//! (as JSON Schema does) and check Meta's ids in paths.

use axum::http::{header, StatusCode};

use crate::error::ApiError;

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
    if bytes.windows(6).any(|w| w == br"\u0000") && has_nul_text(bytes) {
        return Err(nul());
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

/// No text the relay takes may hold U+0000: PostgreSQL's text cannot store it, and both
/// back-ends must answer alike (the OpenAPI conformance run generates no NUL for this reason).
fn nul() -> ApiError {
    ApiError::bad_request("text must not contain the NUL character (U+0000)")
}

/// Whether a body that spells `\u0000` holds it in a string (not, say, an escaped backslash
/// followed by `u0000`). A body too large to read as a tree is taken at its word.
fn has_nul_text(bytes: &[u8]) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || walk(v)),
            _ => false,
        }
    }
    if bytes.len() > MAX_TREE_BODY {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| walk(&v))
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
    // `.` is the body itself, `?` a place the decoder could not name (broken JSON).
    if path == "." || path.contains('?') {
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
            if raw.iter().any(|(_, value)| value.contains('\0')) {
                return Err(nul());
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
        if form_urlencoded::parse(query.as_bytes())
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(nul());
        }
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

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        n: i64,
        #[serde(default)]
        list: Vec<u32>,
    }

    #[test]
    fn bodies_are_read_as_json_schema_reads_them() {
        let ok: Body = decode_json(br#"{"n": 3.0, "list": [1.0, 2]}"#).unwrap();
        assert_eq!(
            ok,
            Body {
                n: 3,
                list: vec![1, 2]
            }
        );
        for (body, field) in [
            (&br#"{"n": 3.5}"#[..], Some("n")),
            (br#"{"n": 9007199254740993.0}"#, Some("n")),
            (br#"{"n": -9223372036854775809}"#, Some("n")),
            (br#"{"n": 1, "list": [1, -1]}"#, Some("list[1]")),
            (br#"{"n": 1, "colour": "red"}"#, Some("colour")),
            (br#"[1, 2]"#, None),
            (br#"{"n": 1"#, None),
            (br#"{"n": 1, "s": "a\u0000b"}"#, None),
        ] {
            let e = decode_json::<Body>(body).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert_eq!(
                e.field.as_deref(),
                field,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
