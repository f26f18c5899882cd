//! Typed models of Meta's webhook notifications (`object` → `entry[]` → `changes[]` → `value`).
//!
//! Parsing is tolerant where Meta is loose (optional fields, unknown message types, other webhook
//! fields) and strict only where a body cannot be a WhatsApp notification at all. Every inbound
//! message keeps its raw JSON so nothing Meta sent is ever lost, even for types we do not model.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::coexistence::{
    Echo, EchoesValue, HistoryChunk, HistoryMessage, HistoryThread, HistoryValue, StateSyncItem,
    StateSyncValue,
};

/// Why a webhook body could not be understood. Such bodies are kept as dead letters.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is not a WhatsApp notification: {0}")]
    Shape(String),
}

/// One whole webhook POST body.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub object: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// WABA id.
    pub id: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `field: "messages"`: inbound messages, statuses and errors for one business number.
    Messages(MessagesValue),
    /// `field: "user_preferences"`: customers stopping or resuming marketing messages.
    Preferences(PreferencesValue),
    /// `field: "smb_message_echoes"`: what the business sent from the WhatsApp Business app.
    Echoes(EchoesValue),
    /// `field: "history"`: chat history shared at Coexistence onboarding.
    History(HistoryValue),
    /// `field: "smb_app_state_sync"`: the phone app's contact list changed.
    StateSync(StateSyncValue),
    /// Any other field (template status updates, account alerts, ...): recorded as is.
    Other { field: String, value: Value },
}

impl Change {
    /// The business number (phone number id) a change is about, where it names one.
    pub fn phone_number_id(&self) -> Option<&str> {
        match self {
            Change::Preferences(p) => p.phone_number_id.as_deref(),
            Change::StateSync(s) => Some(&s.phone_number_id),
            Change::Other { value, .. } => value
                .pointer("/metadata/phone_number_id")
                .and_then(Value::as_str),
            _ => self.business_number().map(|(id, _)| id),
        }
    }

    /// The business number (phone number id, display number) a change is about, where its
    /// `metadata` names one.
    pub fn business_number(&self) -> Option<(&str, &str)> {
        let (id, display) = match self {
            Change::Messages(v) => (&v.phone_number_id, &v.display_phone_number),
            Change::Echoes(v) => (&v.phone_number_id, &v.display_phone_number),
            Change::History(v) => (&v.phone_number_id, &v.display_phone_number),
            Change::Preferences(_) | Change::StateSync(_) | Change::Other { .. } => return None,
        };
        Some((id.as_str(), display.as_str()))
    }
}

/// `value` of a `user_preferences` change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreferencesValue {
    pub phone_number_id: Option<String>,
    pub contacts: Vec<Contact>,
    pub preferences: Vec<UserPreference>,
}

/// One customer's choice (`value.user_preferences[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserPreference {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    /// `marketing_messages` (the one category Meta sends today).
    pub category: String,
    /// `stop` or `resume` as Meta sent it.
    pub value: String,
    pub detail: Option<String>,
    /// Unix seconds (a number here, unlike messages' strings; both are accepted).
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessagesValue {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub contacts: Vec<Contact>,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<Status>,
    pub errors: Vec<GraphError>,
}

/// The sender as described in `value.contacts[]` (and, from 2026, on statuses).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub wa_id: Option<String>,
    /// Business-scoped user id (BSUID), 2026 format.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub parent_user_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
}

