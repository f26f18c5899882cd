//! Which access token and which app secret apply: per WhatsApp Business Account where an admin
//! set them (`store::accounts`, sealed with `SWITCHBOARD_SECRET_KEY`), the relay's configured
//! ones otherwise, so a single-token setup works unchanged.
//!
//! The table is read from the store at start-up, after every change through this relay, and
//! every [`RELOAD_EVERY`] (changes made through another relay of the cluster). Lookups are
//! in memory: a send asks for its number's token, a webhook for the secret of the account(s)
//! its `entry[].id` names ([`Credentials::webhook_secret`], decided by the pure
//! [`secret_for`]), and each of its changes must then be about a number of that account
//! ([`numbers_belong`]), so one app's secret never writes into another app's numbers.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use switchboard_protocol::webhook::Notification;

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

    /// [`numbers_belong`] against the table in force.
    pub fn check_numbers(&self, n: &Notification) -> Result<(), String> {
        numbers_belong(
            n,
            &self.table.read().expect("credentials lock").waba_by_number,
        )
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

/// The WABA ids a parsed webhook body names (`entry[].id`; an entry without one names "").
pub fn claimed_accounts(n: &Notification) -> Vec<String> {
    let mut ids: Vec<String> = n.entries.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Whether every change of a body (verified with the secret of the accounts it names) is about
/// a number of the entry's own account (pure): a number the relay knows in another account is
/// refused, so a body signed with one app's secret cannot write into another app's numbers.
/// A number the relay does not know yet may appear (it is held until an admin adds it).
pub fn numbers_belong(
    n: &Notification,
    waba_by_number: &HashMap<String, String>,
) -> Result<(), String> {
    for entry in &n.entries {
        for change in &entry.changes {
            let Some(pnid) = change.phone_number_id() else {
                continue;
            };
            if let Some(waba) = waba_by_number.get(pnid) {
                if *waba != entry.id {
                    return Err(format!(
                        "number {pnid} belongs to another business account than the entry {:?} names",
                        entry.id
                    ));
                }
            }
        }
    }
    Ok(())
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
    fn a_body_writes_only_into_numbers_of_the_account_it_names() {
        let body = |waba: &str, pnid: &str| {
            let text = format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{waba}","changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":"{pnid}"}}}}}}]}},{{"id":1,"changes":[]}}]}}"#
            );
            switchboard_protocol::webhook::parse_notification(text.as_bytes()).unwrap()
        };
        assert_eq!(
            claimed_accounts(&body("2", "20")),
            vec!["1".to_string(), "2".to_string()]
        );
        let mut known = HashMap::new();
        known.insert("20".to_string(), "2".to_string());
        known.insert("30".to_string(), "3".to_string());
        assert!(numbers_belong(&body("2", "20"), &known).is_ok());
        assert!(
            numbers_belong(&body("2", "40"), &known).is_ok(),
            "an unknown number is held, not refused"
        );
        let e = numbers_belong(&body("2", "30"), &known).unwrap_err();
        assert!(e.contains("30"), "{e}");
    }
}
