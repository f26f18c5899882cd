//! Mutable simulator state: known customers (phone, BSUID, name), the 24-hour windows per
//! (business number, customer), and the record of every send and mark-read the relay made.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Length of the customer-service window.
pub const SERVICE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// One accepted send, as `sent()` and `GET /control/sent` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub phone_number_id: String,
    /// The recipient exactly as the relay gave it (`to`, or the 2026 `recipient` BSUID).
    pub to: String,
    /// The full JSON body the relay POSTed.
    pub payload: Value,
    pub wamid: String,
    /// When the send was accepted (JSON: Unix milliseconds).
    #[serde(with = "unix_millis")]
    pub at: SystemTime,
}

/// One mark-read call (`{"status": "read", "message_id": ...}`), which is not a send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadReceipt {
    pub phone_number_id: String,
    pub message_id: String,
    /// Whether a typing indicator was asked for with it.
    pub typing_indicator: bool,
    #[serde(with = "unix_millis")]
    pub at: SystemTime,
}

/// A customer as WhatsApp knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerRecord {
    pub wa_id: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    /// 2026 usernames: the phone number is not shown to the business.
    pub hide_phone: bool,
    /// The WhatsApp username (2026), shown as `contacts[].profile.username`.
    pub username: Option<String>,
}

impl CustomerRecord {
    pub(crate) fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let tail = &self.wa_id[self.wa_id.len().saturating_sub(4)..];
            format!("Customer {tail}")
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct SimState {
    customers: HashMap<String, CustomerRecord>,
    by_bsuid: HashMap<String, String>,
    last_inbound: HashMap<(String, String), SystemTime>,
    pub sent: Vec<SentMessage>,
    pub reads: Vec<ReadReceipt>,
}

impl SimState {
    /// Records what is now known about a customer; `None` fields keep what was known.
    pub(crate) fn upsert_customer(
        &mut self,
        wa_id: &str,
        name: Option<&str>,
        user_id: Option<&str>,
        username: Option<&str>,
        hide_phone: bool,
    ) -> CustomerRecord {
        let rec = self
            .customers
            .entry(wa_id.to_string())
            .or_insert_with(|| CustomerRecord {
                wa_id: wa_id.to_string(),
                name: None,
                user_id: None,
                hide_phone: false,
                username: None,
            });
        if let Some(n) = name {
            rec.name = Some(n.to_string());
        }
        if let Some(u) = user_id {
            rec.user_id = Some(u.to_string());
        }
        if let Some(u) = username {
            rec.username = Some(u.to_string());
        }
        rec.hide_phone = hide_phone;
        let rec = rec.clone();
        if let Some(u) = &rec.user_id {
            self.by_bsuid.insert(u.clone(), rec.wa_id.clone());
        }
        rec
    }

    pub(crate) fn customer(&self, wa_id: &str) -> Option<&CustomerRecord> {
        self.customers.get(wa_id)
    }

    pub(crate) fn customer_by_bsuid(&self, user_id: &str) -> Option<&CustomerRecord> {
        self.by_bsuid
            .get(user_id)
            .and_then(|w| self.customers.get(w))
    }

    pub(crate) fn set_last_inbound(&mut self, phone_number_id: &str, wa_id: &str, at: SystemTime) {
        self.last_inbound
            .insert((phone_number_id.to_string(), wa_id.to_string()), at);
    }

    /// Whether the customer wrote to this number within the last 24 hours.
    pub(crate) fn window_open(&self, phone_number_id: &str, wa_id: &str, now: SystemTime) -> bool {
        match self
            .last_inbound
            .get(&(phone_number_id.to_string(), wa_id.to_string()))
        {
            None => false,
            Some(at) => now
                .duration_since(*at)
                .map_or(true, |age| age < SERVICE_WINDOW),
        }
    }
}

/// Unix seconds as Meta's webhooks carry them (a string).
pub(crate) fn unix_secs(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

pub(crate) mod unix_millis {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        s.serialize_u64(ms)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_per_number_and_expires() {
        let mut s = SimState::default();
        let now = SystemTime::now();
        assert!(!s.window_open("p1", "49", now));
        s.set_last_inbound("p1", "49", now - Duration::from_secs(3600));
        assert!(s.window_open("p1", "49", now));
        assert!(!s.window_open("p2", "49", now));
        s.set_last_inbound("p1", "49", now - SERVICE_WINDOW - Duration::from_secs(1));
        assert!(!s.window_open("p1", "49", now));
    }

    #[test]
    fn customers_are_found_by_bsuid() {
        let mut s = SimState::default();
        s.upsert_customer("49151", Some("Anna"), Some("DE.1"), Some("anna"), false);
        let again = s.upsert_customer("49151", None, None, None, true);
        assert_eq!(again.username.as_deref(), Some("anna"));
        assert_eq!(again.name.as_deref(), Some("Anna"));
        assert!(again.hide_phone);
        assert_eq!(s.customer_by_bsuid("DE.1").unwrap().wa_id, "49151");
        assert_eq!(s.customer("49151").unwrap().display_name(), "Anna");
    }
}
