//! `switchboard-sim`: a faithful local stand-in for the part of Meta's WhatsApp Cloud API that
//! Switchboard uses, driven over HTTP.
//!
//! This crate owns the *simulated Meta side* of every test, demo and benchmark:
//!
//! * the **Graph API** the relay calls (`POST /{version}/{phone_number_id}/messages`, mark-read,
//!   the template store, media descriptors and downloads), answering as Meta does, including
//!   Meta's error envelopes and codes (`graph`, `validate`, `meta_error`, `templates`, `media`);
//! * the **webhook sender**: customer messages and per-send status ladders delivered as signed,
//!   ASCII-escaped POSTs with at-least-once redelivery (`webhooks`, `payloads`, `statuses`);
//! * the 24-hour customer-service window and the customers themselves (`state`, `customer`);
//! * **fault injection** (rate limits, server errors, slow/hanging calls, terminal and
//!   asynchronous failures, duplicate and reordered webhooks) (`faults`);
//! * a **control API** under `/control/...` for out-of-process drivers (`control`) and a load
//!   **generator** of pleasant customer chatter ([`scenario`]).
//!
//! It does not own the wire shapes themselves: those live in `switchboard-protocol`, which the
//! sim uses to serialise (`to_meta_json`) and sign (`signature::sign`) exactly like Meta.
//!
//! ```no_run
//! # async fn demo() -> Result<(), switchboard_sim::SimError> {
//! use switchboard_sim::{SimConfig, Simulator};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = Simulator::start(SimConfig::new("http://127.0.0.1:8080/webhook", "secret"), listener).await?;
//! let wamid = sim.customer("4915112345678").named("Anna").says("Hallo!").await?;
//! assert!(wamid.starts_with("wamid."));
//! # Ok(()) }
//! ```

mod coexistence;
mod config;
mod control;
mod customer;
mod error;
mod faults;
mod graph;
mod ids;
mod media;
mod meta_error;
mod payloads;
pub mod scenario;
mod sim;
mod state;
mod stats;
mod statuses;
mod templates;
mod validate;
mod webhooks;

pub use coexistence::{HistoryChunk, HistoryItem, PhoneAppMessage};
pub use config::{SimAccount, SimConfig, SimNumber, StatusDelays, WebhookFormat};
pub use customer::Customer;
pub use error::SimError;
pub use faults::{FaultKind, FaultRule};
pub use sim::Simulator;
pub use state::{ReadReceipt, SentMessage};
pub use stats::SimStats;
pub use templates::{Template, TemplateCategory, TemplateStatus};
