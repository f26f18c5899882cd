//! Where the app keeps its things: settings (which relay and user), preferences, the cache, and
//! the token, which goes to the OS keychain only. Where no keychain answers, signing in says so:
//! there is deliberately no fallback to a file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchboard_protocol::api::AgentStatus;
use switchboard_sync::secret::{KeyringStore, SecretStore};

use crate::error::{UiError, UiResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub relay_url: String,
    pub email: String,
    pub user_id: i64,
}

impl Settings {
    /// The keychain account for this relay and user (the same as the CLI's).
    pub fn account(&self) -> String {
        format!("{}|{}", self.relay_url, self.email)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prefs {
    #[serde(default)]
    pub muted: bool,
    /// Idle minutes before the automatic away (0: off).
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// The status the person last chose (`None`: never chose; counts as online).
    #[serde(default)]
    pub status: Option<AgentStatus>,
    /// Whether the app itself had reported `away` (idle or locked) when it last changed it.
    #[serde(default)]
    pub auto_away: bool,
}

fn default_idle_minutes() -> u32 {
    crate::idle::DEFAULT_MINUTES
}

impl Default for Prefs {
    fn default() -> Prefs {
        Prefs {
            muted: false,
            idle_minutes: default_idle_minutes(),
            status: None,
            auto_away: false,
        }
    }
}

pub struct Home {
    pub root: PathBuf,
}

fn io(what: &std::path::Path, e: impl std::fmt::Display) -> UiError {
    UiError::new("storage", format!("{}: {e}", what.display()))
}

impl Home {
    /// `SWITCHBOARD_HOME`, or the OS's per-user data directory.
    pub fn locate() -> Home {
        let root = std::env::var_os("SWITCHBOARD_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("dev", "switchboard", "switchboard-desktop")
                    .map(|d| d.data_dir().to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from(".switchboard-desktop"));
        Home { root }
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, name: &str) -> UiResult<Option<T>> {
        let path = self.root.join(name);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| io(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    fn write<T: Serialize>(&self, name: &str, v: &T) -> UiResult<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| io(&self.root, e))?;
        let path = self.root.join(name);
        let body = serde_json::to_vec_pretty(v).map_err(|e| io(&path, e))?;
        std::fs::write(&path, body).map_err(|e| io(&path, e))
    }

    pub fn settings(&self) -> UiResult<Option<Settings>> {
        self.read("settings.json")
    }

    pub fn save_settings(&self, s: &Settings) -> UiResult<()> {
        self.write("settings.json", s)
    }

    pub fn clear_settings(&self) -> UiResult<()> {
        let path = self.root.join("settings.json");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path, e)),
            _ => Ok(()),
        }
    }

    pub fn prefs(&self) -> Prefs {
        self.read("prefs.json").ok().flatten().unwrap_or_default()
    }

    pub fn save_prefs(&self, p: &Prefs) -> UiResult<()> {
        self.write("prefs.json", p)
    }

    pub fn cache_path(&self, s: &Settings) -> PathBuf {
        switchboard_sync::cache::cache_path(&self.root.join("cache"), &s.relay_url, s.user_id)
    }

    /// The OS keychain, or why it cannot be used here.
    pub fn keychain(&self) -> UiResult<KeyringStore> {
        KeyringStore::available().map_err(|why| {
            UiError::new(
                "keychain_unavailable",
                format!("No OS keychain answers here ({why}). Switchboard keeps your sign-in only in the keychain, never in a plain file, so signing in is not possible until one is available."),
            )
        })?;
        Ok(KeyringStore)
    }

    pub fn token(&self, s: &Settings) -> UiResult<Option<String>> {
        Ok(self.keychain()?.get(&s.account())?)
    }
}
