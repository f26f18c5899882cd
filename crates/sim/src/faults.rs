//! Fault injection: rules that make the next N matching calls (or all of them) misbehave the way
//! Meta does on a bad day. Graph-side kinds act on sends (`POST .../messages` with a `type`; not
//! mark-read, not media); webhook-side kinds act on deliveries and status ladders.
//!
//! JSON form (`POST /control/faults`), e.g.
//! `{"kind": {"type": "rate_limit", "code": 130429}, "count": 1, "to": "4915112345678"}`,
//! `{"kind": {"type": "slow", "ms": 1500}}`, `{"kind": {"type": "duplicate_webhooks"}}`.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One rule: what happens, to how many calls, and to which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// Apply to the next N matching calls; `None` = every matching call until cleared.
    #[serde(default)]
    pub count: Option<u32>,
    /// Only calls for this business number.
    #[serde(default)]
    pub phone_number_id: Option<String>,
    /// Only calls to (or webhooks about) this customer: a phone number (any formatting) or BSUID.
    #[serde(default)]
    pub to: Option<String>,
}

impl FaultRule {
    /// A rule for every matching call.
    pub fn always(kind: FaultKind) -> Self {
        FaultRule {
            kind,
            count: None,
            phone_number_id: None,
            to: None,
        }
    }

    /// A rule for the next `n` matching calls.
    pub fn times(kind: FaultKind, n: u32) -> Self {
        FaultRule {
            count: Some(n),
            ..FaultRule::always(kind)
        }
    }

    pub fn for_number(mut self, phone_number_id: &str) -> Self {
        self.phone_number_id = Some(phone_number_id.into());
        self
    }

