//! The CLI's home: settings (which relay and user), the cache location and the token store.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchboard_sync::secret::{FileStore, KeyringStore, SecretStore};
use switchboard_sync::SyncError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub relay_url: String,
    pub email: String,
    pub user_id: i64,
}

impl Settings {
    /// The keychain account name for this relay and user.
    pub fn account(&self) -> String {
        format!("{}|{}", self.relay_url, self.email)
    }
}

pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(explicit: Option<PathBuf>) -> Result<Home, SyncError> {
        let root = match explicit {
            Some(p) => p,
            None => directories::ProjectDirs::from("", "", "switchboard")
                .map(|d| d.data_dir().to_path_buf())
                .ok_or_else(|| {
                    SyncError::Invalid(
                        "no home directory found: pass --data-dir or set SWITCHBOARD_HOME".into(),
                    )
                })?,
        };
        Ok(Home { root })
    }

    fn settings_path(&self) -> PathBuf {
        self.root.join("settings.json")
    }

    pub fn settings(&self) -> Result<Option<Settings>, SyncError> {
        match std::fs::read(self.settings_path()) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                SyncError::Invalid(format!(
                    "{} is damaged ({e}); sign in again",
                    self.settings_path().display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SyncError::Invalid(format!(
                "{}: {e}",
                self.settings_path().display()
            ))),
        }
    }

    pub fn save_settings(&self, s: &Settings) -> Result<(), SyncError> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| SyncError::Invalid(format!("{}: {e}", self.root.display())))?;
        std::fs::write(self.settings_path(), serde_json::to_vec_pretty(s)?)
            .map_err(|e| SyncError::Invalid(e.to_string()))
    }

    pub fn clear_settings(&self) -> Result<(), SyncError> {
        match std::fs::remove_file(self.settings_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SyncError::Invalid(e.to_string())),
        }
    }

    pub fn cache_path(&self, s: &Settings) -> PathBuf {
        switchboard_sync::cache::cache_path(&self.root.join("cache"), &s.relay_url, s.user_id)
    }

    fn use_file_store(&self) -> Option<String> {
        if std::env::var("SWITCHBOARD_SECRET_STORE").as_deref() == Ok("file") {
            return Some("SWITCHBOARD_SECRET_STORE=file".into());
        }
        KeyringStore::available().err()
    }

    /// The OS keychain, or, where none is reachable (a headless server), a private file.
    pub fn secrets(&self) -> Box<dyn SecretStore> {
        match self.use_file_store() {
            Some(_) => Box::new(FileStore::new(self.root.join("token.json"))),
            None => Box::new(KeyringStore),
        }
    }

    /// What to tell the user when the token does not go to the keychain.
    pub fn secret_store_note(&self) -> Option<String> {
        self.use_file_store().map(|why| {
            format!(
                "note: no OS keychain is reachable here ({why}); the token is kept in {} instead, readable only by you",
                self.root.join("token.json").display()
            )
        })
    }
}
