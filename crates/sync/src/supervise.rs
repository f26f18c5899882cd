//! The supervisor's and the routing admin's calls: the waiting queue (`/api/v1/monitor/queue`),
//! an agent's report (`/api/v1/monitor/agents/{id}/report`), routing settings, skills, teams,
//! agents' routing settings, per-number routing policies, business hours, send rates and the
//! template sync. The relay checks the caller's permissions; refusals come back as
//! [`SyncError::Relay`] with the relay's code and message.

use reqwest::Method;
use switchboard_protocol::policy::{BusinessHours, NumberRate, RateSettings, SyncResult};
use switchboard_protocol::routing::{
    AgentReport, AgentSettings, NewTeam, Policy, QueuedConversation, Settings, Skills, Team,
};

use crate::client::RelayClient;
use crate::error::{Result, SyncError};

/// A path segment from a business number id, percent-encoded so it stays one segment; a
/// number id the URL parser would read as `.` or `..` is refused.
fn seg(s: &str) -> Result<String> {
    if s.is_empty() || s.chars().all(|c| c == '.') {
        return Err(SyncError::Invalid(format!(
            "not a business number id: {s:?}"
        )));
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

impl RelayClient {
    pub async fn waiting_queue(&self) -> Result<Vec<QueuedConversation>> {
        self.get_json("/api/v1/monitor/queue").await
    }

    pub async fn agent_report(&self, agent_id: i64, days: i64) -> Result<AgentReport> {
        self.get_json(&format!(
            "/api/v1/monitor/agents/{agent_id}/report?days={days}"
        ))
        .await
    }

    pub async fn routing_settings(&self) -> Result<Settings> {
        self.get_json("/api/v1/admin/routing").await
    }

    pub async fn put_routing_settings(&self, s: &Settings) -> Result<Settings> {
        self.call_json(Method::PUT, "/api/v1/admin/routing", s)
            .await
    }

    pub async fn skills(&self) -> Result<Skills> {
        self.get_json("/api/v1/admin/skills").await
    }

    pub async fn put_skills(&self, s: &Skills) -> Result<Skills> {
        self.call_json(Method::PUT, "/api/v1/admin/skills", s).await
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        self.get_json("/api/v1/admin/teams").await
    }

    pub async fn create_team(&self, t: &NewTeam) -> Result<Team> {
        self.call_json(Method::POST, "/api/v1/admin/teams", t).await
    }

    pub async fn put_team(&self, id: i64, t: &NewTeam) -> Result<Team> {
        self.call_json(Method::PUT, &format!("/api/v1/admin/teams/{id}"), t)
            .await
    }

    pub async fn delete_team(&self, id: i64) -> Result<()> {
        self.call_no_content::<()>(Method::DELETE, &format!("/api/v1/admin/teams/{id}"), None)
            .await
    }

    pub async fn agent_routing(&self, id: i64) -> Result<AgentSettings> {
        self.get_json(&format!("/api/v1/admin/agents/{id}/routing"))
            .await
    }

    pub async fn put_agent_routing(&self, id: i64, s: &AgentSettings) -> Result<AgentSettings> {
        self.call_json(
            Method::PUT,
            &format!("/api/v1/admin/agents/{id}/routing"),
            s,
        )
        .await
    }

    pub async fn number_policy(&self, pnid: &str) -> Result<Policy> {
        self.get_json(&format!("/api/v1/admin/numbers/{}/routing", seg(pnid)?))
            .await
    }

    pub async fn put_number_policy(&self, pnid: &str, p: &Policy) -> Result<Policy> {
        self.call_json(
            Method::PUT,
            &format!("/api/v1/admin/numbers/{}/routing", seg(pnid)?),
            p,
        )
        .await
    }

    /// The number's business hours; `None` when it has none (always open).
    pub async fn business_hours(&self, pnid: &str) -> Result<Option<BusinessHours>> {
        match self
            .get_json(&format!("/api/v1/admin/business-hours/{}", seg(pnid)?))
            .await
        {
            Ok(h) => Ok(Some(h)),
            Err(SyncError::Relay { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn put_business_hours(&self, pnid: &str, h: &BusinessHours) -> Result<BusinessHours> {
        self.call_json(
            Method::PUT,
            &format!("/api/v1/admin/business-hours/{}", seg(pnid)?),
            h,
        )
        .await
    }

    pub async fn delete_business_hours(&self, pnid: &str) -> Result<()> {
        self.call_no_content::<()>(
            Method::DELETE,
            &format!("/api/v1/admin/business-hours/{}", seg(pnid)?),
            None,
        )
        .await
    }

    pub async fn rate_limit(&self, pnid: &str) -> Result<NumberRate> {
        self.get_json(&format!("/api/v1/admin/rate-limits/{}", seg(pnid)?))
            .await
    }

    pub async fn put_rate_limit(&self, pnid: &str, r: &RateSettings) -> Result<RateSettings> {
        self.call_json(
            Method::PUT,
            &format!("/api/v1/admin/rate-limits/{}", seg(pnid)?),
            r,
        )
        .await
    }

    pub async fn sync_templates(&self) -> Result<Vec<SyncResult>> {
        self.call_json(Method::POST, "/api/v1/admin/templates/sync", &())
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_segment_stays_one_segment() {
        assert_eq!(super::seg("1234567890").unwrap(), "1234567890");
        assert_eq!(super::seg("../x y/?").unwrap(), "%2E%2E%2Fx%20y%2F%3F");
        assert!(super::seg("..").is_err());
        assert!(super::seg("").is_err());
    }
}
