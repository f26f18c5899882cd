//! Coexistence webhooks: a business that answers from the WhatsApp Business app on its phone
//! while the team works through the Cloud API. Three fields (shapes from Meta's webhook
//! references `smb_message_echoes`, `history` and `smb_app_state_sync`, 2025–26):
//!
//! - `smb_message_echoes`: `value.message_echoes[]`, messages the business sent from the phone
//!   app (`from` the business number, `to` / `to_user_id` the customer), shaped like inbound
//!   message items; edits and deletions of them come as echoes of type `edit` / `revoke`.
//! - `history`: up to 180 days of chat history shared at onboarding, in phases and chunks:
//!   `value.history[]` with `metadata {phase, chunk_order, progress}` and `threads[]` (one per
//!   customer: `id` their number, empty for username users; `context` with their ids) of
//!   `messages[]` whose `from` is the business number for what the business sent, plus
//!   `history_context.status`. Media first comes as `media_placeholder`; a later chunk carries
//!   the media in `value.messages[]` (customer) / `value.message_echoes[]` (business) under the
//!   same id. A business that declined sharing sends `history[].errors[]` (code 2593109).
//! - `smb_app_state_sync`: `value.state_sync[]` of `{type: "contact", contact: {full_name,
//!   first_name, phone_number}, action: "add" | "remove", metadata.timestamp}` (an edit is an
//!   `add`).

use serde_json::Value;

use crate::webhook::{
    array, parse_message, str_field, timestamp, typed, Contact, GraphError, InboundMessage,
    ParseError,
};

/// `value` of an `smb_message_echoes` change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EchoesValue {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub contacts: Vec<Contact>,
    pub echoes: Vec<Echo>,
}

/// A message the business sent from the WhatsApp Business app.
#[derive(Debug, Clone, PartialEq)]
pub struct Echo {
    /// The message as an item (`id`, `timestamp`, type and content; `from` is the business).
    pub message: InboundMessage,
    /// The customer's phone number (digits, a leading `+` removed); `None` when hidden.
    pub to: Option<String>,
    /// The customer's BSUID (2026).
    pub to_user_id: Option<String>,
}

/// `value` of a `history` change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryValue {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub chunks: Vec<HistoryChunk>,
    /// Media of earlier `media_placeholder` messages the customer sent (follow-up chunk).
    pub messages: Vec<InboundMessage>,
    /// Media of earlier `media_placeholder` messages the business sent (follow-up chunk).
    pub echoes: Vec<Echo>,
    pub contacts: Vec<Contact>,
}

/// One `history[]` item: a chunk of one phase, or the business's refusal to share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryChunk {
    pub phase: Option<i64>,
    pub chunk_order: Option<i64>,
    /// 0–100; 100 when the whole history has been sent.
    pub progress: Option<i64>,
    pub threads: Vec<HistoryThread>,
    pub errors: Vec<GraphError>,
}

/// The history with one customer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryThread {
    /// The customer as named by the thread (`id`, `context`).
    pub customer: Contact,
    pub messages: Vec<HistoryMessage>,
}

/// A message of the shared history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMessage {
    pub message: InboundMessage,
    /// True when the business sent it (its `from` is the business number).
    pub from_business: bool,
    /// `history_context.status` lowercased (`sent`, `delivered`, `read`, `played`, `error`,
    /// `pending`).
    pub status: Option<String>,
}

/// `value` of an `smb_app_state_sync` change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StateSyncValue {
    pub phone_number_id: String,
    pub items: Vec<StateSyncItem>,
}

/// One change of the phone app's contact list.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSyncItem {
    /// `contact` (the only type Meta sends today).
    pub kind: String,
    /// `add` (also for an edit) or `remove`.
    pub action: String,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    /// Digits (a leading `+` removed); `None` when empty.
    pub phone_number: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    /// Unix seconds, when present.
    pub timestamp: Option<i64>,
}

