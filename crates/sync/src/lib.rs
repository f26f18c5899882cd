//! Switchboard sync engine: what the desktop app and the `switchboard` CLI stand on.
//!
//! It owns the client side of the relay's event log: a local SQLite cache per relay and user
//! ([`cache`]), delta sync from the event log and the live WebSocket stream ([`engine`]), an
//! offline outbox with idempotency keys so nothing is lost or sent twice ([`cache::outbox`]),
//! the queries UIs need (conversation list, timelines, FTS5 search), a change feed, and where
//! the bearer token is kept ([`secret`]), and files only their owner may read ([`private`]). It
//! knows nothing of Tauri or terminals.

pub mod admin;
pub mod cache;
pub mod client;
pub mod credentials;
pub mod download;
pub mod engine;
pub mod error;
pub mod governance;
pub mod private;
pub mod secret;
pub mod supervise;

pub use cache::query::{
    plain_snippet, ConversationFilter, PlainHit, SearchHit, TimelineItem, View, HIT_END, HIT_START,
};
pub use cache::Cache;
pub use client::{RelayClient, Template, Uploaded};
pub use engine::{Change, ConnectionState, Engine, FlushReport};
pub use error::{Result, SyncError};
