//! Coexistence: the business also uses the WhatsApp Business app on its phone. The simulator
//! produces what Meta sends then: `smb_message_echoes` for what the business writes from the
//! phone (followed by the usual status ladder), `history` chunks of the chat history shared at
//! onboarding (or the refusal to share, error 2593109), and `smb_app_state_sync` when the phone
//! app's contact list changes. Bodies follow Meta's webhook references (see the relay's
//! `protocol::coexistence`).

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::SimNumber;
use crate::error::SimError;
use crate::ids::Direction;
use crate::payloads::Party;
use crate::sim::Simulator;
use crate::state::unix_secs;
use crate::statuses::{Ladder, Outcome};
use crate::webhooks::{lane, Webhook};

/// What the business writes from the phone app.
#[derive(Debug, Clone, Deserialize)]
pub struct PhoneAppMessage {
    /// The customer's phone number (digits).
    pub to: String,
    /// `text` (default), `audio` (a voice note; played after it is read), `edit` or `revoke`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub text: Option<String>,
    /// For `edit` / `revoke`: the wamid of the phone app's earlier message.
    pub original: Option<String>,
}

/// One message of a shared history.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryItem {
    /// True when the business wrote it (from the phone app, before onboarding).
    #[serde(default)]
    pub from_business: bool,
    pub text: String,
    /// How long before now it was written.
    pub secs_ago: u64,
    /// `history_context.status` of a business message (default `READ`).
    pub status: Option<String>,
}

/// A history chunk with one customer.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryChunk {
    /// The customer's phone number (digits).
    pub wa_id: String,
    pub messages: Vec<HistoryItem>,
    #[serde(default)]
    pub phase: i64,
    #[serde(default = "one")]
    pub chunk_order: i64,
    #[serde(default = "hundred")]
    pub progress: i64,
}

fn one() -> i64 {
    1
}
fn hundred() -> i64 {
    100
}

fn envelope(number: &SimNumber, field: &str, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"value": value, "field": field}]}],
    })
}

fn metadata(number: &SimNumber) -> Value {
    json!({
        "display_phone_number": number.display_phone_number,
        "phone_number_id": number.phone_number_id,
    })
}

impl Simulator {
    fn party(&self, wa_id: &str) -> Party {
        let state = self.inner.state.lock().expect("state lock");
        let mut p = state.customer(wa_id).map(Party::of).unwrap_or_default();
        if p.wa_id.is_none() && !state.customer(wa_id).is_some_and(|c| c.hide_phone) {
            p.wa_id = Some(wa_id.to_string());
        }
        if p.user_id.is_none() && self.inner.config.format == crate::WebhookFormat::Meta2026 {
            p.user_id = Some(crate::ids::derived_bsuid(wa_id));
        }
        p
    }