/// A phone number as Meta writes it in these bodies (`+16505551234` or digits): digits only,
/// `None` when empty.
pub fn phone_digits(s: Option<String>) -> Option<String> {
    let s = s?;
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

fn metadata(v: &Value) -> Result<(String, String), ParseError> {
    let meta = v
        .get("metadata")
        .ok_or_else(|| ParseError::Shape("value.metadata missing".into()))?;
    let pnid = str_field(meta, "phone_number_id")
        .ok_or_else(|| ParseError::Shape("metadata.phone_number_id missing".into()))?;
    Ok((
        pnid,
        str_field(meta, "display_phone_number").unwrap_or_default(),
    ))
}

fn contacts(v: &Value) -> Result<Vec<Contact>, ParseError> {
    array(v, "contacts")?
        .iter()
        .map(|c| typed(Some(c)))
        .collect()
}

fn echoes(v: &Value) -> Result<Vec<Echo>, ParseError> {
    array(v, "message_echoes")?
        .iter()
        .map(|e| {
            Ok(Echo {
                message: parse_message(e)?,
                to: phone_digits(str_field(e, "to")),
                to_user_id: str_field(e, "to_user_id").filter(|u| !u.is_empty()),
            })
        })
        .collect()
}

pub(crate) fn parse_echoes_value(v: &Value) -> Result<EchoesValue, ParseError> {
    if !v.is_object() {
        return Err(ParseError::Shape("value is not an object".into()));
    }
    let (phone_number_id, display_phone_number) = metadata(v)?;
    Ok(EchoesValue {
        phone_number_id,
        display_phone_number,
        contacts: contacts(v)?,
        echoes: echoes(v)?,
    })
}

fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn parse_history_value(v: &Value) -> Result<HistoryValue, ParseError> {
    if !v.is_object() {
        return Err(ParseError::Shape("value is not an object".into()));
    }
    let (phone_number_id, display_phone_number) = metadata(v)?;
    let business = phone_digits(Some(display_phone_number.clone()));
    let mut chunks = Vec::new();
    for h in array(v, "history")? {
        let meta = h.get("metadata").cloned().unwrap_or(Value::Null);
        let mut threads = Vec::new();
        for t in array(h, "threads")? {
            let context = t.get("context").cloned().unwrap_or(Value::Null);
            let customer = Contact {
                wa_id: phone_digits(str_field(t, "id"))
                    .or_else(|| phone_digits(str_field(&context, "wa_id"))),
                user_id: str_field(&context, "user_id").filter(|u| !u.is_empty()),
                username: str_field(&context, "username").filter(|u| !u.is_empty()),
                ..Contact::default()
            };
            let messages = array(t, "messages")?
                .iter()
                .map(|m| {
                    let message = parse_message(m)?;
                    let from = phone_digits(message.from.clone());
                    Ok(HistoryMessage {
                        from_business: from.is_some() && from == business,
                        status: m
                            .get("history_context")
                            .and_then(|c| str_field(c, "status"))
                            .map(|s| s.to_ascii_lowercase()),
                        message,
                    })
                })
                .collect::<Result<Vec<_>, ParseError>>()?;
            threads.push(HistoryThread { customer, messages });
        }
        chunks.push(HistoryChunk {
            phase: int(&meta, "phase"),
            chunk_order: int(&meta, "chunk_order"),
            progress: int(&meta, "progress"),
            threads,
            errors: crate::webhook::errors(h)?,
        });
    }
    Ok(HistoryValue {
        phone_number_id,
        display_phone_number,
        chunks,
        messages: array(v, "messages")?
            .iter()
            .map(parse_message)
            .collect::<Result<_, _>>()?,
        echoes: echoes(v)?,
        contacts: contacts(v)?,
    })
}

pub(crate) fn parse_state_sync_value(v: &Value) -> Result<StateSyncValue, ParseError> {
    if !v.is_object() {
        return Err(ParseError::Shape("value is not an object".into()));
    }
    let (phone_number_id, _) = metadata(v)?;
    let items = array(v, "state_sync")?
        .iter()
        .map(|s| {
            let action = str_field(s, "action")
                .ok_or_else(|| ParseError::Shape("state_sync[].action missing".into()))?;
            let c = s.get("contact").cloned().unwrap_or(Value::Null);
            let nonempty = |k: &str| str_field(&c, k).filter(|x| !x.trim().is_empty());
            Ok(StateSyncItem {
                kind: str_field(s, "type").unwrap_or_else(|| "contact".into()),
                action,
                full_name: nonempty("full_name"),
                first_name: nonempty("first_name"),
                phone_number: phone_digits(str_field(&c, "phone_number")),
                user_id: nonempty("user_id"),
                username: nonempty("username"),
                timestamp: s.get("metadata").and_then(|m| timestamp(m).ok()),
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(StateSyncValue {
        phone_number_id,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_tells_the_business_from_the_customer() {
        let v = json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1"},
            "history": [{
                "metadata": {"phase": 0, "chunk_order": 1, "progress": 55},
                "threads": [{
                    "id": "16505551234",
                    "messages": [
                        {"from": "15550783881", "id": "wamid.B", "timestamp": "1739230955",
                         "type": "text", "text": {"body": "Hi"}, "history_context": {"status": "READ"}},
                        {"from": "16505551234", "id": "wamid.C", "timestamp": "1739230956",
                         "type": "media_placeholder", "history_context": {"status": "PLAYED"}},
                        {"from": "", "id": "wamid.D", "timestamp": "1739230957",
                         "type": "text", "text": {"body": "x"}}
                    ]
                }]
            }]
        });
        let h = parse_history_value(&v).unwrap();
        let c = &h.chunks[0];
        assert_eq!(
            (c.phase, c.chunk_order, c.progress),
            (Some(0), Some(1), Some(55))
        );
        let t = &c.threads[0];
        assert_eq!(t.customer.wa_id.as_deref(), Some("16505551234"));
        assert!(t.messages[0].from_business);
        assert_eq!(t.messages[0].status.as_deref(), Some("read"));
        assert!(!t.messages[1].from_business);
        assert_eq!(t.messages[1].message.type_name, "media_placeholder");
        // An empty `from` (a username user) is the customer, never the business.
        assert!(!t.messages[2].from_business);
    }

    #[test]
    fn declined_history_and_bad_shapes() {
        let v = json!({
            "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
            "history": [{"errors": [{"code": 2593109, "title": "History sync is turned off"}]}]
        });
        let h = parse_history_value(&v).unwrap();
        assert_eq!(h.chunks[0].errors[0].code, 2593109);
        assert!(
            parse_history_value(&json!({"metadata": {"phone_number_id": "2"}, "history": 5}))
                .is_err()
        );
        assert!(parse_echoes_value(&json!({"message_echoes": []})).is_err());
        let bad =
            json!({"metadata": {"phone_number_id": "2"}, "state_sync": [{"type": "contact"}]});
        assert!(parse_state_sync_value(&bad).is_err());
    }

    #[test]
    fn echoes_and_state_sync() {
        let v = json!({
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "2"},
            "message_echoes": [{"from": "15550783881", "to": "+1 650 555 1234", "id": "wamid.E",
                                "timestamp": "1700255121", "type": "text", "text": {"body": "Hallo"}}]
        });
        let e = parse_echoes_value(&v).unwrap();
        assert_eq!(e.echoes[0].to.as_deref(), Some("16505551234"));
        assert_eq!(e.echoes[0].message.content.preview(), "Hallo");
        let s = json!({
            "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
            "state_sync": [
                {"type": "contact", "contact": {"full_name": "Anna Schmidt", "first_name": "Anna",
                 "phone_number": "+4915112345678"}, "action": "add", "metadata": {"timestamp": "1739321024"}},
                {"type": "contact", "contact": {"phone_number": "4915100000000"}, "action": "remove",
                 "metadata": {"timestamp": 1739321025}}
            ]
        });
        let s = parse_state_sync_value(&s).unwrap();
        assert_eq!(s.items[0].full_name.as_deref(), Some("Anna Schmidt"));
        assert_eq!(s.items[0].phone_number.as_deref(), Some("4915112345678"));
        assert_eq!(s.items[0].timestamp, Some(1739321024));
        assert_eq!(s.items[1].action, "remove");
        assert_eq!(s.items[1].timestamp, Some(1739321025));
    }
}
