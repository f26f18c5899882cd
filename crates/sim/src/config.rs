//! Simulator configuration: the business numbers it hosts, the secrets it shares with the relay,
//! and the timings of status webhooks and webhook redelivery.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything a [`crate::Simulator`] needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where webhooks are POSTed (the relay's callback URL). May be empty and set later with
    /// [`crate::Simulator::set_webhook_url`]; deliveries attempted meanwhile are retried.
    pub webhook_url: String,
    /// The Meta app secret: key of `X-Hub-Signature-256`.
    pub app_secret: String,
    /// The bearer token the Graph side accepts (default `sim-access-token`).
    pub access_token: String,
    /// Business phone numbers hosted by this simulated account (never empty).
    pub phone_numbers: Vec<SimNumber>,
    /// Delays of the `sent` → `delivered` → `read` status webhooks after an accepted send.
    pub status_delays: StatusDelays,
    /// Webhook redelivery backoff: the wait before retry 1, 2, ... (Meta's "decreasing frequency
    /// for up to 7 days", compressed). The first attempt is immediate; after the last retry the
    /// delivery is dropped.
    pub retry_schedule: Vec<Duration>,
    /// How long one webhook POST may take before it counts as failed (and is retried).
    pub webhook_timeout: Duration,
    /// Which generation of Meta's webhook format to speak (default: 2026).
    pub format: WebhookFormat,
    /// Business accounts with credentials of their own (a token for the Graph calls about their
    /// numbers, the secret of their Meta app for their webhooks); the others use
    /// `access_token` and `app_secret`.
    pub accounts: Vec<SimAccount>,
}

/// A WhatsApp Business Account with its own access token and Meta app secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    pub waba_id: String,
    pub access_token: String,
    pub app_secret: String,
}

impl SimConfig {
    /// The token Graph calls about account `waba_id` must carry.
    pub fn token_of(&self, waba_id: &str) -> &str {
        self.accounts
            .iter()
            .find(|a| a.waba_id == waba_id)
            .map_or(self.access_token.as_str(), |a| a.access_token.as_str())
    }

    /// The secret webhooks of account `waba_id` are signed with.
    pub fn secret_of(&self, waba_id: &str) -> &str {
        self.accounts
            .iter()
            .find(|a| a.waba_id == waba_id)
            .map_or(self.app_secret.as_str(), |a| a.app_secret.as_str())
    }
}

/// Meta's webhook format generations the simulator can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// 2026: every customer carries a business-scoped user id (`contacts[].user_id`,
    /// `from_user_id`, statuses' `recipient_user_id` and `contacts[]`), whether or not one was
    /// given (derived from the phone number); customers with a username may hide their phone.
    #[default]
    Meta2026,
    /// Before April 2026: phone numbers only; a BSUID appears only for customers given one
    /// explicitly (for tests of the transition).
    Legacy,
}

impl SimConfig {
    /// Defaults with the given callback URL and app secret.
    pub fn new(webhook_url: impl Into<String>, app_secret: impl Into<String>) -> Self {
        SimConfig {
            webhook_url: webhook_url.into(),
            app_secret: app_secret.into(),
            ..SimConfig::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            webhook_url: String::new(),
            app_secret: "sim-app-secret".into(),
            access_token: "sim-access-token".into(),
            phone_numbers: vec![SimNumber::default()],
            status_delays: StatusDelays::default(),
            retry_schedule: vec![
                Duration::from_millis(200),
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(30),
            ],
            webhook_timeout: Duration::from_secs(5),
            format: WebhookFormat::default(),
            accounts: Vec::new(),
        }
    }
}

/// One business phone number of the simulated WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimNumber {
    /// The Graph id used in send URLs and `metadata.phone_number_id`.
    pub phone_number_id: String,
    /// Digits only, no `+` (`metadata.display_phone_number`).
    pub display_phone_number: String,
    /// The WABA id (`entry[].id`).
    pub waba_id: String,
}

impl SimNumber {
    pub fn new(
        phone_number_id: impl Into<String>,
        display_phone_number: impl Into<String>,
        waba_id: impl Into<String>,
    ) -> Self {
        SimNumber {
            phone_number_id: phone_number_id.into(),
            display_phone_number: display_phone_number.into(),
            waba_id: waba_id.into(),
        }
    }
}

impl Default for SimNumber {
    fn default() -> Self {
        SimNumber::new("200000000000002", "15550001111", "100000000000001")
    }
}

/// When each status webhook of an accepted send fires, counted from the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusDelays {
    pub sent: Duration,
    pub delivered: Duration,
    /// `None`: the customer has read receipts off, no `read` status is sent.
    pub read: Option<Duration>,
}

impl Default for StatusDelays {
    fn default() -> Self {
        StatusDelays {
            sent: Duration::from_millis(30),
            delivered: Duration::from_millis(60),
            read: Some(Duration::from_millis(120)),
        }
    }
}
