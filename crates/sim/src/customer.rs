//! Customers: the people on the other side, writing to the business. [`Customer`] is the
//! domain-speaking helper for tests; `Simulator::customer_writes` is what every entry point
//! (helper, control API, generator) uses to turn "the customer says X" into a signed webhook.

use std::time::SystemTime;

use bytes::Bytes;
use rand::Rng;
use serde_json::json;

use crate::config::WebhookFormat;
use crate::error::SimError;
use crate::ids::{derived_bsuid, Direction};
use crate::media::{generate_png, MediaItem};
use crate::payloads::{self, Party};
use crate::sim::Simulator;
use crate::state::unix_secs;
use crate::stats::bump;
use crate::webhooks::Webhook;

/// A simulated WhatsApp user. Built with [`Simulator::customer`], configured with the builder
/// methods, then made to write with [`Customer::says`] / [`Customer::sends_image`].
#[derive(Debug, Clone)]
pub struct Customer {
    sim: Simulator,
    wa_id: String,
    phone_number_id: Option<String>,
    name: Option<String>,
    user_id: Option<String>,
    username: Option<String>,
    hide_phone: bool,
}

/// What a customer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InboundContent {
    Text(String),
    Image {
        caption: Option<String>,
    },
    /// The customer edits an earlier message of theirs (a text) to `text`.
    Edit {
        original: String,
        text: String,
    },
    /// The customer deletes an earlier message of theirs for everyone.
    Revoke {
        original: String,
    },
}

/// A customer message to deliver.
#[derive(Debug, Clone)]
pub(crate) struct InboundSpec {
    pub wa_id: String,
    pub phone_number_id: Option<String>,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub hide_phone: bool,
    pub content: InboundContent,
}

/// What a delivered customer message got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inbound {
    pub wamid: String,
    pub media_id: Option<String>,
}

impl Customer {
    pub(crate) fn new(sim: Simulator, wa_id: &str) -> Self {
        Customer {
            sim,
            wa_id: wa_id.to_string(),
            phone_number_id: None,
            name: None,
            user_id: None,
            username: None,
            hide_phone: false,
        }
    }

    /// Writes to this business number instead of the first one.
    pub fn on(mut self, phone_number_id: impl Into<String>) -> Self {
        self.phone_number_id = Some(phone_number_id.into());
        self
    }

    /// The WhatsApp profile name (`contacts[].profile.name`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The customer's business-scoped user id (2026: `user_id`, `from_user_id`,
    /// `recipient_user_id`).
    pub fn with_bsuid(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// 2026 usernames: webhooks carry no `wa_id`/`from`, only the BSUID (derived from the phone
    /// number if none was given).
    pub fn hide_phone(mut self) -> Self {
        self.hide_phone = true;
        self
    }

    /// The customer adopted a WhatsApp username (`contacts[].profile.username`) and hides the
    /// phone number behind it.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.hide_phone = true;
        self
    }

    pub fn wa_id(&self) -> &str {
        &self.wa_id
    }

    /// The BSUID webhooks will carry, if any.
    pub fn bsuid(&self) -> Option<String> {
        self.user_id
            .clone()
            .or_else(|| {
                let state = self.sim.inner.state.lock().expect("state lock");
                state.customer(&self.wa_id).and_then(|c| c.user_id.clone())
            })
            .or_else(|| {
                (self.hide_phone || self.sim.inner.config.format == WebhookFormat::Meta2026)
                    .then(|| derived_bsuid(&self.wa_id))
            })
    }

    fn spec(&self, content: InboundContent) -> InboundSpec {
        InboundSpec {
            wa_id: self.wa_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
            name: self.name.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            hide_phone: self.hide_phone,
            content,
        }
    }

    /// The customer writes `text`; returns the inbound wamid once the webhook is queued. Opens
    /// (or renews) the 24-hour window.
    pub async fn says(&self, text: &str) -> Result<String, SimError> {
        self.sim
            .customer_writes(self.spec(InboundContent::Text(text.to_string())))
            .map(|i| i.wamid)
    }

