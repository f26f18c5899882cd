//! The simulator's own errors (as a library). Errors *answered to the relay* are Meta envelopes,
//! see `meta_error`.

/// What can go wrong driving the simulator in-process.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("phone number id {0:?} is not hosted by this simulator")]
    UnknownPhoneNumber(String),
    #[error("could not build the webhook HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("{0:?} is not a WhatsApp id (digits of a phone number)")]
    InvalidWaId(String),
    #[error("the simulator has been shut down")]
    ShutDown,
    #[error("{0}")]
    InvalidRequest(String),
}
