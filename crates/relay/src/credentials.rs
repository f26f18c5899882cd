//! Which access token and which app secret apply: per WhatsApp Business Account where an admin
//! set them (`store::accounts`, sealed with `SWITCHBOARD_SECRET_KEY`), the relay's configured
//! ones otherwise, so a single-token setup works unchanged.
//!
//! The table is read from the store at start-up, after every change through this relay, and
//! every [`RELOAD_EVERY`] (changes made through another relay of the cluster). Lookups are
//! in memory: a send asks for its number's token, a webhook for the secret of the account(s)
//! its `entry[].id` names ([`Credentials::webhook_secret`], decided by the pure
//! [`secret_for`]).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use crate::config::Secret;
use crate::secrets::{SecretBox, SecretError};
use crate::store::{self, Store};

/// How often every relay rereads the table.
pub const RELOAD_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Clone)]
struct Table {
    token_by_waba: HashMap<String, Secret>,
    waba_by_number: HashMap<String, String>,
    secret_by_waba: HashMap<String, Secret>,
}

/// The credentials in force.
#[derive(Debug)]
pub struct Credentials {
    default_token: Secret,
    default_secret: Secret,
    key: Option<SecretBox>,
    table: RwLock<Table>,
}

/// Why a webhook cannot be verified with one secret.
#[derive(Debug, PartialEq, Eq)]
pub struct MixedApps;

/// The secret a body naming `wabas` is verified with (pure): the secret of their Meta app if
/// their accounts have one, the relay's own otherwise; bodies naming accounts of different apps
/// cannot be verified (Meta signs each app's deliveries separately).
pub fn secret_for<'a>(
    wabas: &[String],
    by_waba: &'a HashMap<String, Secret>,
    default: &'a Secret,
) -> Result<&'a Secret, MixedApps> {
    let mut chosen: Option<&Secret> = None;
    for w in wabas {
        let s = by_waba.get(w).unwrap_or(default);
        match chosen {
            Some(c) if c.expose() != s.expose() => return Err(MixedApps),
            _ => chosen = Some(s),
        }
    }
    Ok(chosen.unwrap_or(default))
}

impl Credentials {
    pub fn new(default_token: Secret, default_secret: Secret, key: Option<SecretBox>) -> Self {
        Credentials {
            default_token,
            default_secret,
            key,
            table: RwLock::new(Table::default()),
        }
    }

    /// The key that seals stored credentials, or why there is none.
    pub fn key(&self) -> Result<&SecretBox, SecretError> {
        self.key.as_ref().ok_or(SecretError::NoKey)
    }

    /// Whether any account verifies with a secret of its own (else webhooks need no lookup).
    pub fn has_app_secrets(&self) -> bool {
        !self
            .table
            .read()
            .expect("credentials lock")
            .secret_by_waba
            .is_empty()
    }

    /// The token for calls about a business number.
    pub fn token_for_number(&self, phone_number_id: &str) -> Secret {
        let t = self.table.read().expect("credentials lock");
        t.waba_by_number
            .get(phone_number_id)
            .and_then(|w| t.token_by_waba.get(w))
            .cloned()
            .unwrap_or_else(|| self.default_token.clone())
    }

    /// The token for calls about an account (its templates).
    pub fn token_for_waba(&self, waba_id: &str) -> Secret {
        let t = self.table.read().expect("credentials lock");
        t.token_by_waba
            .get(waba_id)
            .cloned()
            .unwrap_or_else(|| self.default_token.clone())
    }

    /// The secret a webhook body naming `wabas` must be signed with.
    pub fn webhook_secret(&self, wabas: &[String]) -> Result<Secret, MixedApps> {
        let t = self.table.read().expect("credentials lock");
        secret_for(wabas, &t.secret_by_waba, &self.default_secret).cloned()
    }

    /// Rereads the table. A value that does not open (another key, an altered row) is left out
    /// and logged, so that account falls back to the relay's own credentials.
    pub async fn reload(&self, store: &Store) -> store::Result<()> {
        let (accounts, apps, numbers) = store
            .read(|c| {
                Ok((
                    store::accounts::sealed_accounts(c)?,
                    store::accounts::sealed_apps(c)?,
                    store::accounts::numbers(c)?,
                ))
            })
            .await?;
        let mut table = Table {
            waba_by_number: numbers.into_iter().collect(),
            ..Table::default()
        };
        let open = |sealed: &str, purpose: &str| -> Option<Secret> {
            let key = self.key.as_ref()?;
            match key.open(sealed, purpose) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(purpose, error = %e, "a stored credential does not open; the relay's own is used");
                    None
                }
            }
        };
        if self.key.is_none() && (!accounts.is_empty() || !apps.is_empty()) {
            tracing::error!("credentials of business accounts are stored but SWITCHBOARD_SECRET_KEY is not set: the relay's own token and secret are used");
        }
        let app_secrets: HashMap<String, Secret> = apps
            .iter()
            .filter_map(|(id, sealed)| Some((id.clone(), open(sealed, &app_purpose(id))?)))
            .collect();
        for (waba, app, token) in accounts {
            if let Some(t) = token
                .as_deref()
                .and_then(|s| open(s, &token_purpose(&waba)))
            {
                table.token_by_waba.insert(waba.clone(), t);
            }
            if let Some(s) = app.as_ref().and_then(|a| app_secrets.get(a)) {
                table.secret_by_waba.insert(waba, s.clone());
            }
        }
        *self.table.write().expect("credentials lock") = table;
        Ok(())
    }
}

/// What a sealed access token is bound to.
pub fn token_purpose(waba_id: &str) -> String {
    format!("waba:{waba_id}:token")
}

/// What a sealed app secret is bound to.
pub fn app_purpose(app_id: &str) -> String {
    format!("app:{app_id}:secret")
}

/// The WABA ids a webhook body names (`entry[].id`), read without parsing the rest.
pub fn claimed_accounts(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(default)]
        entry: Vec<EntryId>,
    }
    #[derive(serde::Deserialize)]
    struct EntryId {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = env
        .entry
        .into_iter()
        .filter_map(|e| match e.id? {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_verified_with_its_apps_secret_or_the_relays() {
        let default = Secret::new("relay-secret");
        let mut by_waba = HashMap::new();
        by_waba.insert("A".to_string(), Secret::new("app-1"));
        by_waba.insert("B".to_string(), Secret::new("app-2"));
        by_waba.insert("C".to_string(), Secret::new("app-1"));
        let pick = |w: &[&str]| {
            let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            secret_for(&w, &by_waba, &default).map(|s| s.expose().to_string())
        };
        assert_eq!(pick(&["A"]), Ok("app-1".into()));
        assert_eq!(pick(&["B"]), Ok("app-2".into()));
        assert_eq!(
            pick(&["A", "C"]),
            Ok("app-1".into()),
            "one app, two accounts"
        );
        assert_eq!(pick(&["Z"]), Ok("relay-secret".into()));
        assert_eq!(pick(&[]), Ok("relay-secret".into()));
        assert_eq!(pick(&["A", "B"]), Err(MixedApps));
        assert_eq!(pick(&["A", "Z"]), Err(MixedApps));
    }

    #[test]
    fn claimed_accounts_are_read_from_the_entries() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[]},{"id":1},{"id":"2"}]}"#;
        assert_eq!(
            claimed_accounts(body),
            vec!["1".to_string(), "2".to_string()]
        );
        assert!(claimed_accounts(b"not json").is_empty());
        assert!(claimed_accounts(br#"{"entry":"x"}"#).is_empty());
    }
}
