//! The admin console's calls: users and roles (`/api/v1/admin/users`, `/api/v1/admin/roles`,
//! `/api/v1/admin/permissions`), business numbers, the audit log (`/api/v1/admin/audit`, its
//! CSV export) and the review of blocked messages (`/api/v1/policy/blocks`). The relay checks
//! the caller's permissions; a refusal comes back as [`crate::SyncError::Relay`] with its code
//! and message, for the form to show beside the field.

use switchboard_protocol::access::{NewRole, PermissionInfo, RoleInfo, RolePatch};
use switchboard_protocol::admin::{
    Account, AuditEntry, AuditQuery, NewNumber, NewUser, PasswordReset, UserPatch,
};
use switchboard_protocol::api::{Message, PhoneNumber, User};
use switchboard_protocol::policy::{
    AutoReply, AutoReplyTest, AutoReplyVerdict, Block, NewAutoReply, SensitiveWords, WordCheck,
    WordVerdict,
};

use crate::client::RelayClient;
use crate::error::Result;

impl RelayClient {
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.get_json("/api/v1/admin/users").await
    }

    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.call_json(reqwest::Method::POST, "/api/v1/admin/users", user)
            .await
    }

    pub async fn update_user(&self, id: i64, patch: &UserPatch) -> Result<Account> {
        self.call_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/users/{id}"),
            patch,
        )
        .await
    }

    pub async fn reset_password(&self, id: i64, password: &str) -> Result<()> {
        self.call_no_content(
            reqwest::Method::POST,
            &format!("/api/v1/admin/users/{id}/password"),
            Some(&PasswordReset {
                password: password.to_string(),
            }),
        )
        .await
    }

    pub async fn permissions(&self) -> Result<Vec<PermissionInfo>> {
        self.get_json("/api/v1/admin/permissions").await
    }

    pub async fn roles(&self) -> Result<Vec<RoleInfo>> {
        self.get_json("/api/v1/admin/roles").await
    }

    pub async fn create_role(&self, role: &NewRole) -> Result<RoleInfo> {
        self.call_json(reqwest::Method::POST, "/api/v1/admin/roles", role)
            .await
    }

    pub async fn update_role(&self, id: i64, patch: &RolePatch) -> Result<RoleInfo> {
        self.call_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/roles/{id}"),
            patch,
        )
        .await
    }

    pub async fn delete_role(&self, id: i64) -> Result<()> {
        self.call_no_content::<()>(
            reqwest::Method::DELETE,
            &format!("/api/v1/admin/roles/{id}"),
            None,
        )
        .await
    }

    /// The audit log, newest first, filtered.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let resp = self.get_response_with("/api/v1/admin/audit", query).await?;
        resp.json()
            .await
            .map_err(|e| crate::SyncError::Protocol(e.without_url().to_string()))
    }

    /// The relay's answer for the filtered audit log as CSV, status checked, body not yet read
    /// (to stream it into a file: [`crate::download::save_response`]).
    pub async fn audit_export(&self, query: &AuditQuery) -> Result<reqwest::Response> {
        self.get_response_with("/api/v1/admin/audit/export", query)
            .await
    }

    /// Everything as JSON Lines (permission `export`), the answer's body not yet read.
    pub async fn export_all(&self) -> Result<reqwest::Response> {
        self.get_response("/api/v1/admin/export").await
    }

    /// One customer's record, conversations, messages and notes as a zip (`export`): the JSON
    /// Lines, the messages as CSV and the files they carry.
    pub async fn export_contact(&self, contact_id: i64) -> Result<reqwest::Response> {
        self.get_response(&format!("/api/v1/contacts/{contact_id}/export?format=zip"))
            .await
    }

    /// Blocked outbound messages, newest first (permission `review_blocked`).
    pub async fn blocks(&self) -> Result<Vec<Block>> {
        self.get_json("/api/v1/policy/blocks").await
    }

    /// Releases a blocked message: it is queued as its author wrote it.
    pub async fn allow_block(&self, id: i64) -> Result<Message> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/policy/blocks/{id}/allow"),
            &serde_json::json!({}),
        )
        .await
    }

    /// Rejects a blocked message: it is never sent.
    pub async fn reject_block(&self, id: i64) -> Result<Block> {
        self.call_json(
            reqwest::Method::POST,
            &format!("/api/v1/policy/blocks/{id}/reject"),
            &serde_json::json!({}),
        )
        .await
    }

    /// The relay's business numbers, configured and not.
    pub async fn numbers(&self) -> Result<Vec<PhoneNumber>> {
        self.get_json("/api/v1/numbers").await
    }

    /// Adds a business number by name, or adopts one that appeared unconfigured.
    pub async fn add_number(&self, number: &NewNumber) -> Result<PhoneNumber> {
        self.call_json(reqwest::Method::POST, "/api/v1/admin/numbers", number)
            .await
    }

    /// Keyword auto-reply rules (permission `manage_automations`).
    pub async fn auto_replies(&self) -> Result<Vec<AutoReply>> {
        self.get_json("/api/v1/admin/auto-replies").await
    }

    pub async fn create_auto_reply(&self, rule: &NewAutoReply) -> Result<AutoReply> {
        self.call_json(reqwest::Method::POST, "/api/v1/admin/auto-replies", rule)
            .await
    }

    pub async fn update_auto_reply(&self, id: i64, rule: &NewAutoReply) -> Result<AutoReply> {
        self.call_json(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/auto-replies/{id}"),
            rule,
        )
        .await
    }

    pub async fn test_auto_reply(&self, test: &AutoReplyTest) -> Result<AutoReplyVerdict> {
        self.call_json(
            reqwest::Method::POST,
            "/api/v1/admin/auto-replies/test",
            test,
        )
        .await
    }

    pub async fn delete_auto_reply(&self, id: i64) -> Result<()> {
        self.call_no_content::<()>(
            reqwest::Method::DELETE,
            &format!("/api/v1/admin/auto-replies/{id}"),
            None,
        )
        .await
    }

    pub async fn sensitive_words(&self) -> Result<SensitiveWords> {
        self.get_json("/api/v1/admin/sensitive-words").await
    }

    pub async fn set_sensitive_words(&self, words: &SensitiveWords) -> Result<SensitiveWords> {
        self.call_json(reqwest::Method::PUT, "/api/v1/admin/sensitive-words", words)
            .await
    }

    /// Would this message pass the sensitive-word filter in force?
    pub async fn check_words(&self, check: &WordCheck) -> Result<WordVerdict> {
        self.call_json(
            reqwest::Method::POST,
            "/api/v1/admin/sensitive-words/check",
            check,
        )
        .await
    }
}
