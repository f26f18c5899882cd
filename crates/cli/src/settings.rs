//! The CLI's home: settings (which relay and user), the cache location and the token store.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchboard_sync::private;
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

    /// Writes the settings readable by their owner only (0600 in a 0700 home on Unix), through
    /// a fresh temporary file renamed over the old one.
    pub fn save_settings(&self, s: &Settings) -> Result<(), SyncError> {
        private::create_dir_all(&self.root)
            .map_err(|e| SyncError::Invalid(format!("{}: {e}", self.root.display())))?;
        let path = self.settings_path();
        private::write_atomic(&path, &serde_json::to_vec_pretty(s)?)
            .map_err(|e| SyncError::Invalid(format!("{}: {e}", path.display())))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            relay_url: "http://127.0.0.1:8080".into(),
            email: "agent@example.com".into(),
            user_id: 7,
        }
    }

    #[test]
    fn settings_round_trip_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(Some(dir.path().join("home"))).unwrap();
        assert!(home.settings().unwrap().is_none());
        home.save_settings(&settings()).unwrap();
        let read = home.settings().unwrap().unwrap();
        assert_eq!(read.account(), "http://127.0.0.1:8080|agent@example.com");
        assert_eq!(read.user_id, 7);
        home.clear_settings().unwrap();
        assert!(home.settings().unwrap().is_none());
    }

    #[cfg(unix)]
    fn mode(p: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn settings_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("home");
        let home = Home::new(Some(root.clone())).unwrap();
        home.save_settings(&settings()).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("settings.json")), 0o600);

        // A settings file an older build wrote world-readable comes back private.
        std::fs::set_permissions(
            root.join("settings.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        home.save_settings(&settings()).unwrap();
        assert_eq!(mode(&root.join("settings.json")), 0o600);
    }
}