    pub fn to(mut self, customer: &str) -> Self {
        self.to = Some(customer.into());
        self
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FaultKindWire", from = "FaultKindWire")]
pub enum FaultKind {
    /// Throttling with Meta's envelope: 130429 (HTTP 429, subcode 2494055, `Retry-After`),
    /// 131056 pair rate (HTTP 400), 80007 / 4 (HTTP 429, `X-Business-Use-Case-Usage`).
    RateLimit { code: i64 },
    /// A server-side failure: 131000 / 1 (HTTP 500) or 2 / 133004 (HTTP 503).
    ServerError { code: i64 },
    /// Answer normally, but only after this long.
    Slow(Duration),
    /// Never answer (until the client gives up or the simulator shuts down).
    Hang,
    /// A synchronous refusal with this code (e.g. 100, 131026, 131048, 368) at Meta's HTTP status.
    TerminalError { code: i64 },
    /// Accept (200 + wamid), then report `failed` with this code in a status webhook, as Meta
    /// does for 131026, 131049, 131050, 130472, 131053...
    AsyncFailure { code: i64 },
    /// Webhook side: deliver every matching webhook twice.
    DuplicateWebhooks,
    /// Webhook side: emit the status ladder of matching sends in reverse (read, delivered, sent).
    ReorderStatuses,
    /// Media side: a download of a media file (from the URL `GET /{media_id}` gave) answers
    /// HTTP 500, as WhatsApp's media hosts sometimes do.
    MediaUnavailable,
}

impl FaultKind {
    /// Whether the kind acts on Graph calls (as opposed to webhooks).
    pub fn is_graph(&self) -> bool {
        !matches!(
            self,
            FaultKind::DuplicateWebhooks | FaultKind::ReorderStatuses | FaultKind::MediaUnavailable
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FaultKindWire {
    RateLimit {
        #[serde(default = "default_rate_code")]
        code: i64,
    },
    ServerError {
        #[serde(default = "default_server_code")]
        code: i64,
    },
    Slow {
        ms: u64,
    },
    Hang,
    TerminalError {
        code: i64,
    },
    AsyncFailure {
        code: i64,
    },
    DuplicateWebhooks,
    ReorderStatuses,
    MediaUnavailable,
}

fn default_rate_code() -> i64 {
    130429
}
fn default_server_code() -> i64 {
    131000
}

impl From<FaultKind> for FaultKindWire {
    fn from(k: FaultKind) -> Self {
        match k {
            FaultKind::RateLimit { code } => FaultKindWire::RateLimit { code },
            FaultKind::ServerError { code } => FaultKindWire::ServerError { code },
            FaultKind::Slow(d) => FaultKindWire::Slow {
                ms: d.as_millis().min(u128::from(u64::MAX)) as u64,
            },
            FaultKind::Hang => FaultKindWire::Hang,
            FaultKind::TerminalError { code } => FaultKindWire::TerminalError { code },
            FaultKind::AsyncFailure { code } => FaultKindWire::AsyncFailure { code },
            FaultKind::DuplicateWebhooks => FaultKindWire::DuplicateWebhooks,
            FaultKind::ReorderStatuses => FaultKindWire::ReorderStatuses,
            FaultKind::MediaUnavailable => FaultKindWire::MediaUnavailable,
        }
    }
}

impl From<FaultKindWire> for FaultKind {
    fn from(k: FaultKindWire) -> Self {
        match k {
            FaultKindWire::RateLimit { code } => FaultKind::RateLimit { code },
            FaultKindWire::ServerError { code } => FaultKind::ServerError { code },
            FaultKindWire::Slow { ms } => FaultKind::Slow(Duration::from_millis(ms)),
            FaultKindWire::Hang => FaultKind::Hang,
            FaultKindWire::TerminalError { code } => FaultKind::TerminalError { code },
            FaultKindWire::AsyncFailure { code } => FaultKind::AsyncFailure { code },
            FaultKindWire::DuplicateWebhooks => FaultKind::DuplicateWebhooks,
            FaultKindWire::ReorderStatuses => FaultKind::ReorderStatuses,
            FaultKindWire::MediaUnavailable => FaultKind::MediaUnavailable,
        }
    }
}

/// Which side a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A send on the Graph API.
    Graph,
    /// A webhook about to be delivered.
    Duplicate,
    /// A status ladder about to be scheduled.
    Reorder,
    /// A media file about to be downloaded.
    Media,
}

/// The active rules, in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    rules: Mutex<Vec<FaultRule>>,
}

/// Digits of a phone number, or the string itself for a BSUID.
pub(crate) fn normalise_recipient(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if s.chars().any(|c| c.is_ascii_alphabetic()) || digits.is_empty() {
        s.trim().to_string()
    } else {
        digits
    }
}

impl FaultBook {
    pub(crate) fn add(&self, rule: FaultRule) {
        if rule.count == Some(0) {
            return;
        }
        self.rules.lock().expect("fault lock").push(rule);
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().expect("fault lock").clear();
    }

    pub(crate) fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().expect("fault lock").clone()
    }

    /// Takes (consumes one use of) the first rule of `side` matching the call. `customers` are
    /// all the identities of the customer concerned (phone digits, BSUID).
    pub(crate) fn take(
        &self,
        side: Side,
        phone_number_id: Option<&str>,
        customers: &[&str],
    ) -> Option<FaultKind> {
        let mut rules = self.rules.lock().expect("fault lock");
        let idx = rules.iter().position(|r| {
            let side_ok = match side {
                Side::Graph => r.kind.is_graph(),
                Side::Duplicate => r.kind == FaultKind::DuplicateWebhooks,
                Side::Reorder => r.kind == FaultKind::ReorderStatuses,
                Side::Media => r.kind == FaultKind::MediaUnavailable,
            };
            let number_ok = match (&r.phone_number_id, phone_number_id) {
                (None, _) => true,
                (Some(want), Some(got)) => want == got,
                (Some(_), None) => false,
            };
            let to_ok = match &r.to {
                None => true,
                Some(want) => {
                    let want = normalise_recipient(want);
                    customers.iter().any(|c| normalise_recipient(c) == want)
                }
            };
            side_ok && number_ok && to_ok
        })?;
        let kind = rules[idx].kind.clone();
        if let Some(n) = rules[idx].count.as_mut() {
            *n -= 1;
            if *n == 0 {
                rules.remove(idx);
            }
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms_round_trip() {
        let r: FaultRule = serde_json::from_str(
            r#"{"kind":{"type":"rate_limit","code":131056},"count":2,"to":"+49 151 1234"}"#,
        )
        .unwrap();
        assert_eq!(r.kind, FaultKind::RateLimit { code: 131056 });
        assert_eq!(r.count, Some(2));
        let slow: FaultRule = serde_json::from_str(r#"{"kind":{"type":"slow","ms":250}}"#).unwrap();
        assert_eq!(slow.kind, FaultKind::Slow(Duration::from_millis(250)));
        let back = serde_json::to_value(&slow).unwrap();
        assert_eq!(back["kind"]["type"], "slow");
        assert_eq!(back["kind"]["ms"], 250);
        let d: FaultKind = serde_json::from_str(r#"{"type":"duplicate_webhooks"}"#).unwrap();
        assert_eq!(d, FaultKind::DuplicateWebhooks);
        let s: FaultKind = serde_json::from_str(r#"{"type":"server_error"}"#).unwrap();
        assert_eq!(s, FaultKind::ServerError { code: 131000 });
    }

    #[test]
    fn counted_rules_expire_and_filters_apply() {
        let book = FaultBook::default();
        book.add(FaultRule::times(FaultKind::Hang, 1).to("+49 151 1"));
        book.add(FaultRule::times(FaultKind::DuplicateWebhooks, 2));
        assert_eq!(book.take(Side::Graph, Some("p"), &["4915100"]), None);
        assert_eq!(
            book.take(Side::Graph, Some("p"), &["491511"]),
            Some(FaultKind::Hang)
        );
        assert_eq!(book.take(Side::Graph, Some("p"), &["491511"]), None);
        assert!(book.take(Side::Duplicate, None, &[]).is_some());
        assert!(book.take(Side::Duplicate, None, &[]).is_some());
        assert!(book.take(Side::Duplicate, None, &[]).is_none());
        assert!(book.list().is_empty());
    }
}
