//! The relay's JSON API as clients see it: requests, responses, events and the error body.
//!
//! All `*_at` fields are Unix milliseconds (UTC). Ids minted by the relay are integers; ids minted
//! by Meta (wamids, phone number ids) are strings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::webhook::DeliveryStatus;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Version of this wire format; bumped on incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every error the API returns: a stable machine code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// For a refused request: the parameter or body field at fault (`limit`, `rules[2].pattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub use crate::access::{Permission, Role};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// The name of the user's role (`agent`, `supervisor`, `admin` or one an admin defined).
    pub role: String,
    /// What the role allows, as the relay checks it on every request.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

impl User {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Whether every conversation is visible to this user (else: theirs and unassigned ones).
    pub fn sees_all(&self) -> bool {
        self.can(Permission::SeeAllConversations)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginResponse {
    pub token: String,
    /// The signed-in user's id (same as `user.id`).
    pub id: i64,
    pub user: User,
    pub expires_at: i64,
}

/// A business phone number (an inbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PhoneNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub name: String,
    /// False for a number that sent webhooks before an admin added it.
    pub configured: bool,
}

/// A customer, identified by BSUID where Meta sends one and by wa_id otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Contact {
    pub id: i64,
    pub wa_id: Option<String>,
    pub bsuid: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub updated_at: i64,
    /// Lower-case labels (`vip`, `b2b`, ...): list filters, skill rules and queue priority use
    /// them. Absent from older relays' snapshots.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The customer's latest choice about marketing messages (`user_preferences`); absent until
    /// they made one. Campaigns leave out customers who stopped them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing: Option<MarketingPreference>,
    /// The name the business saved for the customer in the WhatsApp Business app's contacts
    /// (Coexistence `smb_app_state_sync`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
}

/// A customer's choice about marketing messages, and when they made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MarketingPreference {
    /// `stop` or `resume`.
    pub choice: String,
    /// When the customer made it (ms).
    pub at: i64,
}

