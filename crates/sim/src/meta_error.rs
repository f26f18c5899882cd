//! Meta's Graph error envelopes, as the simulator answers them, and the catalogue of titles,
//! details and HTTP statuses per error code (shared by sync answers and `failed` webhooks).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use switchboard_protocol::graph::{ErrorEnvelope, GraphApiError};

use crate::ids::fbtrace_id;

/// A failed Graph call: HTTP status + `{"error": {...}}` (+ optional headers).
#[derive(Debug, Clone)]
pub struct GraphFailure {
    pub status: StatusCode,
    pub envelope: Box<ErrorEnvelope>,
    pub headers: Vec<(HeaderName, String)>,
}

impl GraphFailure {
    /// The generic constructor: `message` becomes `"(#<code>) <title>"` for WhatsApp codes.
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        GraphFailure {
            status,
            envelope: Box::new(ErrorEnvelope {
                error: GraphApiError {
                    message: message.into(),
                    kind: Some("OAuthException".into()),
                    code,
                    error_subcode: None,
                    error_data: None,
                    fbtrace_id: Some(fbtrace_id()),
                },
            }),
            headers: Vec::new(),
        }
    }

    /// A WhatsApp error for `code` with Meta's title and the given (or catalogued) details.
    pub fn whatsapp(code: i64, details: Option<String>) -> Self {
        let mut f = GraphFailure::new(
            http_status(code),
            code,
            format!("(#{code}) {}", title(code)),
        );
        f.envelope.error.error_data = Some(json!({
            "messaging_product": "whatsapp",
            "details": details.unwrap_or_else(|| default_details(code).to_string()),
        }));
        f
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.envelope.error.error_subcode = Some(subcode);
        self
    }

    pub fn kind(mut self, kind: &str) -> Self {
        self.envelope.error.kind = Some(kind.into());
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    #[cfg(test)]
    pub fn code(&self) -> i64 {
        self.envelope.error.code
    }

    /// No or empty token.
    pub fn token_missing() -> Self {
        GraphFailure::new(
            StatusCode::UNAUTHORIZED,
            190,
            "An active access token must be used to query information about the current user.",
        )
    }

    /// A token that is not the configured one.
    pub fn token_invalid() -> Self {
        GraphFailure::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )
    }

    /// `code 100, error_subcode 33`: unknown phone number id, media id, WABA... `method` is
    /// `get`, `post` or `delete` as in Meta's sentence.
    pub fn object_not_found(method: &str, id: &str) -> Self {
        GraphFailure::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded \
                 due to missing permissions, or does not support this operation. Please read the \
                 Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .kind("GraphMethodException")
        .subcode(33)
    }

    /// A path the Graph API does not know.
    pub fn unknown_path(path: &str) -> Self {
        GraphFailure::new(
            StatusCode::BAD_REQUEST,
            2500,
            format!("Unknown path components: {path}"),
        )
    }

    /// `131008`: a required parameter is missing; `details` names it.
    pub fn missing_param(details: impl Into<String>) -> Self {
        GraphFailure::whatsapp(131008, Some(details.into()))
    }

    /// `100`: a parameter is invalid; `details` names it.
    pub fn invalid_param(details: impl Into<String>) -> Self {
        let mut f = GraphFailure::new(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter");
        f.envelope.error.error_data = Some(json!({
            "messaging_product": "whatsapp",
            "details": details.into(),
        }));
        f
    }

    /// A throttling error as Meta sends it (130429 with its documented subcode, 131056, 80007, 4).
    pub fn rate_limit(code: i64) -> Self {
        let mut f = GraphFailure::whatsapp(code, None);
        match code {
            130429 => f = f.subcode(2494055).header(RETRY_AFTER, "1"),
            80007 | 4 => {
                f = f.header(
                    HeaderName::from_static("x-business-use-case-usage"),
                    json!({"100000000000001": [{"type": "whatsapp", "call_count": 100,
                        "total_cputime": 1, "total_time": 1,
                        "estimated_time_to_regain_access": 1}]})
                    .to_string(),
                )
            }
            _ => {}
        }
        f
    }
}

const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");

