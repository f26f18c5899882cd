//! Data governance as the relay's API and event log exchange it: retention per business number,
//! legal holds, erasing a customer (GDPR Art. 17), and the two events that carry purges and
//! erasures to every client cache.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The shortest retention an admin may set (days).
pub const MIN_RETENTION_DAYS: i64 = 90;
/// The longest finite retention (ten years); `null` keeps everything.
pub const MAX_RETENTION_DAYS: i64 = 3650;
const DAY_MS: i64 = 86_400_000;

/// `PUT /api/v1/admin/numbers/{phone_number_id}/retention`: `days` from 90 to 3650, or `null`
/// to keep everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionRequest {
    /// Required: `null` says "for ever" explicitly.
    #[serde(deserialize_with = "required_nullable")]
    #[cfg_attr(feature = "openapi", schema(minimum = 90, maximum = 3650))]
    pub days: Option<i64>,
}

/// A field that must be present but may be `null` (serde treats a missing `Option` as `None`
/// unless the field has its own deserializer).
fn required_nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(d)
}

/// One business number's retention (`GET /api/v1/admin/retention`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Retention {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub name: String,
    /// `null`: kept forever.
    pub days: Option<i64>,
    /// How far the last finished purge reached (ms): everything older is gone, except what a
    /// legal hold keeps.
    pub purged_before: Option<i64>,
    /// What purges took so far (the tombstones): conversations that lost messages, and messages.
    pub purged_conversations: i64,
    pub purged_messages: i64,
}

/// `PUT /api/v1/contacts/{id}/legal-hold` and `PUT /api/v1/conversations/{id}/legal-hold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LegalHoldRequest {
    /// Why (a case number, a court order): 1 to 200 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub reason: String,
}

/// A legal hold: on a customer (every conversation of theirs) or on one conversation. While it
/// applies nothing of it is purged and the customer cannot be erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LegalHold {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub reason: String,
    /// The email of who set it.
    pub set_by: String,
    pub set_at: i64,
}

/// `DELETE /api/v1/contacts/{id}`: what erasing the customer removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Erased {
    pub contact_id: i64,
    pub conversations: i64,
    pub messages: i64,
    pub notes: i64,
    pub media_files: i64,
    pub webhook_bodies: i64,
}

/// `data` of the `retention.purged` event: every message of `phone_number_id`'s conversations
/// created before `before` is gone, except in the `held` conversations. Caches drop the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionPurged {
    pub phone_number_id: String,
    pub before: i64,
    pub held: Vec<i64>,
}

/// `data` of the `contact.erased` event: ids only, never who it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ContactErased {
    pub id: i64,
    pub conversation_ids: Vec<i64>,
}

/// A retention as stored: `None` (forever) or 90 to 3650 days.
pub fn valid_retention(days: Option<i64>) -> Result<Option<i64>, String> {
    match days {
        None => Ok(None),
        Some(d) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => Ok(Some(d)),
        Some(_) => Err(format!(
            "a retention is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days, or null to keep everything"
        )),
    }
}

/// Everything created before this instant (ms) is past a retention of `days` at `now`.
pub fn retention_cutoff(now: i64, days: i64) -> i64 {
    now - days * DAY_MS
}

/// A hold's reason as stored: trimmed, 1 to 200 characters, no control characters.
pub fn valid_hold_reason(reason: &str) -> Result<String, String> {
    let n = reason.chars().count();
    if reason.trim().is_empty() || n > 200 {
        return Err("a legal hold's reason has 1 to 200 characters".into());
    }
    if !crate::rules::fits(crate::rules::LABEL, reason) {
        return Err("a legal hold's reason is one line of text".into());
    }
    Ok(reason.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_bounds() {
        assert_eq!(valid_retention(None), Ok(None));
        assert_eq!(valid_retention(Some(90)), Ok(Some(90)));
        assert_eq!(valid_retention(Some(3650)), Ok(Some(3650)));
        assert!(valid_retention(Some(89)).is_err());
        assert!(valid_retention(Some(3651)).is_err());
        assert!(valid_retention(Some(-1)).is_err());
        assert_eq!(retention_cutoff(100 * DAY_MS, 90), 10 * DAY_MS);
        let parse = |s: &str| serde_json::from_str::<RetentionRequest>(s).map(|r| r.days);
        assert_eq!(parse(r#"{"days":null}"#).unwrap(), None);
        assert_eq!(parse(r#"{"days":90}"#).unwrap(), Some(90));
        assert!(parse("{}").is_err(), "days must be present");
        assert!(parse(r#"{"days":"90"}"#).is_err());
    }

    #[test]
    fn hold_reasons() {
        assert_eq!(valid_hold_reason("  Case 12 ").unwrap(), "Case 12");
        assert!(valid_hold_reason(" ").is_err());
        assert!(valid_hold_reason(&"x".repeat(201)).is_err());
        assert!(valid_hold_reason("a\nb").is_err());
    }
}