impl MarketingPreference {
    /// Whether marketing messages may go to this customer.
    pub fn allows_marketing(&self) -> bool {
        self.choice != "stop"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Conversation {
    pub id: i64,
    pub phone_number_id: String,
    pub contact: Contact,
    /// `open` or `resolved`.
    pub status: String,
    pub assignee_id: Option<i64>,
    /// When the customer last wrote; the 24-hour window runs from here.
    pub last_inbound_at: Option<i64>,
    pub last_message_at: i64,
    pub last_message_preview: String,
    /// Inbound messages after the last mark-read.
    pub unread_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Conversation {
    /// End of the customer-service window, if one was ever opened.
    pub fn window_expires_at(&self) -> Option<i64> {
        self.last_inbound_at.map(|t| t + 24 * 3600 * 1000)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Meta's reason for a failed message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessageError {
    pub code: i64,
    pub title: String,
    /// A sentence an agent can act on.
    pub reason: String,
    pub details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub direction: Direction,
    pub wamid: Option<String>,
    /// Meta's message type (`text`, `image`, ..., or an unknown name).
    #[serde(rename = "type")]
    pub type_name: String,
    /// One-line text (body, caption, ...) for lists and search.
    pub text: String,
    /// Typed content (see `Content` in the protocol crate), or the send request for outbound.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub content: Value,
    /// True when the relay cannot show this message type; `raw` holds what Meta sent.
    pub unsupported: bool,
    /// Delivery state of outbound messages; `null` for inbound ones.
    pub status: Option<DeliveryStatus>,
    pub error: Option<MessageError>,
    /// Relay id of the quoted message, if known.
    pub reply_to: Option<i64>,
    /// wamid of the quoted message as Meta sent it.
    pub reply_to_wamid: Option<String>,
    /// The user who sent an outbound message.
    pub sender_id: Option<i64>,
    /// The client's Idempotency-Key for an outbound message.
    pub client_id: Option<String>,
    /// The webhook item as Meta sent it (inbound only).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub raw: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the customer last edited this message; `text` and `content` are the latest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// The versions it replaced, oldest first, kept for the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<MessageVersion>,
    /// When the customer deleted it for everyone: it stays readable to the team, marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    /// Where an outbound message came from (`agent`, `auto_reply`, `away`, `bulk`, or
    /// `phone_app`: sent from the WhatsApp Business app, Coexistence), or `history` for a message
    /// of the chat history shared at onboarding. See [`origin`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// Values of [`Message::origin`] that do not come from the relay's own sends.
pub mod origin {
    /// Sent by the business from the WhatsApp Business app (an `smb_message_echoes` echo).
    pub const PHONE_APP: &str = "phone_app";
    /// Part of the chat history shared when the number joined (`history` webhooks).
    pub const HISTORY: &str = "history";
}

/// An earlier version of an edited message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessageVersion {
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub content: Value,
    /// When the customer replaced it (ms).
    pub replaced_at: i64,
}

/// What clients sync from: every change, with a strictly increasing `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Event {
    pub seq: i64,
    /// `message.created`, `message.updated`, `conversation.updated`, `contact.updated`.
    pub kind: String,
    pub conversation_id: Option<i64>,
    /// A full snapshot of the changed object, so applying an event twice is harmless.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    pub at: i64,
}

/// One text frame of `GET /api/v1/stream`: an event and `prev`, the `seq` of the event sent
/// before it on this stream (or the `after` the stream was opened with). Everything between
/// `prev` and `seq` is invisible to this user, so a client whose cursor is at least `prev` has
/// missed nothing; a larger `prev` means the client must refetch from its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFrame {
    #[serde(flatten)]
    pub event: Event,
    pub prev: i64,
}

pub mod event_kind {
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const MESSAGE_UPDATED: &str = "message.updated";
    pub const CONVERSATION_UPDATED: &str = "conversation.updated";
    pub const CONTACT_UPDATED: &str = "contact.updated";
    /// Two conversations turned out to be the same customer's: `data` is `{id, merged_into}`;
    /// clients drop `id`.
    pub const CONVERSATION_MERGED: &str = "conversation.merged";
    /// An outbound message was refused by the sensitive-word filter; supervisors and admins only.
    /// `data`: `{block_id, conversation_id, user_id, origin, code, matched, text, request}`.
    pub const POLICY_BLOCKED: &str = "policy.blocked";
    /// A conversation's assignee changed (or it went back to the queue): `data` is an
    /// [`Assignment`](super::Assignment) with who made the change and why. Seen by the new and
    /// the previous assignee (everyone, when one side is the queue) and by supervisors.
    pub const CONVERSATION_ASSIGNED: &str = "conversation.assigned";
    /// A conversation joined the queue (nobody qualified): supervisors and admins only.
    /// `data`: `{conversation_id, priority, team_id, queued_at}`.
    pub const CONVERSATION_QUEUED: &str = "conversation.queued";
    /// The customer has waited longer than the alert threshold: to the assignee.
    /// `data`: `{conversation_id, assignee_id, waiting_since}`.
    pub const CONVERSATION_WAITING: &str = "conversation.waiting";
    /// The customer has waited past the overdue threshold: supervisors and admins only.
    /// `data`: `{conversation_id, assignee_id, waiting_since}`.
    pub const CONVERSATION_OVERDUE: &str = "conversation.overdue";
    /// An agent's presence, status, connections or capacity changed: supervisors and admins only.
    /// `data`: an [`AgentPresence`](super::AgentPresence).
    pub const AGENT_PRESENCE: &str = "agent.presence";
    /// A note was written on a customer: `data` is a [`Note`](super::Note). Seen by whoever sees
    /// one of the customer's conversations.
    pub const NOTE_CREATED: &str = "note.created";
    /// A retention purge finished for a business number: `data` is a
    /// [`RetentionPurged`](crate::governance::RetentionPurged). Seen by everyone; caches drop the
    /// same messages.
    pub const RETENTION_PURGED: &str = "retention.purged";
    /// A customer was erased: `data` is a [`ContactErased`](crate::governance::ContactErased)
    /// (ids only). Seen by everyone; caches drop the customer, their conversations and notes.
    pub const CONTACT_ERASED: &str = "contact.erased";
}

/// Presence as a person sets it (`PUT /api/v1/me/status`) and as the relay derives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum AgentStatus {
    Online,
    Away,
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<AgentStatus> {
        match s {
            "online" => Some(AgentStatus::Online),
            "away" => Some(AgentStatus::Away),
            "offline" => Some(AgentStatus::Offline),
            _ => None,
        }
    }
}

/// An internal note on a customer, written by a colleague; never sent to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Note {
    pub id: i64,
    pub contact_id: i64,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub text: String,
    pub created_at: i64,
}

/// Body of `POST /api/v1/contacts/{id}/notes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NoteRequest {
    /// Up to 4,000 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub text: String,
}

/// Body and answer of `PUT /api/v1/contacts/{id}/tags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Tags {
    /// At most 30 tags of at most 40 characters; stored trimmed and lower-case.
    #[cfg_attr(feature = "openapi", schema(max_items = 30))]
    pub tags: Vec<String>,
}

