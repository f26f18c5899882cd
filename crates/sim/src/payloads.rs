//! Builders for webhook bodies in Meta's 2026 shape: `object` → `entry[{id: WABA}]` →
//! `changes[{field: "messages", value}]`, with BSUID fields where the customer has one.

use serde_json::{json, Map, Value};

use crate::config::SimNumber;
use crate::state::CustomerRecord;

/// Wraps one `messages` change value in the notification envelope.
pub(crate) fn envelope(number: &SimNumber, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": number.waba_id,
            "changes": [{ "value": value, "field": "messages" }],
        }],
    })
}

fn metadata(number: &SimNumber) -> Value {
    json!({
        "display_phone_number": number.display_phone_number,
        "phone_number_id": number.phone_number_id,
    })
}

/// Who a webhook is about, as the business may see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Party {
    /// The phone number, unless the customer hides it.
    pub wa_id: Option<String>,
    /// BSUID, when the customer has one.
    pub user_id: Option<String>,
    pub name: Option<String>,
    /// The WhatsApp username, when the customer has one.
    pub username: Option<String>,
}

impl Party {
    pub(crate) fn of(rec: &CustomerRecord) -> Party {
        Party {
            wa_id: (!rec.hide_phone).then(|| rec.wa_id.clone()),
            user_id: rec.user_id.clone(),
            name: Some(rec.display_name()),
            username: rec.username.clone(),
        }
    }

    /// A `value.contacts[]` item.
    fn contact(&self) -> Value {
        let mut c = Map::new();
        let mut profile = Map::new();
        if let Some(n) = &self.name {
            profile.insert("name".into(), json!(n));
        }
        if let Some(u) = &self.username {
            profile.insert("username".into(), json!(u));
        }
        if !profile.is_empty() {
            c.insert("profile".into(), Value::Object(profile));
        }
        if let Some(w) = &self.wa_id {
            c.insert("wa_id".into(), json!(w));
        }
        if let Some(u) = &self.user_id {
            c.insert("user_id".into(), json!(u));
        }
        Value::Object(c)
    }
}

/// A customer message: `value` with `contacts` and one `messages[]` item of `type_name`.
pub(crate) fn inbound(
    number: &SimNumber,
    from: &Party,
    wamid: &str,
    timestamp: &str,
    type_name: &str,
    body: Value,
) -> Value {
    let mut m = Map::new();
    if let Some(w) = &from.wa_id {
        m.insert("from".into(), json!(w));
    }
    m.insert("id".into(), json!(wamid));
    m.insert("timestamp".into(), json!(timestamp));
    m.insert("type".into(), json!(type_name));
    m.insert(type_name.into(), body);
    if let Some(u) = &from.user_id {
        m.insert("from_user_id".into(), json!(u));
    }
    envelope(
        number,
        json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(number),
            "contacts": [from.contact()],
            "messages": [Value::Object(m)],
        }),
    )
}

/// One status update of an outbound message.
#[derive(Debug, Clone)]
pub(crate) struct StatusUpdate {
    pub wamid: String,
    /// `sent`, `delivered`, `read`, `played`, `failed`.
    pub status: &'static str,
    pub timestamp: String,
    pub recipient: Party,
    pub biz_opaque_callback_data: Option<String>,
    pub pricing: Option<Value>,
    pub errors: Vec<Value>,
}

/// A status webhook: `value.statuses[]` with `recipient_id`, `recipient_user_id`, and (2026) a
/// `contacts[]` array describing the recipient (omitted on `failed`, as Meta may).
pub(crate) fn status(number: &SimNumber, s: &StatusUpdate) -> Value {
    let mut st = Map::new();
    st.insert("id".into(), json!(s.wamid));
    st.insert("status".into(), json!(s.status));
    st.insert("timestamp".into(), json!(s.timestamp));
    let recipient_id = s.recipient.wa_id.as_ref().or(s.recipient.user_id.as_ref());
    if let Some(r) = recipient_id {
        st.insert("recipient_id".into(), json!(r));
    }
    if let Some(u) = &s.recipient.user_id {
        st.insert("recipient_user_id".into(), json!(u));
    }
    if let Some(b) = &s.biz_opaque_callback_data {
        st.insert("biz_opaque_callback_data".into(), json!(b));
    }
    if let Some(p) = &s.pricing {
        st.insert("pricing".into(), p.clone());
    }
    if !s.errors.is_empty() {
        st.insert("errors".into(), Value::Array(s.errors.clone()));
    }
    let mut value = Map::new();
    value.insert("messaging_product".into(), json!("whatsapp"));
    value.insert("metadata".into(), metadata(number));
    if s.status != "failed" {
        value.insert("contacts".into(), json!([s.recipient.contact()]));
    }
    value.insert("statuses".into(), json!([Value::Object(st)]));
    envelope(number, Value::Object(value))
}

