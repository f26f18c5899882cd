//! The outbound policy and automations as the relay's API exchanges them: send rates, refusals,
//! sensitive words, auto-reply rules, business hours, blocked messages and the send queue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{SendRequest, TemplateSend};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

// ---------------------------------------------------------------- send rates and the queue

/// Limits of one number.
/// Not `deny_unknown_fields`: clients read it from responses too; the relay refuses unknown
/// fields in every request body itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RateSettings {
    /// Sends per minute (20..=120 via the admin API; default 80).
    #[cfg_attr(feature = "openapi", schema(minimum = 20, maximum = 120))]
    pub per_minute: u32,
    /// Sends allowed at once before the rate applies.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 120))]
    pub burst: u32,
    /// Minimum spacing of messages to one customer, ms (Meta: 6000). 0 disables the pair limit.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 60000))]
    pub pair_interval_ms: i64,
    /// Messages to one customer allowed at once (1 = strict spacing; Meta allows up to 45).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 45))]
    pub pair_burst: u32,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            per_minute: 80,
            burst: 5,
            pair_interval_ms: 6000,
            pair_burst: 1,
        }
    }
}

impl RateSettings {
    /// What the admin API accepts.
    pub fn validate(&self) -> Result<(), String> {
        if !(20..=120).contains(&self.per_minute) {
            return Err(format!(
                "per_minute must be between 20 and 120 (got {})",
                self.per_minute
            ));
        }
        if !(1..=120).contains(&self.burst) {
            return Err("burst must be between 1 and 120".into());
        }
        if !(0..=60_000).contains(&self.pair_interval_ms) {
            return Err("pair_interval_ms must be between 0 and 60000".into());
        }
        if !(1..=45).contains(&self.pair_burst) {
            return Err("pair_burst must be between 1 and 45 (Meta's burst limit)".into());
        }
        Ok(())
    }
}

/// A number's state for /metrics and supervisors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NumberRate {
    pub phone_number_id: String,
    pub settings: RateSettings,
    /// The rate in force after adaptive backoff.
    pub effective_per_minute: f64,
    pub paused_until: Option<i64>,
    pub throttled_total: u64,
}

/// Queue depth per (number, priority) and the oldest enqueue time of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QueueStats {
    pub phone_number_id: String,
    pub priority: i64,
    pub depth: i64,
    pub oldest_enqueued_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QueueView {
    pub depth: i64,
    /// Per number and priority (2 agent reply, 1 automatic, 0 bulk).
    pub queues: Vec<QueueStats>,
    /// The oldest queued message's wait, ms.
    pub oldest_wait_ms: Option<i64>,
    /// The limiter's state per number.
    pub numbers: Vec<NumberRate>,
}

// ---------------------------------------------------------------- refusals and blocks

/// A template offered when the window is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    pub category: String,
    /// Body parameters a send must carry.
    pub parameters: usize,
    /// Header parameters a send must carry (`header_parameters`).
    pub header_parameters: usize,
}

/// Why a send was refused: the 422 body (`code` and `message` like every error, plus details).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Refusal {
    /// `sensitive_word`, `window_closed` or `template_invalid`.
    pub code: String,
    pub message: String,
    /// The sensitive-word entry that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<String>,
    /// The language list the entry is on; absent for the list for every language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_language: Option<String>,
    /// Approved templates that may be sent instead (window closed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateRef>,
    /// When the 24-hour window closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_closed_at: Option<i64>,
    /// The recorded block: a supervisor may allow this message with
    /// `POST /api/v1/policy/blocks/{block_id}/allow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_id: Option<i64>,
}