/// `GET /api/v1/directory`: the colleagues and teams a conversation can be transferred to.
/// Every signed-in user may read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Directory {
    pub agents: Vec<DirectoryAgent>,
    pub teams: Vec<DirectoryTeam>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DirectoryAgent {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// Effective presence (online, away, offline).
    pub presence: AgentStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DirectoryTeam {
    pub id: i64,
    pub name: String,
}

/// Body of `PUT /api/v1/me/status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StatusRequest {
    pub status: AgentStatus,
}

/// Body of `POST /api/v1/conversations/{id}/assign`: exactly one of `agent_id` and `team_id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AssignRequest {
    #[serde(default)]
    pub agent_id: Option<i64>,
    /// Route within this team (the team's available agents; the queue if none qualifies).
    #[serde(default)]
    pub team_id: Option<i64>,
    /// Supervisors and admins: assign even to an agent who is not online or is at capacity.
    #[serde(default)]
    pub force: bool,
}

/// One assignment change (`conversation.assigned`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Assignment {
    pub conversation_id: i64,
    /// `null`: back in the queue.
    pub assignee_id: Option<i64>,
    pub previous_assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    /// `least_loaded`, `round_robin`, `skills+least_loaded`, `skills+round_robin`, `sticky`,
    /// `manual` (a supervisor), `transfer` (an agent), `team`, `agent_offline`, `queued`.
    pub reason: String,
    /// The user who made the change; `null` for the router.
    pub by: Option<i64>,
    /// The assignee's open conversations and capacity after the change.
    pub assignee_load: Option<i64>,
    pub assignee_capacity: Option<i64>,
    pub at: i64,
}

/// An agent as the monitor shows them (`agent.presence` events carry the same fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgentPresence {
    pub user_id: i64,
    /// What the person set.
    pub status: AgentStatus,
    /// Effective: offline once no stream was open for the grace period.
    pub presence: AgentStatus,
    /// Open streams right now.
    pub connections: i64,
    /// Open conversations assigned.
    pub open: i64,
    pub capacity: i64,
}