/// `pricing` for a send: PMP; service and in-window utility messages are free.
pub(crate) fn pricing(template_category: Option<&str>, window_open: bool) -> Value {
    match template_category {
        None => json!({"billable": false, "pricing_model": "PMP",
                       "type": "free_customer_service", "category": "service"}),
        Some("utility") if window_open => json!({"billable": false, "pricing_model": "PMP",
                       "type": "free_customer_service", "category": "utility"}),
        Some(cat) => json!({"billable": true, "pricing_model": "PMP",
                       "type": "regular", "category": cat}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::webhook::{parse_notification, to_meta_json, Change};

    fn number() -> SimNumber {
        SimNumber::default()
    }

    #[test]
    fn inbound_text_parses_like_the_fixture() {
        let rec = CustomerRecord {
            wa_id: "15551234567".into(),
            name: Some("Test User".into()),
            user_id: Some("US.13491208655302741918".into()),
            hide_phone: false,
            username: None,
        };
        let v = inbound(
            &number(),
            &Party::of(&rec),
            "wamid.X",
            "1790000000",
            "text",
            json!({"body": "Grüße 👍"}),
        );
        let bytes = to_meta_json(&v);
        assert!(bytes.is_ascii());
        let n = parse_notification(&bytes).unwrap();
        assert_eq!(n.entries[0].id, "100000000000001");
        let Change::Messages(m) = &n.entries[0].changes[0] else {
            panic!("not messages")
        };
        assert_eq!(m.phone_number_id, "200000000000002");
        assert_eq!(
            m.contacts[0].user_id.as_deref(),
            Some("US.13491208655302741918")
        );
        assert_eq!(m.messages[0].from.as_deref(), Some("15551234567"));
        assert_eq!(m.messages[0].content.preview(), "Grüße 👍");
    }

    #[test]
    fn hidden_phone_has_no_wa_id() {
        let rec = CustomerRecord {
            wa_id: "15551234567".into(),
            name: None,
            user_id: Some("US.1".into()),
            hide_phone: true,
            username: Some("kim.b".into()),
        };
        let v = inbound(
            &number(),
            &Party::of(&rec),
            "wamid.X",
            "1",
            "text",
            json!({"body": "x"}),
        );
        let value = &v["entry"][0]["changes"][0]["value"];
        assert!(value["contacts"][0].get("wa_id").is_none());
        assert!(value["messages"][0].get("from").is_none());
        assert_eq!(value["messages"][0]["from_user_id"], "US.1");
        assert_eq!(value["contacts"][0]["profile"]["username"], "kim.b");
        let n = parse_notification(&to_meta_json(&v)).unwrap();
        let Change::Messages(m) = &n.entries[0].changes[0] else {
            panic!("not messages")
        };
        assert_eq!(m.contacts[0].username(), Some("kim.b"));
    }

    #[test]
    fn failed_status_has_errors_and_no_contacts() {
        let s = StatusUpdate {
            wamid: "wamid.Y".into(),
            status: "failed",
            timestamp: "5".into(),
            recipient: Party {
                wa_id: Some("1555".into()),
                ..Party::default()
            },
            biz_opaque_callback_data: Some("x".into()),
            pricing: None,
            errors: vec![crate::meta_error::webhook_error(131047, None)],
        };
        let v = status(&number(), &s);
        let value = &v["entry"][0]["changes"][0]["value"];
        assert!(value.get("contacts").is_none());
        assert_eq!(value["statuses"][0]["errors"][0]["code"], 131047);
        assert_eq!(value["statuses"][0]["biz_opaque_callback_data"], "x");
    }
}