impl IntoResponse for GraphFailure {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(*self.envelope)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                HeaderName::from_static("www-authenticate"),
                HeaderValue::from_static("OAuth \"Facebook Platform\" \"invalid_token\""),
            );
        }
        resp
    }
}

/// The HTTP status Meta uses for a code (Meta: do not branch on it; clients key on `code`).
pub fn http_status(code: i64) -> StatusCode {
    match code {
        0 | 190 => StatusCode::UNAUTHORIZED,
        10 | 200..=299 | 368 | 131005 | 131031 => StatusCode::FORBIDDEN,
        4 | 80007 | 130429 => StatusCode::TOO_MANY_REQUESTS,
        1 | 131000 | 131016 | 131057 => StatusCode::INTERNAL_SERVER_ERROR,
        2 | 133004 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Meta's title for a code (`error.message` is `"(#code) title"`; webhooks carry it as `title`).
pub fn title(code: i64) -> &'static str {
    match code {
        0 => "AuthException",
        1 => "API Unknown",
        2 => "API Service",
        3 => "API Method",
        4 => "Application request limit reached",
        10 => "Permission Denied",
        100 => "Invalid parameter",
        190 => "Access token has expired",
        368 => "Temporarily blocked for policies violations",
        80007 => "Rate limit issues",
        130429 => "Rate limit hit",
        130472 => "User's number is part of an experiment",
        131000 => "Something went wrong",
        131005 => "Access denied",
        131008 => "Required parameter is missing",
        131009 => "Parameter value is not valid",
        131016 => "Service unavailable",
        131021 => "Recipient cannot be sender",
        131026 => "Message undeliverable",
        131031 => "Account has been locked",
        131047 => "Re-engagement message",
        131048 => "Spam rate limit hit",
        131049 => "This message was not delivered to maintain healthy ecosystem engagement.",
        131050 => "User has stopped marketing messages",
        131051 => "Unsupported message type",
        131053 => "Media upload error",
        131056 => "(Business Account, Consumer Account) pair rate limit hit",
        131057 => "Account in maintenance mode",
        132000 => "Number of parameters does not match the expected number of params",
        132001 => "Template name does not exist in the translation",
        132005 => "Template Hydrated Text Too Long",
        132012 => "Parameter format does not match format in the created template",
        132015 => "Template is Paused",
        132016 => "Template is Disabled",
        133004 => "Server temporarily unavailable",
        133010 => "Phone number Not Registered",
        _ => "Unknown error",
    }
}

/// Meta's usual `error_data.details` sentence for a code.
pub fn default_details(code: i64) -> &'static str {
    match code {
        4 => "Application request limit reached.",
        80007 => "The WhatsApp Business Account has reached its rate limit.",
        130429 => "Cloud API message throughput has been reached.",
        130472 => "Message was not sent as part of an experiment.",
        131000 => "Something went wrong. Please retry later.",
        131026 => "Message failed to send because the recipient is not a WhatsApp user, has not accepted the latest Terms of Service, or has blocked this business.",
        131047 => "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        131049 => "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        131050 => "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
        131053 => "Media upload error: unable to retrieve the media.",
        131056 => "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
        1 | 2 | 131016 | 133004 => "Service temporarily unavailable. Please retry your request later.",
        _ => "The request could not be processed.",
    }
}

/// A webhook `errors[]` item (`failed` statuses): code, title, message, details, href.
pub fn webhook_error(code: i64, details: Option<&str>) -> Value {
    json!({
        "code": code,
        "title": title(code),
        "message": title(code),
        "error_data": { "details": details.unwrap_or(default_details(code)) },
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_envelope_matches_meta() {
        let f = GraphFailure::rate_limit(130429);
        let e = &f.envelope.error;
        assert_eq!(e.message, "(#130429) Rate limit hit");
        assert_eq!(e.kind.as_deref(), Some("OAuthException"));
        assert_eq!(e.error_subcode, Some(2494055));
        assert_eq!(
            e.details().as_deref(),
            Some("Cloud API message throughput has been reached.")
        );
        assert_eq!(f.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            GraphFailure::rate_limit(131056).status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn not_found_has_subcode_33() {
        let f = GraphFailure::object_not_found("get", "123");
        assert_eq!(f.code(), 100);
        assert_eq!(f.envelope.error.error_subcode, Some(33));
    }
}
