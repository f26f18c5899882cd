//! Accounts and sessions as the relay's API exchanges them: creating and changing users, passwords,
//! the sessions a user holds, adding business numbers, and the audit log.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewUser {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    /// A role's name (`agent`, `supervisor`, `admin` or one an admin defined).
    pub role: String,
    /// At least the relay's configured length (`password_min_length`, default 8), at most
    /// 1,024 characters; not a common password, not the email.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub name: String,
    pub waba_id: Option<String>,
}

/// A user as admins manage them: the public profile plus whether they may sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    /// A deactivated user cannot sign in and has no sessions.
    pub active: bool,
    pub created_at: i64,
    /// Open sessions right now.
    pub sessions: i64,
}

/// `PATCH /api/v1/admin/users/{id}`: the fields to change (absent: unchanged). Deactivating a
/// user or changing their role ends all their sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `POST /api/v1/admin/users/{id}/password`: an admin sets a new password (every session of
/// the user ends).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasswordReset {
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

/// `POST /api/v1/me/password`: a user changes their own password (their other sessions end).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasswordChange {
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub new_password: String,
}

/// One signed-in session (`GET /api/v1/me/sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    pub id: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    /// It ends at this time at the latest, and earlier if unused for the idle time.
    pub expires_at: i64,
    /// The client's `User-Agent` at sign-in (shortened).
    pub user_agent: String,
    /// The client's address at sign-in.
    pub ip: String,
    /// The session this request is made with.
    pub current: bool,
}

/// One entry of the audit log (`GET /api/v1/admin/audit`): who (an email, or `cli` for the
/// relay's admin command), what (`user.create`, `role.update`, `login.failed`, ...), the details
/// of the change, when (Unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    /// What was done: an object for most actions, a list for some (any JSON value).
    pub details: serde_json::Value,
    pub at: i64,
}

/// Which audit entries to read (`GET /api/v1/admin/audit` and `.../audit/export` query).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct AuditQuery {
    /// Who: an email, or `cli` for the relay's admin command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(max_length = 254))]
    pub actor: Option<String>,
    /// What: an action (`user.update`) or the start of one (`role.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(max_length = 100))]
    pub action: Option<String>,
    /// From (Unix ms, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Until (Unix ms, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Only entries older than this id (the last id of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// How many, newest first (the export ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
}

/// A WhatsApp Business Account as admins see it (`GET /api/v1/admin/business-accounts`): which
/// numbers it holds, whether it has its own access token and which Meta app it belongs to. No
/// token or secret ever leaves the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BusinessAccount {
    pub waba_id: String,
    pub name: Option<String>,
    /// The Meta app whose secret verifies this account's webhooks; `None`: the relay's own.
    pub app_id: Option<String>,
    /// Whether sends of its numbers use a token of their own (else the relay's configured one).
    pub has_token: bool,
    /// Its business numbers (phone number ids) the relay knows.
    pub numbers: Vec<String>,
    /// When an admin last changed it (ms); `None` for an account only seen in webhooks.
    pub updated_at: Option<i64>,
}

/// `PUT /api/v1/admin/business-accounts/{waba_id}`: what to change; an absent field is kept.
/// `name`; `app_id` (`null`: none, the relay's secret verifies its webhooks); `access_token`
/// (`""`: removed, the relay's token is used again).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BusinessAccountUpdate {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub app_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`); absent is `None` (the
/// field's default).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl std::fmt::Debug for BusinessAccountUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusinessAccountUpdate")
            .field("name", &self.name)
            .field("app_id", &self.app_id)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A Meta app whose secret the relay holds (`GET /api/v1/admin/meta-apps`; never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MetaApp {
    pub app_id: String,
    pub updated_at: i64,
}

/// `PUT /api/v1/admin/meta-apps/{app_id}`: the app's secret (verifies the webhooks of its
/// business accounts).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MetaAppSecret {
    pub app_secret: String,
}

/// How far the chat history a number's business shared at onboarding has arrived (Coexistence
/// `history` webhooks), per phase (0: the last day, 1: up to 90 days, 2: up to 180 days); phase
/// `-1` with an `error` when the business declined to share it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HistoryImport {
    pub phone_number_id: String,
    pub phase: i64,
    pub chunk_order: Option<i64>,
    /// 0–100; 100 when Meta has sent the whole history.
    pub progress: Option<i64>,
    /// Messages stored from it so far.
    pub messages: i64,
    pub error: Option<String>,
    pub updated_at: i64,
}

/// The media archive at a glance (`GET /api/v1/admin/media-archive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ArchiveSummary {
    /// Files kept, and their size in bytes.
    pub stored: i64,
    pub bytes: i64,
    /// Files waiting for their download (or its next try).
    pub pending: i64,
    /// Files given up (too large, or failing past every retry).
    pub failed: i64,
    /// Files removed to keep the archive under its size, or past its retention.
    pub evicted: i64,
    pub expired: i64,
    /// The configured bound (bytes) and retention (days; `None`: the size bound only).
    pub max_bytes: u64,
    pub retention_days: Option<u64>,
}

impl std::fmt::Debug for MetaAppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetaAppSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_field_is_kept_a_null_one_cleared_and_secrets_never_print() {
        let u: BusinessAccountUpdate =
            serde_json::from_str(r#"{"access_token": "EAAG-secret", "app_id": null}"#).unwrap();
        assert_eq!(u.name, None);
        assert_eq!(u.app_id, Some(None));
        let u2: BusinessAccountUpdate = serde_json::from_str(r#"{"app_id": "555"}"#).unwrap();
        assert_eq!(u2.app_id, Some(Some("555".into())));
        assert!(!format!("{u:?}").contains("EAAG"));
        let s = MetaAppSecret {
            app_secret: "top".into(),
        };
        assert!(!format!("{s:?}").contains("top"));
    }
}