/// A refused outbound message, for supervisors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Block {
    pub id: i64,
    pub conversation_id: i64,
    /// The agent who wrote it; `null` for automatic replies.
    pub user_id: Option<i64>,
    pub origin: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request: serde_json::Value,
    pub code: String,
    pub matched: String,
    pub created_at: i64,
    pub allowed_by: Option<i64>,
    pub allowed_at: Option<i64>,
    /// The message queued when a supervisor allowed it.
    pub message_id: Option<i64>,
    /// Who rejected it instead (it is then never sent), and when.
    #[serde(default)]
    pub rejected_by: Option<i64>,
    #[serde(default)]
    pub rejected_at: Option<i64>,
}

// ---------------------------------------------------------------- sensitive words

/// The outgoing sensitive-word lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SensitiveWords {
    /// The list for every language: words and phrases, matched case-, accent- and
    /// Unicode-insensitively, also with separators or invisible characters between the letters,
    /// on word boundaries. `PUT` replaces it.
    pub entries: Vec<String>,
    /// Further lists per customer language, keyed by lower-case ISO 639 code (`de`, `en`; regions
    /// are not told apart). A message to a customer is checked against `entries` and the list
    /// of the customer's language (told from their number and latest message, as routing does).
    /// On `PUT`: when present, replaces every per-language list (a language left out, or with an
    /// empty list, has none afterwards); when absent, the per-language lists stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<BTreeMap<String, Vec<String>>>,
}

/// `POST /api/v1/admin/sensitive-words/check`: would this message pass the filter?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WordCheck {
    /// The message, up to 4,096 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub text: String,
    /// The customer's language (ISO 639, lower case), for its own list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The filter's verdict on a sample message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WordVerdict {
    pub blocked: bool,
    /// The entry found, as the list holds it.
    pub matched: Option<String>,
    /// The language list it is on (`null`: the list for every language).
    pub language: Option<String>,
}

// ---------------------------------------------------------------- auto-reply rules

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum MatchMode {
    /// Any of the keywords appears.
    Any,
    /// All of the keywords appear.
    All,
    /// The whole message is one of the keywords (after normalisation).
    Exact,
    /// The keyword list holds one regular expression, matched against the normalised message.
    Regex,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Any => "any",
            MatchMode::All => "all",
            MatchMode::Exact => "exact",
            MatchMode::Regex => "regex",
        }
    }
}

