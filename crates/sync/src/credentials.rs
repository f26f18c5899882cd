//! Credentials per WhatsApp Business Account (`/api/v1/admin/business-accounts`,
//! `/api/v1/admin/meta-apps`, permission `manage_numbers`): each account's own access token and
//! Meta app; with them what the numbers' WhatsApp side holds: the shared history's progress and
//! the media archive. Tokens and secrets only ever go to the relay; nothing here reads one back.

use switchboard_protocol::admin::{
    ArchiveSummary, BusinessAccount, BusinessAccountUpdate, HistoryImport, MetaApp, MetaAppSecret,
};

use crate::client::RelayClient;
use crate::error::Result;

impl RelayClient {
    pub async fn business_accounts(&self) -> Result<Vec<BusinessAccount>> {
        self.get_json("/api/v1/admin/business-accounts").await
    }

    pub async fn update_business_account(
        &self,
        waba_id: &str,
        update: &BusinessAccountUpdate,
    ) -> Result<BusinessAccount> {
        self.call_json(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/business-accounts/{waba_id}"),
            update,
        )
        .await
    }

    /// How far each number's shared chat history has arrived (Coexistence).
    pub async fn history_imports(&self) -> Result<Vec<HistoryImport>> {
        self.get_json("/api/v1/admin/history-imports").await
    }

    /// The media archive's counts and limits.
    pub async fn media_archive(&self) -> Result<ArchiveSummary> {
        self.get_json("/api/v1/admin/media-archive").await
    }

    pub async fn meta_apps(&self) -> Result<Vec<MetaApp>> {
        self.get_json("/api/v1/admin/meta-apps").await
    }

    pub async fn set_meta_app_secret(&self, app_id: &str, secret: &str) -> Result<()> {
        self.call_no_content(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/meta-apps/{app_id}"),
            Some(&MetaAppSecret {
                app_secret: secret.to_string(),
            }),
        )
        .await
    }
}
