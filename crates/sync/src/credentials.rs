//! Credentials per WhatsApp Business Account (`/api/v1/admin/business-accounts`,
//! `/api/v1/admin/meta-apps`, permission `manage_numbers`): each account's own access token and
//! Meta app. Tokens and secrets only ever go to the relay; nothing here reads one back.

use switchboard_protocol::admin::{BusinessAccount, BusinessAccountUpdate, MetaApp, MetaAppSecret};

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