    /// The customer sends a picture (a generated PNG; empty caption = none); returns the wamid.
    /// The media id in the webhook resolves through `GET /{version}/{media_id}`.
    pub async fn sends_image(&self, caption: &str) -> Result<String, SimError> {
        let caption = (!caption.is_empty()).then(|| caption.to_string());
        self.sim
            .customer_writes(self.spec(InboundContent::Image { caption }))
            .map(|i| i.wamid)
    }

    /// Pretends the customer last wrote at `at` (e.g. 25 hours ago to close the window).
    pub fn set_last_inbound(&self, at: SystemTime) {
        let pnid = self
            .phone_number_id
            .clone()
            .unwrap_or_else(|| self.sim.default_number().phone_number_id.clone());
        self.sim
            .inner
            .state
            .lock()
            .expect("state lock")
            .set_last_inbound(&pnid, &self.wa_id, at);
    }
}

impl Simulator {
    /// A customer writes: records them, opens the window and queues the signed webhook.
    pub(crate) fn customer_writes(&self, spec: InboundSpec) -> Result<Inbound, SimError> {
        if self.is_shut_down() {
            return Err(SimError::ShutDown);
        }
        if spec.wa_id.is_empty() || !spec.wa_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::InvalidWaId(spec.wa_id));
        }
        let number = self.number_or_default(spec.phone_number_id.as_deref())?;
        let now = SystemTime::now();
        let record = {
            let mut state = self.inner.state.lock().expect("state lock");
            let known_bsuid = state.customer(&spec.wa_id).and_then(|c| c.user_id.clone());
            // 2026: every customer carries a BSUID; before, only one who hides the number.
            let derive = spec.hide_phone || self.inner.config.format == WebhookFormat::Meta2026;
            let bsuid = spec
                .user_id
                .clone()
                .or(known_bsuid)
                .or_else(|| derive.then(|| derived_bsuid(&spec.wa_id)));
            let rec = state.upsert_customer(
                &spec.wa_id,
                spec.name.as_deref(),
                bsuid.as_deref(),
                spec.username.as_deref(),
                spec.hide_phone || spec.username.is_some(),
            );
            state.set_last_inbound(&number.phone_number_id, &spec.wa_id, now);
            rec
        };
        let wamid = self.inner.ids.wamid(&spec.wa_id, Direction::Inbound);
        let (type_name, body, media_id) = match spec.content {
            InboundContent::Text(text) => ("text", json!({ "body": text }), None),
            InboundContent::Edit { original, text } => (
                "edit",
                json!({"original_message_id": original, "message": {"type": "text", "text": {"body": text}}}),
                None,
            ),
            InboundContent::Revoke { original } => {
                ("revoke", json!({ "original_message_id": original }), None)
            }
            InboundContent::Image { caption } => {
                let id = self.inner.ids.digits();
                let png = generate_png(rand::thread_rng().gen());
                let item = MediaItem::new(
                    id.clone(),
                    Bytes::from(png),
                    "image/png",
                    &number.phone_number_id,
                );
                let url = self.media_url(&id);
                let mut body = json!({
                    "mime_type": item.mime_type,
                    "sha256": item.sha256,
                    "id": id,
                    "url": url,
                });
                if let Some(c) = caption {
                    body["caption"] = json!(c);
                }
                self.inner.media.lock().expect("media lock").insert(item);
                ("image", body, Some(id))
            }
        };
        let hook = payloads::inbound(
            &number,
            &Party::of(&record),
            &wamid,
            &unix_secs(now),
            type_name,
            body,
        );
        let lane = crate::webhooks::lane(&number.phone_number_id, &record.wa_id);
        let mut customers = vec![record.wa_id.clone()];
        customers.extend(record.user_id.clone());
        bump(&self.inner.counters.customer_messages);
        self.inner.webhooks.deliver(
            Webhook {
                body: hook,
                phone_number_id: Some(number.phone_number_id.clone()),
                customers,
                lane,
            },
            None,
        );
        tracing::debug!(wa_id = %record.wa_id, %wamid, "customer message queued");
        Ok(Inbound { wamid, media_id })
    }
}