impl Contact {
    pub fn name(&self) -> Option<&str> {
        self.profile.as_ref().and_then(|p| p.name.as_deref())
    }
    pub fn username(&self) -> Option<&str> {
        self.username
            .as_deref()
            .or_else(|| self.profile.as_ref().and_then(|p| p.username.as_deref()))
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// An error object as Meta puts it in webhooks (`errors[]`) and in the sync error envelope.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    /// Legacy (`unknown` type) payloads put `details` at the top level.
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub href: Option<String>,
}

impl GraphError {
    pub fn details(&self) -> Option<&str> {
        self.error_data
            .as_ref()
            .and_then(|d| d.details.as_deref())
            .or(self.details.as_deref())
    }
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref().or(self.message.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

/// An inbound customer message (`value.messages[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub id: String,
    pub from: Option<String>,
    pub from_user_id: Option<String>,
    /// Unix seconds.
    pub timestamp: i64,
    /// The `type` string exactly as Meta sent it.
    pub type_name: String,
    pub content: Content,
    pub context: Option<Context>,
    pub referral: Option<Value>,
    pub errors: Vec<GraphError>,
    /// The whole `messages[]` item as received.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
    },
    Image(Media),
    Video(Media),
    Audio(Media),
    Document(Media),
    Sticker(Media),
    Location(Location),
    Contacts {
        contacts: Vec<Value>,
    },
    Interactive(Interactive),
    /// Quick-reply button of a template.
    Button {
        payload: Option<String>,
        text: Option<String>,
    },
    Reaction {
        message_id: String,
        /// `None` when the customer removed the reaction.
        emoji: Option<String>,
    },
    Order(Order),
    System(System),
    /// The customer opened the chat for the first time.
    RequestWelcome,
    /// A photo, video, voice note or file of the shared chat history (Coexistence `history`)
    /// whose media WhatsApp sends later, in a follow-up chunk, if at all.
    MediaPlaceholder,
    /// The customer edited an earlier message (`original_message_id`); `message` is its new
    /// content.
    Edit {
        original_message_id: String,
        message: Box<Content>,
    },
    /// The customer deleted an earlier message for everyone.
    Revoke {
        original_message_id: String,
    },
    /// `unsupported` (or legacy `unknown`): Meta could not represent the message.
    Unsupported {
        kind: Option<String>,
    },
    /// A type this relay does not model yet: the raw JSON is kept on the message.
    Unknown {
        type_name: String,
    },
}

impl Content {
    /// A one-line text for lists, search and notifications.
    pub fn preview(&self) -> String {
        match self {
            Content::Text { body } => body.clone(),
            Content::Image(m) | Content::Video(m) | Content::Document(m) => m
                .caption
                .clone()
                .or_else(|| m.filename.clone())
                .unwrap_or_default(),
            Content::Audio(_) | Content::Sticker(_) => String::new(),
            Content::Location(l) => [l.name.as_deref(), l.address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            Content::Contacts { contacts } => contacts
                .iter()
                .filter_map(|c| c.pointer("/name/formatted_name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", "),
            Content::Interactive(i) => i.title.clone().unwrap_or_default(),
            Content::Button { text, payload } => {
                text.clone().or(payload.clone()).unwrap_or_default()
            }
            Content::Reaction { emoji, .. } => emoji.clone().unwrap_or_default(),
            Content::Order(o) => o.text.clone().unwrap_or_default(),
            Content::System(s) => s.body.clone().unwrap_or_default(),
            Content::Edit { message, .. } => message.preview(),
            Content::RequestWelcome
            | Content::MediaPlaceholder
            | Content::Revoke { .. }
            | Content::Unsupported { .. }
            | Content::Unknown { .. } => String::new(),
        }
    }

    /// The message an edit or a deletion is about.
    pub fn amends(&self) -> Option<&str> {
        match self {
            Content::Edit {
                original_message_id,
                ..
            }
            | Content::Revoke {
                original_message_id,
            } => Some(original_message_id),
            _ => None,
        }
    }

    /// Media id to fetch through the Graph API, if this message carries media.
    pub fn media(&self) -> Option<&Media> {
        match self {
            Content::Image(m)
            | Content::Video(m)
            | Content::Audio(m)
            | Content::Document(m)
            | Content::Sticker(m) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Media {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
    pub url: Option<String>,
    pub voice: Option<bool>,
    pub animated: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

/// A reply to an interactive message: button, list row or Flow (`nfm_reply`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Interactive {
    /// `button_reply`, `list_reply`, `nfm_reply`, or whatever Meta sent.
    pub kind: Option<String>,
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// For `nfm_reply`: `response_json` parsed (Meta sends it as a JSON string).
    pub response: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Order {
    pub catalog_id: Option<String>,
    pub text: Option<String>,
    pub product_items: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct System {
    pub kind: Option<String>,
    pub body: Option<String>,
    /// The customer's new wa_id (`wa_id`, or the older `new_wa_id`).
    pub new_wa_id: Option<String>,
    pub user_id: Option<String>,
    pub previous_user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Context {
    /// The quoted message (or the message that held the tapped button).
    pub id: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub forwarded: bool,
    #[serde(default)]
    pub frequently_forwarded: bool,
    pub referred_product: Option<Value>,
}

/// Delivery state of a message, as a lattice that only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Played,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Played => "played",
            DeliveryStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => DeliveryStatus::Queued,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "played" => DeliveryStatus::Played,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }
    /// Whether a message in state `self` may move to `next`. Statuses only move forward
    /// (queued < sent < delivered < read < played); `failed` is terminal and may replace any
    /// state except a confirmed delivery.
    pub fn may_advance_to(self, next: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (self, next) {
            (Failed, _) => false,
            (Queued | Sent, Failed) => true,
            (_, Failed) => false,
            (a, b) => b > a,
        }
    }
}

/// A status update for a message the business sent (`value.statuses[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub wamid: String,
    /// `None` for a status string this relay does not know (kept raw, not applied).
    pub status: Option<DeliveryStatus>,
    pub status_name: String,
    pub timestamp: i64,
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
    pub errors: Vec<GraphError>,
    pub raw: Value,
}

pub(crate) fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn timestamp(v: &Value) -> Result<i64, ParseError> {
    match v.get("timestamp") {
        Some(Value::String(s)) => s
            .parse::<i64>()
            .map_err(|_| ParseError::Shape(format!("timestamp {s:?} is not Unix seconds"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ParseError::Shape("timestamp out of range".into())),
        _ => Err(ParseError::Shape("timestamp missing".into())),
    }
}

pub(crate) fn typed<T: serde::de::DeserializeOwned + Default>(
    v: Option<&Value>,
) -> Result<T, ParseError> {
    match v {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| ParseError::Shape(e.to_string())),
    }
}

pub(crate) fn errors(v: &Value) -> Result<Vec<GraphError>, ParseError> {
    match v.get("errors") {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items.iter().map(|e| typed(Some(e))).collect(),
        Some(_) => Err(ParseError::Shape("errors is not an array".into())),
    }
}

pub(crate) fn array<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], ParseError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ParseError::Shape(format!("{key} is not an array"))),
    }
}

/// Parses a webhook POST body (the raw bytes, as signed).
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let object = root
        .get("object")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::Shape("object missing".into()))?
        .to_string();
    let mut entries = Vec::new();
    for entry in array(&root, "entry")? {
        let id = str_field(entry, "id").unwrap_or_default();
        let mut changes = Vec::new();
        for change in array(entry, "changes")? {
            let field = change
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| ParseError::Shape("changes[].field missing".into()))?;
            let value = change.get("value").cloned().unwrap_or(Value::Null);
            if field == "messages" {
                changes.push(Change::Messages(parse_messages_value(&value)?));
            } else if field == "user_preferences" {
                changes.push(Change::Preferences(parse_preferences_value(&value)?));
            } else if field == "smb_message_echoes" {
                changes.push(Change::Echoes(crate::coexistence::parse_echoes_value(
                    &value,
                )?));
            } else if field == "history" {
                changes.push(Change::History(crate::coexistence::parse_history_value(
                    &value,
                )?));
            } else if field == "smb_app_state_sync" {
                changes.push(Change::StateSync(
                    crate::coexistence::parse_state_sync_value(&value)?,
                ));
            } else {
                changes.push(Change::Other {
                    field: field.to_string(),
                    value,
                });
            }
        }
        entries.push(Entry { id, changes });
    }
    Ok(Notification { object, entries })
}

fn parse_preferences_value(v: &Value) -> Result<PreferencesValue, ParseError> {
    if !v.is_object() {
        return Err(ParseError::Shape("value is not an object".into()));
    }
    let contacts = array(v, "contacts")?
        .iter()
        .map(|c| typed(Some(c)))
        .collect::<Result<Vec<Contact>, _>>()?;
    let preferences = array(v, "user_preferences")?
        .iter()
        .map(|p| {
            let value = str_field(p, "value")
                .ok_or_else(|| ParseError::Shape("user_preferences[].value missing".into()))?;
            Ok(UserPreference {
                wa_id: str_field(p, "wa_id"),
                user_id: str_field(p, "user_id"),
                category: str_field(p, "category").unwrap_or_default(),
                value,
                detail: str_field(p, "detail"),
                timestamp: timestamp(p)?,
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(PreferencesValue {
        phone_number_id: v
            .get("metadata")
            .and_then(|m| str_field(m, "phone_number_id")),
        contacts,
        preferences,
    })
}

fn parse_messages_value(v: &Value) -> Result<MessagesValue, ParseError> {
    if !v.is_object() {
        return Err(ParseError::Shape("value is not an object".into()));
    }
    let meta = v
        .get("metadata")
        .ok_or_else(|| ParseError::Shape("value.metadata missing".into()))?;
    let phone_number_id = str_field(meta, "phone_number_id")
        .ok_or_else(|| ParseError::Shape("metadata.phone_number_id missing".into()))?;
    let display_phone_number = str_field(meta, "display_phone_number").unwrap_or_default();
    let contacts = array(v, "contacts")?
        .iter()
        .map(|c| typed(Some(c)))
        .collect::<Result<Vec<Contact>, _>>()?;
    let messages = array(v, "messages")?
        .iter()
        .map(parse_message)
        .collect::<Result<Vec<_>, _>>()?;
    let statuses = array(v, "statuses")?
        .iter()
        .map(parse_status)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MessagesValue {
        phone_number_id,
        display_phone_number,
        contacts,
        messages,
        statuses,
        errors: errors(v)?,
    })
}

/// Parses one `messages[]` item. Unknown types parse to [`Content::Unknown`].
pub fn parse_message(m: &Value) -> Result<InboundMessage, ParseError> {
    let id = str_field(m, "id").ok_or_else(|| ParseError::Shape("messages[].id missing".into()))?;
    let type_name = str_field(m, "type").unwrap_or_else(|| "unknown".into());
    let body = m.get(type_name.as_str());
    let content = match type_name.as_str() {
        "text" => Content::Text {
            body: body
                .and_then(|b| b.get("body"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        },
        "image" => Content::Image(typed(body)?),
        "video" => Content::Video(typed(body)?),
        "audio" => Content::Audio(typed(body)?),
        "document" => Content::Document(typed(body)?),
        "sticker" => Content::Sticker(typed(body)?),
        "location" => Content::Location(typed(body)?),
        "contacts" => Content::Contacts {
            contacts: body.and_then(Value::as_array).cloned().unwrap_or_default(),
        },
        "interactive" => Content::Interactive(parse_interactive(body)),
        "button" => Content::Button {
            payload: body.and_then(|b| str_field(b, "payload")),
            text: body.and_then(|b| str_field(b, "text")),
        },
        "reaction" => Content::Reaction {
            message_id: body
                .and_then(|b| str_field(b, "message_id"))
                .unwrap_or_default(),
            emoji: body
                .and_then(|b| str_field(b, "emoji"))
                .filter(|e| !e.is_empty()),
        },
        "order" => Content::Order(Order {
            catalog_id: body.and_then(|b| str_field(b, "catalog_id")),
            text: body.and_then(|b| str_field(b, "text")),
            product_items: body
                .and_then(|b| b.get("product_items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        }),
        "system" => Content::System(System {
            kind: body.and_then(|b| str_field(b, "type")),
            body: body.and_then(|b| str_field(b, "body")),
            new_wa_id: body
                .and_then(|b| str_field(b, "wa_id").or_else(|| str_field(b, "new_wa_id"))),
            user_id: body.and_then(|b| str_field(b, "user_id")),
            previous_user_id: body.and_then(|b| str_field(b, "previous_user_id")),
        }),
        "request_welcome" => Content::RequestWelcome,
        "media_placeholder" => Content::MediaPlaceholder,
        "edit" => {
            let original_message_id = body
                .and_then(|b| str_field(b, "original_message_id"))
                .ok_or_else(|| ParseError::Shape("edit.original_message_id missing".into()))?;
            // The new content has the shape of a message item's type and body.
            let inner = body
                .and_then(|b| b.get("message"))
                .cloned()
                .unwrap_or(Value::Null);
            let inner_type = str_field(&inner, "type").unwrap_or_else(|| "unknown".into());
            if inner_type == "edit" || inner_type == "revoke" {
                return Err(ParseError::Shape(format!(
                    "edit.message cannot be of type {inner_type}"
                )));
            }
            let mut item = serde_json::Map::new();
            item.insert("id".into(), Value::String(id.clone()));
            item.insert("type".into(), Value::String(inner_type.clone()));
            item.insert("timestamp".into(), Value::from(0));
            if let Some(b) = inner.get(inner_type.as_str()) {
                item.insert(inner_type.clone(), b.clone());
            }
            let parsed = parse_message(&Value::Object(item))?;
            Content::Edit {
                original_message_id,
                message: Box::new(parsed.content),
            }
        }
        "revoke" => Content::Revoke {
            original_message_id: body
                .and_then(|b| str_field(b, "original_message_id"))
                .ok_or_else(|| ParseError::Shape("revoke.original_message_id missing".into()))?,
        },
        "unsupported" | "unknown" => Content::Unsupported {
            kind: body.and_then(|b| str_field(b, "type")),
        },
        other => Content::Unknown {
            type_name: other.to_string(),
        },
    };
    let context = match m.get("context") {
        None | Some(Value::Null) => None,
        Some(c) => Some(typed(Some(c))?),
    };
    Ok(InboundMessage {
        id,
        from: str_field(m, "from"),
        from_user_id: str_field(m, "from_user_id"),
        timestamp: timestamp(m)?,
        type_name,
        content,
        context,
        referral: m.get("referral").cloned().filter(|r| !r.is_null()),
        errors: errors(m)?,
        raw: m.clone(),
    })
}

fn parse_interactive(body: Option<&Value>) -> Interactive {
    let Some(b) = body else {
        return Interactive::default();
    };
    let kind = str_field(b, "type");
    let inner = kind.as_deref().and_then(|k| b.get(k));
    let response = inner
        .and_then(|i| i.get("response_json"))
        .and_then(|r| match r {
            Value::String(s) => serde_json::from_str(s)
                .ok()
                .or(Some(Value::String(s.clone()))),
            other => Some(other.clone()),
        });
    Interactive {
        id: inner.and_then(|i| str_field(i, "id")),
        title: inner.and_then(|i| str_field(i, "title").or_else(|| str_field(i, "body"))),
        description: inner.and_then(|i| str_field(i, "description")),
        response,
        kind,
    }
}

/// Parses one `statuses[]` item.
pub fn parse_status(s: &Value) -> Result<Status, ParseError> {
    let wamid =
        str_field(s, "id").ok_or_else(|| ParseError::Shape("statuses[].id missing".into()))?;
    let status_name = str_field(s, "status")
        .ok_or_else(|| ParseError::Shape("statuses[].status missing".into()))?;
    Ok(Status {
        status: DeliveryStatus::parse(&status_name).filter(|s| *s != DeliveryStatus::Queued),
        status_name,
        timestamp: timestamp(s)?,
        recipient_id: str_field(s, "recipient_id"),
        recipient_user_id: str_field(s, "recipient_user_id"),
        biz_opaque_callback_data: str_field(s, "biz_opaque_callback_data"),
        errors: errors(s)?,
        raw: s.clone(),
        wamid,
    })
}

/// Serialises JSON the way Meta does before signing: ASCII only, non-ASCII as lowercase
/// `\uXXXX` escapes (surrogate pairs beyond the BMP).
pub fn to_meta_json(value: &Value) -> Vec<u8> {
    let s = serde_json::to_string(value).expect("a Value always serialises");
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// One fuzzing step (shared by the cargo-fuzz target and the seed-corpus test): parsing and
/// signature checks must never panic, and whatever parses must parse the same way again from
/// its kept raw JSON.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let _ = crate::signature::verify(b"k", data, std::str::from_utf8(data).ok());
    if let Ok(n) = parse_notification(data) {
        for entry in &n.entries {
            for change in &entry.changes {
                if let Change::Messages(v) = change {
                    for m in &v.messages {
                        let again = parse_message(&m.raw)
                            .expect("a parsed message re-parses from its raw JSON");
                        assert_eq!(&again, m);
                        let _ = m.content.preview();
                        let _ = serde_json::to_value(&m.content).expect("content serialises");
                    }
                    for s in &v.statuses {
                        assert_eq!(&parse_status(&s.raw).expect("a parsed status re-parses"), s);
                    }
                }
            }
        }
        let _ = to_meta_json(&serde_json::from_slice::<Value>(data).unwrap_or(Value::Null));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lattice_moves_forward_only() {
        use DeliveryStatus::*;
        assert!(Queued.may_advance_to(Sent));
        assert!(Sent.may_advance_to(Read));
        assert!(!Read.may_advance_to(Delivered));
        assert!(!Delivered.may_advance_to(Sent));
        assert!(Sent.may_advance_to(Failed));
        assert!(!Failed.may_advance_to(Read));
        assert!(!Read.may_advance_to(Failed));
        assert!(!Sent.may_advance_to(Sent));
    }

    #[test]
    fn meta_json_escapes_non_ascii() {
        let v: Value = serde_json::from_str("{\"text\":{\"body\":\"café 👍\"}}").unwrap();
        assert_eq!(
            String::from_utf8(to_meta_json(&v)).unwrap(),
            r#"{"text":{"body":"caf\u00e9 \ud83d\udc4d"}}"#
        );
    }

    #[test]
    fn unknown_type_is_kept_raw() {
        let m: Value = serde_json::json!({"id":"wamid.x","from":"1","timestamp":"5","type":"poll","poll":{"q":1}});
        let parsed = parse_message(&m).unwrap();
        assert_eq!(
            parsed.content,
            Content::Unknown {
                type_name: "poll".into()
            }
        );
        assert_eq!(parsed.raw, m);
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(matches!(parse_notification(b"{"), Err(ParseError::Json(_))));
        assert!(matches!(
            parse_notification(b"[]"),
            Err(ParseError::Shape(_))
        ));
        assert!(matches!(
            parse_notification(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}"#),
            Err(ParseError::Shape(_))
        ));
        assert!(matches!(
            parse_notification(br#"{"object":"x","entry":{}}"#),
            Err(ParseError::Shape(_))
        ));
    }
}