    /// The business writes from the WhatsApp Business app: an `smb_message_echoes` webhook
    /// (then `sent` → `delivered` → `read` statuses for a text). Returns the echo's wamid.
    pub fn phone_app_sends(
        &self,
        phone_number_id: Option<&str>,
        msg: &PhoneAppMessage,
    ) -> Result<String, SimError> {
        if self.is_shut_down() {
            return Err(SimError::ShutDown);
        }
        if msg.to.is_empty() || !msg.to.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::InvalidWaId(msg.to.clone()));
        }
        let number = self.number_or_default(phone_number_id)?;
        let party = self.party(&msg.to);
        let wamid = self.inner.ids.wamid(&msg.to, Direction::Outbound);
        let kind = msg.kind.as_deref().unwrap_or("text");
        let text = msg.text.clone().filter(|t| !t.is_empty());
        let original = msg.original.clone().filter(|o| !o.is_empty());
        let body = match (kind, text, original) {
            ("text", Some(t), _) => json!({ "body": t }),
            ("edit", Some(t), Some(o)) => json!({
                "original_message_id": o,
                "message": {"type": "text", "text": {"body": t}},
            }),
            ("revoke", _, Some(o)) => json!({ "original_message_id": o }),
            ("audio", _, _) => {
                // A short voice note (an Ogg page header and silence), fetchable by its id.
                let id = self.inner.ids.digits();
                let bytes: Vec<u8> = [&b"OggS"[..], &[0u8; 60][..]].concat();
                let item = crate::media::MediaItem::new(
                    id.clone(),
                    bytes::Bytes::from(bytes),
                    "audio/ogg",
                    &number.phone_number_id,
                );
                let body = json!({"id": id, "mime_type": "audio/ogg; codecs=opus", "sha256": item.sha256, "voice": true});
                self.inner.media.lock().expect("media lock").insert(item);
                body
            }
            _ => {
                return Err(SimError::InvalidRequest(
                    "a phone app message is {type: text, text}, {type: audio}, {type: edit, original, text} or {type: revoke, original}".into(),
                ))
            }
        };
        let mut echo = Map::new();
        echo.insert("from".into(), json!(number.display_phone_number));
        echo.insert("to".into(), json!(party.wa_id.clone().unwrap_or_default()));
        if let Some(u) = &party.user_id {
            echo.insert("to_user_id".into(), json!(u));
        }
        echo.insert("id".into(), json!(wamid));
        echo.insert("timestamp".into(), json!(unix_secs(SystemTime::now())));
        echo.insert("type".into(), json!(kind));
        echo.insert(kind.into(), body);
        let mut value = Map::new();
        value.insert("messaging_product".into(), json!("whatsapp"));
        value.insert("metadata".into(), metadata(&number));
        if party.user_id.is_some() {
            value.insert("contacts".into(), json!([party_contact(&party)]));
        }
        value.insert("message_echoes".into(), json!([Value::Object(echo)]));
        let mut customers = vec![msg.to.clone()];
        customers.extend(party.user_id.clone());
        self.inner.webhooks.deliver(
            Webhook {
                body: envelope(&number, "smb_message_echoes", Value::Object(value)),
                phone_number_id: Some(number.phone_number_id.clone()),
                customers: customers.clone(),
                lane: lane(&number.phone_number_id, &msg.to),
            },
            None,
        );
        if kind == "text" || kind == "audio" {
            self.schedule_statuses(Ladder {
                number: number.clone(),
                wamid: wamid.clone(),
                recipient: party,
                customers,
                lane: lane(&number.phone_number_id, &msg.to),
                biz_opaque_callback_data: None,
                pricing: crate::payloads::pricing(None, true),
                outcome: Outcome::Delivered {
                    reaction: false,
                    audio: kind == "audio",
                },
            });
        }
        Ok(wamid)
    }

    /// The business shares its chat history with one customer: a `history` webhook chunk.
    /// Returns the wamids of its messages, in order.
    pub fn share_history(
        &self,
        phone_number_id: Option<&str>,
        chunk: &HistoryChunk,
    ) -> Result<Vec<String>, SimError> {
        if chunk.wa_id.is_empty() || !chunk.wa_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::InvalidWaId(chunk.wa_id.clone()));
        }
        let number = self.number_or_default(phone_number_id)?;
        let party = self.party(&chunk.wa_id);
        let now = SystemTime::now();
        let mut ids = Vec::new();
        let messages: Vec<Value> = chunk
            .messages
            .iter()
            .map(|m| {
                let dir = if m.from_business {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                let id = self.inner.ids.wamid(&chunk.wa_id, dir);
                ids.push(id.clone());
                let from = if m.from_business {
                    number.display_phone_number.clone()
                } else {
                    party.wa_id.clone().unwrap_or_default()
                };
                let mut item = json!({
                    "from": from,
                    "id": id,
                    "timestamp": unix_secs(now.checked_sub(Duration::from_secs(m.secs_ago)).unwrap_or(SystemTime::UNIX_EPOCH)),
                    "type": "text",
                    "text": {"body": m.text},
                });
                if m.from_business {
                    item["history_context"] =
                        json!({"status": m.status.clone().unwrap_or_else(|| "READ".into())});
                } else if let Some(u) = &party.user_id {
                    item["from_user_id"] = json!(u);
                }
                item
            })
            .collect();
        let mut context = Map::new();
        if let Some(w) = &party.wa_id {
            context.insert("wa_id".into(), json!(w));
        }
        if let Some(u) = &party.user_id {
            context.insert("user_id".into(), json!(u));
        }
        if let Some(u) = &party.username {
            context.insert("username".into(), json!(u));
        }
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&number),
            "history": [{
                "metadata": {"phase": chunk.phase, "chunk_order": chunk.chunk_order, "progress": chunk.progress},
                "threads": [{
                    "id": party.wa_id.clone().unwrap_or_default(),
                    "context": Value::Object(context),
                    "messages": messages,
                }],
            }],
        });
        self.inner
            .webhooks
            .deliver(Webhook::raw(envelope(&number, "history", value)), None);
        Ok(ids)
    }

    /// The business declines to share its chat history (error 2593109).
    pub fn decline_history(&self, phone_number_id: Option<&str>) -> Result<(), SimError> {
        let number = self.number_or_default(phone_number_id)?;
        let text = "History sync is turned off by the business from the WhatsApp Business App";
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&number),
            "history": [{"errors": [{
                "code": 2593109, "title": text, "message": text,
                "error_data": {"details": "History sharing is turned off by the business"},
            }]}],
        });
        self.inner
            .webhooks
            .deliver(Webhook::raw(envelope(&number, "history", value)), None);
        Ok(())
    }

    /// The phone app's contact list changed: `action` `add` (also an edit) or `remove`.
    pub fn phone_app_contact(
        &self,
        phone_number_id: Option<&str>,
        action: &str,
        phone_number: &str,
        full_name: Option<&str>,
    ) -> Result<(), SimError> {
        if !matches!(action, "add" | "remove") {
            return Err(SimError::InvalidRequest(format!(
                "action must be \"add\" or \"remove\", got {action:?}"
            )));
        }
        if phone_number.is_empty() || !phone_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::InvalidWaId(phone_number.to_string()));
        }
        let number = self.number_or_default(phone_number_id)?;
        let mut contact = json!({ "phone_number": format!("+{phone_number}") });
        if let (Some(n), "add") = (full_name, action) {
            contact["full_name"] = json!(n);
            contact["first_name"] = json!(n.split(' ').next().unwrap_or(n));
        }
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&number),
            "state_sync": [{
                "type": "contact",
                "contact": contact,
                "action": action,
                "metadata": {"timestamp": unix_secs(SystemTime::now())},
            }],
        });
        self.inner.webhooks.deliver(
            Webhook::raw(envelope(&number, "smb_app_state_sync", value)),
            None,
        );
        Ok(())
    }
}