/// What an auto-reply sends: exactly one of text, template, image or document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReplyContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateSend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<MediaReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<MediaReply>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MediaReply {
    pub link: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl ReplyContent {
    /// The send request, or why this is not a valid reply.
    pub fn validated(&self) -> Result<SendRequest, String> {
        let n = [
            self.text.is_some(),
            self.template.is_some(),
            self.image.is_some(),
            self.document.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if n != 1 {
            return Err("reply needs exactly one of text, template, image or document".into());
        }
        let req = self.to_send_request();
        req.validate()?;
        Ok(req)
    }

    pub fn to_send_request(&self) -> SendRequest {
        if let Some(t) = &self.template {
            SendRequest::Template {
                template: t.clone(),
                reply_to: None,
            }
        } else if let Some(m) = &self.image {
            SendRequest::Image {
                link: m.link.clone(),
                media_id: None,
                caption: m.caption.clone(),
                reply_to: None,
            }
        } else if let Some(m) = &self.document {
            SendRequest::Document {
                link: m.link.clone(),
                media_id: None,
                filename: m.filename.clone(),
                caption: m.caption.clone(),
                reply_to: None,
            }
        } else {
            SendRequest::Text {
                text: self.text.clone().unwrap_or_default(),
                preview_url: false,
                reply_to: None,
            }
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_cooldown() -> i64 {
    3600
}

/// Body of `POST /api/v1/admin/auto-replies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewAutoReply {
    pub phone_number_id: String,
    /// A label for lists and error messages.
    #[serde(default)]
    pub name: String,
    /// Keywords or phrases (`any`, `all`, `exact`), or one regular expression (`regex`).
    pub keywords: Vec<String>,
    #[serde(rename = "match")]
    pub match_mode: MatchMode,
    /// Keywords match whole words only (default); false also matches inside words.
    #[serde(default = "default_true")]
    pub whole_word: bool,
    pub reply: ReplyContent,
    /// Higher wins when several rules match (default 0).
    #[serde(default)]
    pub priority: i64,
    /// The rule answers one customer at most once in this many seconds (default 3600).
    #[serde(default = "default_cooldown")]
    pub cooldown_seconds: i64,
    /// Whether the conversation still goes to an agent afterwards (default true); false resolves
    /// it.
    #[serde(default = "default_true")]
    pub handoff: bool,
    /// A paused rule answers nobody until resumed (default false).
    #[serde(default)]
    pub paused: bool,
}

/// `POST /api/v1/admin/auto-replies/test`: which rule would answer this message?
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AutoReplyTest {
    pub phone_number_id: String,
    /// The customer's message, up to 4,096 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub text: String,
}

/// A rule a sample message matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuleHit {
    pub id: i64,
    pub name: String,
}

/// The answer to a sample message: every active rule it matches (best first) and the reply the
/// best one sends (a customer answered by that rule within its cooldown would get the next).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AutoReplyVerdict {
    pub matched: Vec<RuleHit>,
    pub reply: Option<ReplyContent>,
    /// Whether the conversation still goes to an agent after that reply.
    pub handoff: Option<bool>,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AutoReply {
    pub id: i64,
    #[serde(flatten)]
    pub rule: NewAutoReply,
    pub created_by: String,
    pub created_at: i64,
    /// Who changed it last, and when (absent until it is first edited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

// ---------------------------------------------------------------- business hours

/// `["09:00", "17:00"]`: open from, closed at (local, `to` after `from`; `24:00` allowed for `to`).
pub type Interval = [String; 2];

/// Settings of one number, as stored and exchanged on the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BusinessHours {
    /// IANA zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Opening intervals per weekday: keys `mon` .. `sun`; a missing day is closed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = weekly_schema))]
    pub weekly: std::collections::BTreeMap<String, Vec<Interval>>,
    /// Dates (`YYYY-MM-DD`, local) closed all day (holidays).
    #[serde(default)]
    pub closed_dates: Vec<String>,
    /// Dates with hours other than the weekly ones.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// Away message templates by language (`de`, `en`, ...); `{next_open}` becomes e.g.
    /// `morgen ab 9:00 Uhr`. Defaults are used for missing languages.
    #[serde(default)]
    pub away_message: std::collections::BTreeMap<String, String>,
    /// An away message goes out at most once per conversation in this many minutes.
    #[serde(default = "default_period")]
    pub away_period_minutes: i64,
    /// Language when the customer's cannot be told (`de` or `en`).
    #[serde(default = "default_language")]
    pub default_language: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Exception {
    pub date: String,
    /// Opening intervals that day (`[["09:00", "12:00"]]`); empty = closed.
    #[cfg_attr(feature = "openapi", schema(schema_with = intervals_schema))]
    pub open: Vec<Interval>,
}

/// `[["09:00", "12:00"], ...]`: each interval a pair of `HH:MM` times.
#[cfg(feature = "openapi")]
fn intervals_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let time = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[0-9]{2}:[0-9]{2}$"))
        .build();
    let pair = ArrayBuilder::new()
        .items(time)
        .min_items(Some(2))
        .max_items(Some(2))
        .build();
    ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Array(
            pair,
        )))
        .build()
}

/// Weekday (`mon` .. `sun`) to its opening intervals.
#[cfg(feature = "openapi")]
fn weekly_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(intervals_schema().into())))
        .build()
}

fn default_period() -> i64 {
    12 * 60
}
fn default_language() -> String {
    "de".into()
}
fn yes() -> bool {
    true
}

// ---------------------------------------------------------------- templates

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SyncResult {
    pub waba_id: String,
    pub templates: Option<usize>,
    pub error: Option<String>,
}
