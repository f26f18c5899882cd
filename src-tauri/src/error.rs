//! What the UI receives when a command fails: `{code, message}`. The UI switches on `code` and
//! shows `message` (a sentence); it never parses messages.

use serde::Serialize;
use switchboard_sync::SyncError;

#[derive(Debug, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> UiError {
        UiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<SyncError> for UiError {
    fn from(e: SyncError) -> UiError {
        UiError::new(e.code(), e.to_string())
    }
}

pub type UiResult<T> = Result<T, UiError>;