fn party_contact(p: &Party) -> Value {
    let mut c = Map::new();
    if let Some(w) = &p.wa_id {
        c.insert("wa_id".into(), json!(w));
    }
    if let Some(u) = &p.user_id {
        c.insert("user_id".into(), json!(u));
    }
    if let Some(u) = &p.username {
        c.insert("profile".into(), json!({ "username": u }));
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::webhook::{parse_notification, to_meta_json, Change};

    #[tokio::test]
    async fn bodies_parse_as_the_relay_reads_them() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(crate::SimConfig::default(), listener)
            .await
            .unwrap();
        let number = sim.default_number().clone();
        let p = sim.party("4915112345678");
        assert!(p.user_id.is_some(), "2026: every customer has a BSUID");
        let value = json!({"metadata": metadata(&number), "state_sync": []});
        let n = parse_notification(&to_meta_json(&envelope(
            &number,
            "smb_app_state_sync",
            value,
        )))
        .unwrap();
        assert!(matches!(n.entries[0].changes[0], Change::StateSync(_)));
        let err = sim
            .phone_app_sends(
                None,
                &PhoneAppMessage {
                    to: "49151".into(),
                    kind: Some("edit".into()),
                    text: Some("x".into()),
                    original: None,
                },
            )
            .unwrap_err();
        assert!(matches!(err, SimError::InvalidRequest(_)));
        sim.shutdown();
    }
}
