//! Data governance calls (permission `manage_data`): retention per business number, legal
//! holds, erasing a customer. The erasure reaches this cache (and every other) through the event
//! log's `contact.erased`, not through the answer.

use switchboard_protocol::governance::{
    Erased, LegalHold, LegalHoldRequest, Retention, RetentionRequest,
};

use crate::client::RelayClient;
use crate::error::Result;

/// What a legal hold is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldTarget {
    Contact(i64),
    Conversation(i64),
}

impl HoldTarget {
    fn path(self) -> String {
        match self {
            HoldTarget::Contact(id) => format!("/api/v1/contacts/{id}/legal-hold"),
            HoldTarget::Conversation(id) => format!("/api/v1/conversations/{id}/legal-hold"),
        }
    }
}

impl RelayClient {
    pub async fn retention(&self) -> Result<Vec<Retention>> {
        self.get_json("/api/v1/admin/retention").await
    }

    pub async fn set_retention(
        &self,
        phone_number_id: &str,
        days: Option<i64>,
    ) -> Result<Retention> {
        self.call_json(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/numbers/{phone_number_id}/retention"),
            &RetentionRequest { days },
        )
        .await
    }

    pub async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.get_json("/api/v1/admin/legal-holds").await
    }

    pub async fn set_legal_hold(&self, on: HoldTarget, reason: &str) -> Result<LegalHold> {
        self.call_json(
            reqwest::Method::PUT,
            &on.path(),
            &LegalHoldRequest {
                reason: reason.to_string(),
            },
        )
        .await
    }

    pub async fn release_legal_hold(&self, on: HoldTarget) -> Result<()> {
        self.call_no_content::<()>(reqwest::Method::DELETE, &on.path(), None)
            .await
    }

    pub async fn erase_contact(&self, contact_id: i64) -> Result<Erased> {
        self.call_json_no_body(
            reqwest::Method::DELETE,
            &format!("/api/v1/contacts/{contact_id}"),
        )
        .await
    }
}
