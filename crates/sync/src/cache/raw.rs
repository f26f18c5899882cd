//! Events as they come off the wire, with `data` kept as raw JSON text.
//!
//! Catch-up moves hundreds of thousands of snapshots; parsing each into a tree and printing it
//! again for the cache would cost more than the database writes. Message snapshots are stored
//! as received; only the few fields the cache indexes are read from them.

use serde::Deserialize;
use serde_json::value::RawValue;
use switchboard_protocol::api::Event;

#[derive(Debug, Clone, Deserialize)]
pub struct RawEvent {
    pub seq: i64,
    pub kind: String,
    #[serde(default)]
    pub conversation_id: Option<i64>,
    pub data: Box<RawValue>,
    /// When the relay wrote it (ms); 0 from a relay that did not say.
    #[serde(default)]
    pub at: i64,
}

impl From<&Event> for RawEvent {
    fn from(e: &Event) -> RawEvent {
        RawEvent {
            seq: e.seq,
            kind: e.kind.clone(),
            conversation_id: e.conversation_id,
            data: RawValue::from_string(e.data.to_string()).expect("a Value prints as valid JSON"),
            at: e.at,
        }
    }
}

/// A page of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
pub struct RawEventPage {
    pub events: Vec<RawEvent>,
    pub next_after: i64,
    pub head: i64,
}

/// A frame of `/api/v1/stream`.
#[derive(Debug, Deserialize)]
pub struct RawStreamFrame {
    pub seq: i64,
    pub kind: String,
    #[serde(default)]
    pub conversation_id: Option<i64>,
    pub data: Box<RawValue>,
    pub prev: i64,
    #[serde(default)]
    pub at: i64,
}

impl RawStreamFrame {
    pub fn into_event(self) -> (RawEvent, i64) {
        (
            RawEvent {
                seq: self.seq,
                kind: self.kind,
                conversation_id: self.conversation_id,
                data: self.data,
                at: self.at,
            },
            self.prev,
        )
    }
}

/// The fields of a message snapshot the cache indexes.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageHead<'a> {
    pub id: i64,
    pub conversation_id: i64,
    #[serde(borrow)]
    pub text: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    pub client_id: Option<std::borrow::Cow<'a, str>>,
}

/// `{id}` of any snapshot.
#[derive(Debug, Deserialize)]
pub(crate) struct IdOnly {
    pub id: Option<i64>,
}