/// Average, median and 90th percentile of durations, in seconds (`null` without samples).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Durations {
    pub count: usize,
    pub avg_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MonitorAgent {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    #[serde(flatten)]
    pub presence: AgentPresence,
    pub teams: Vec<i64>,
    pub skills: Vec<String>,
    /// First response times (customer's first message to the first human reply) of the
    /// conversations this agent answered first in the last 24 hours.
    pub first_response: Durations,
    pub resolved_last_hour: i64,
    /// Open conversations assigned to this agent whose customer waits past the overdue threshold.
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MonitorTeam {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    pub online: i64,
    pub open: i64,
    pub capacity: i64,
    pub first_response: Durations,
    pub resolved_last_hour: i64,
    pub overdue: i64,
    /// Conversations waiting for this team.
    pub queue_length: i64,
    /// Seconds the longest-waiting of them has waited.
    pub longest_wait_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OverdueConversation {
    pub conversation_id: i64,
    pub assignee_id: Option<i64>,
    pub phone_number_id: String,
    pub waiting_since: i64,
    pub waiting_s: f64,
}

/// `GET /api/v1/monitor`: the floor, for supervisors and admins. Keep it live with the stream's
/// `conversation.assigned`, `conversation.queued`, `conversation.overdue`, `agent.presence` and
/// `conversation.updated` events (or fetch again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Monitor {
    pub at: i64,
    pub agents: Vec<MonitorAgent>,
    pub teams: Vec<MonitorTeam>,
    /// All waiting conversations (any team).
    pub queue_length: i64,
    pub longest_wait_s: Option<f64>,
    pub first_response: Durations,
    pub overdue: Vec<OverdueConversation>,
    /// The event log's head when this snapshot was read: apply stream events after it.
    pub head: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `after` for the next page. Events the user may not see are skipped, so this can be
    /// beyond the last event's `seq`: gaps below it are not missing data.
    pub next_after: i64,
    /// The last sequence number in the log when this page was read.
    pub head: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
    /// Pass as `before` to get the next (older) page; an opaque cursor.
    pub next_before: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessagePage {
    /// Oldest first.
    pub items: Vec<Message>,
    /// Pass as `before` to get older messages.
    pub next_before: Option<i64>,
}

/// Body of `POST /api/v1/conversations/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum SendRequest {
    Text {
        text: String,
        #[serde(default)]
        preview_url: bool,
        #[serde(default)]
        reply_to: Option<i64>,
    },
    Template {
        template: TemplateSend,
        #[serde(default)]
        reply_to: Option<i64>,
    },
    Image {
        /// A public http(s) URL WhatsApp fetches; or leave it out and name an uploaded file.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        link: String,
        /// The id of a file uploaded through `POST /api/v1/conversations/{id}/media`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<String>,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        reply_to: Option<i64>,
    },
    Document {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        link: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<String>,
        #[serde(default)]
        filename: Option<String>,
        #[serde(default)]
        caption: Option<String>,
        #[serde(default)]
        reply_to: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateSend {
    pub name: String,
    /// e.g. `de` or `en_US`.
    pub language: String,
    /// Body parameters, in order.
    #[serde(default)]
    pub parameters: Vec<String>,
    /// Text header parameters, in order (for a template whose header has `{{1}}`). Absent or
    /// empty for templates without header parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_parameters: Vec<String>,
}

impl SendRequest {
    pub fn type_name(&self) -> &'static str {
        match self {
            SendRequest::Text { .. } => "text",
            SendRequest::Template { .. } => "template",
            SendRequest::Image { .. } => "image",
            SendRequest::Document { .. } => "document",
        }
    }
    pub fn reply_to(&self) -> Option<i64> {
        match self {
            SendRequest::Text { reply_to, .. }
            | SendRequest::Template { reply_to, .. }
            | SendRequest::Image { reply_to, .. }
            | SendRequest::Document { reply_to, .. } => *reply_to,
        }
    }
    /// The uploaded file an image or document names, if any.
    pub fn media_id(&self) -> Option<&str> {
        match self {
            SendRequest::Image { media_id, .. } | SendRequest::Document { media_id, .. } => {
                media_id.as_deref()
            }
            _ => None,
        }
    }
    /// One-line text for lists and search.
    pub fn preview(&self) -> String {
        match self {
            SendRequest::Text { text, .. } => text.clone(),
            SendRequest::Template { template, .. } => {
                format!("[{}] {}", template.name, template.parameters.join(" "))
            }
            SendRequest::Image { caption, .. } => caption.clone().unwrap_or_default(),
            SendRequest::Document {
                caption, filename, ..
            } => caption.clone().or(filename.clone()).unwrap_or_default(),
        }
    }
    /// Checks what Meta would refuse anyway, so bad requests fail before they are queued.
    pub fn validate(&self) -> Result<(), String> {
        fn https(link: &str) -> Result<(), String> {
            if link.starts_with("https://") || link.starts_with("http://") {
                Ok(())
            } else {
                Err("link must be an http(s) URL (or send media_id of an uploaded file)".into())
            }
        }
        match self {
            SendRequest::Text { text, .. } => {
                if text.trim().is_empty() {
                    return Err("text must not be empty".into());
                }
                if text.chars().count() > 4096 {
                    return Err("text is longer than WhatsApp's 4096 characters".into());
                }
            }
            SendRequest::Template { template, .. } => {
                if template.name.trim().is_empty() || template.language.trim().is_empty() {
                    return Err("template needs a name and a language".into());
                }
            }
            SendRequest::Image {
                link,
                media_id,
                caption,
                ..
            }
            | SendRequest::Document {
                link,
                media_id,
                caption,
                ..
            } => {
                match media_id {
                    Some(_) if !link.is_empty() => {
                        return Err("give either link or media_id, not both".into());
                    }
                    Some(id) => {
                        if id.trim().is_empty()
                            || !id.chars().all(|c| {
                                c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
                            })
                        {
                            return Err("media_id must be the id an upload answered".into());
                        }
                    }
                    None => https(link)?,
                }
                if caption.as_ref().is_some_and(|c| c.chars().count() > 1024) {
                    return Err("caption is longer than 1024 characters".into());
                }
            }
        }
        Ok(())
    }
}

/// Body of `POST /api/v1/conversations/{id}/read`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MarkReadRequest {
    /// Mark up to and including this message; the newest inbound message when absent.
    #[serde(default)]
    pub up_to: Option<i64>,
}

/// A webhook body the relay could not parse, kept for admins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeadLetter {
    pub id: i64,
    pub received_at: i64,
    pub error: String,
    pub body: String,
}

/// A message template as synced from the Graph API and listed by `GET /api/v1/templates` (one
/// name in one language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Template {
    pub name: String,
    pub language: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`.
    pub status: String,
    /// Placeholders in the body: the parameters a send must carry.
    pub body_params: usize,
    /// Text header placeholders: the `header_parameters` a send must carry.
    #[serde(default)]
    pub header_params: usize,
    pub body: String,
    /// The text header (may hold `{{1}}`); empty when the template has none or a media header.
    #[serde(default)]
    pub header: String,
}

/// An uploaded file, as `POST /api/v1/conversations/{id}/media` answers: ready to be sent as
/// `{"type": kind, "media_id": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Uploaded {
    pub media_id: String,
    /// `image` or `document`: the send request type that carries it.
    pub kind: String,
    pub mime_type: String,
    pub filename: String,
    pub size: usize,
}
