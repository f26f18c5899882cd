//! Wire types shared by every Switchboard component: Meta's webhook models and signature
//! scheme, the relay's JSON API (requests, objects, events, error body; routing, policy and admin
//! settings) and the protocol version.
//!
//! This crate owns *shapes*, not behaviour: no I/O, no storage. The relay, the simulator and the
//! sync engine all depend on it so a format change is one diff in one place.

pub mod access;
pub mod admin;
pub mod api;
pub mod coexistence;
pub mod governance;
pub mod graph;
pub mod policy;
pub mod routing;
pub mod rules;
pub mod signature;
pub mod template_text;
pub mod webhook;
