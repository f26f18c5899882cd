//! Errors of the sync engine. `code()` gives a stable machine code for the UI (which never
//! matches message strings); `Display` is a sentence for people.

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the relay cannot be reached: {0}")]
    Offline(String),
    #[error("your session has expired; sign in again")]
    AuthExpired,
    /// An admin deactivated the account: the cache has been (or is to be) deleted.
    #[error("your account was deactivated; the messages stored on this device were deleted")]
    Deactivated,
    #[error("not signed in: run `switchboard login` first")]
    NotSignedIn,
    #[error("{message}")]
    Relay {
        status: u16,
        code: String,
        message: String,
    },
    #[error("local cache error: {0}")]
    Cache(#[from] rusqlite::Error),
    #[error("local cache at {path} cannot be opened: {reason}")]
    CacheOpen { path: String, reason: String },
    #[error(
        "local cache was written by a newer Switchboard (schema {found}, this build knows {known})"
    )]
    CacheTooNew { found: i64, known: i64 },
    #[error("the relay sent something unexpected: {0}")]
    Protocol(String),
    #[error("secret store: {0}")]
    Secret(String),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
}

impl SyncError {
    /// A stable code for user interfaces.
    pub fn code(&self) -> &str {
        match self {
            SyncError::Offline(_) => "offline",
            SyncError::AuthExpired => "auth_expired",
            SyncError::Deactivated => "account_deactivated",
            SyncError::NotSignedIn => "not_signed_in",
            SyncError::Relay { code, .. } => code,
            SyncError::Cache(_) | SyncError::CacheOpen { .. } | SyncError::CacheTooNew { .. } => {
                "cache"
            }
            SyncError::Protocol(_) => "protocol",
            SyncError::Secret(_) => "secret_store",
            SyncError::Invalid(_) => "invalid",
            SyncError::NotFound(_) => "not_found",
        }
    }

    /// Whether trying again later can help (network trouble, relay 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Offline(_) => true,
            SyncError::Relay { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl From<serde_json::Error> for SyncError {
    fn from(e: serde_json::Error) -> Self {
        SyncError::Protocol(e.to_string())
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;
