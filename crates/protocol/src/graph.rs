//! Meta's Graph API shapes used by both sides: the error envelope, the send response, and what
//! each error code means for a sender (retry or not, and a sentence an agent understands).

use serde::{Deserialize, Serialize};

/// `{"error": {...}}` as the Graph API answers a failed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: GraphApiError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphApiError {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub code: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

impl GraphApiError {
    pub fn details(&self) -> Option<String> {
        self.error_data
            .as_ref()
            .and_then(|d| d.get("details"))
            .and_then(|d| d.as_str())
            .map(str::to_string)
    }
}

/// `POST /{phone_number_id}/messages` success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResponse {
    pub messaging_product: String,
    #[serde(default)]
    pub contacts: Vec<SendResponseContact>,
    pub messages: Vec<SendResponseMessage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResponseContact {
    pub input: String,
    pub wa_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResponseMessage {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_status: Option<String>,
}

/// What a sender should do after a Graph error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient: retry with exponential backoff and jitter.
    Backoff,
    /// Throughput / quota: retry, but slower.
    Throttled,
    /// Do not retry; record the failure on the message.
    Terminal,
}

/// Classifies a Graph error code (Meta: build logic on `code`, never on HTTP status or title).
pub fn classify(code: i64) -> Retry {
    match code {
        1 | 2 | 131000 | 131016 | 133004 | 131057 => Retry::Backoff,
        4 | 80007 | 130429 | 131056 => Retry::Throttled,
        _ => Retry::Terminal,
    }
}

/// A sentence an agent can act on, for the codes agents meet.
pub fn human_reason(code: i64) -> &'static str {
    match code {
        0 | 190 => "The relay's WhatsApp access token is invalid or expired; an admin must replace it.",
        3 | 10 | 200..=299 | 131005 => "The WhatsApp app lacks a permission; an admin must fix the app's settings.",
        4 | 80007 | 130429 => "WhatsApp's rate limit was reached; the message could not be sent in time.",
        131056 => "Too many messages to this customer in a short time.",
        100 | 131008 | 131009 => "WhatsApp refused the message as malformed.",
        130472 => "The customer is part of a WhatsApp marketing experiment and cannot receive this message.",
        131026 => "The message could not be delivered: the number may not use WhatsApp, or the customer blocked this business.",
        131047 => "More than 24 hours have passed since the customer last wrote: only a template can be sent now.",
        131049 => "WhatsApp held back this marketing message to protect the customer's experience; do not resend for a day.",
        131050 => "The customer has opted out of marketing messages.",
        131051 => "WhatsApp does not support this message type.",
        131053 => "The attached media could not be uploaded or fetched (wrong file type, or the link failed).",
        131048 | 131064 | 368 | 131031 => "This number is restricted by WhatsApp for quality or policy reasons.",
        132000 => "The template's parameters do not match the approved template.",
        132001 => "The template does not exist in this language or is not approved.",
        132012 => "A template parameter has the wrong format.",
        132015 => "The template is paused for low quality.",
        132016 => "The template was disabled by WhatsApp.",
        133010 => "The business phone number is not registered with WhatsApp.",
        130403 => "This business has blocked the customer.",
        1 | 2 | 131000 | 131016 | 133004 => "WhatsApp had a temporary problem and the message could not be sent.",
        _ => "WhatsApp refused the message.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_meta_guidance() {
        assert_eq!(classify(130429), Retry::Throttled);
        assert_eq!(classify(80007), Retry::Throttled);
        assert_eq!(classify(131000), Retry::Backoff);
        assert_eq!(classify(131047), Retry::Terminal);
        assert_eq!(classify(100), Retry::Terminal);
        assert!(human_reason(131047).contains("24 hours"));
    }

    #[test]
    fn envelope_round_trips() {
        let raw = r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"error_subcode":2494055,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let e: ErrorEnvelope = serde_json::from_str(raw).unwrap();
        assert_eq!(e.error.code, 130429);
        assert_eq!(
            e.error.details().unwrap(),
            "Cloud API message throughput has been reached."
        );
    }
}
