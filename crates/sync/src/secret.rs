//! Where the bearer token lives: a small trait with the OS keychain (keyring: Secret Service,
//! macOS Keychain, Windows Credential Manager) for people, an in-memory store for tests, and a
//! file readable only by its owner for headless servers without a keychain.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{Result, SyncError};
use crate::private;

pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<String>>;
    fn set(&self, account: &str, secret: &str) -> Result<()>;
    fn delete(&self, account: &str) -> Result<()>;
    /// Where secrets go, for messages ("OS keychain", "file ...").
    fn describe(&self) -> String;
}

#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, String>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<String>> {
        Ok(self.items.lock().expect("lock").get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.items
            .lock()
            .expect("lock")
            .insert(account.into(), secret.into());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.items.lock().expect("lock").remove(account);
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

pub const SERVICE: &str = "switchboard";

/// The OS keychain.
pub struct KeyringStore;

impl KeyringStore {
    fn entry(account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, account).map_err(|e| SyncError::Secret(e.to_string()))
    }

    /// Whether a keychain answers here (a headless server often has none).
    pub fn available() -> Result<(), String> {
        let probe = Self::entry("probe").map_err(|e| e.to_string())?;
        match probe.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, account: &str) -> Result<Option<String>> {
        match Self::entry(account)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SyncError::Secret(e.to_string())),
        }
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        Self::entry(account)?
            .set_password(secret)
            .map_err(|e| SyncError::Secret(e.to_string()))
    }
    fn delete(&self, account: &str) -> Result<()> {
        match Self::entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SyncError::Secret(e.to_string())),
        }
    }
    fn describe(&self) -> String {
        "the OS keychain".into()
    }
}

/// A JSON file with mode 0600 (owner only), for machines without a keychain.
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    pub fn new(path: PathBuf) -> FileStore {
        FileStore {
            path,
            lock: Mutex::new(()),
        }
    }

    fn load(&self) -> Result<HashMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| SyncError::Secret(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
            Err(e) => Err(SyncError::Secret(format!("{}: {e}", self.path.display()))),
        }
    }

    /// Writes the whole map through a new temporary file that is created exclusively, 0600 from
    /// the start, and renamed over the old one (see [`private::write_atomic`]): a file or symlink
    /// planted next to the token file is never written through.
    fn save(&self, items: &HashMap<String, String>) -> Result<()> {
        let err = |e: std::io::Error| SyncError::Secret(format!("{}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent() {
            private::create_dir_all(dir).map_err(err)?;
        }
        private::write_atomic(&self.path, &serde_json::to_vec(items)?).map_err(err)
    }
}

impl SecretStore for FileStore {
    fn get(&self, account: &str) -> Result<Option<String>> {
        let _g = self.lock.lock().expect("lock");
        Ok(self.load()?.get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        let _g = self.lock.lock().expect("lock");
        let mut items = self.load()?;
        items.insert(account.into(), secret.into());
        self.save(&items)
    }
    fn delete(&self, account: &str) -> Result<()> {
        let _g = self.lock.lock().expect("lock");
        let mut items = self.load()?;
        items.remove(account);
        self.save(&items)
    }
    fn describe(&self) -> String {
        format!("the file {} (readable only by you)", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::new(dir.path().join("sub/secrets.json"));
        assert_eq!(s.get("a").unwrap(), None);
        s.set("a", "t1").unwrap();
        s.set("b", "t2").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("t1"));
        s.delete("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sub/secrets.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Symlinks planted at the old fixed temporary name and at other plausible ones, all pointing
    /// at a file of the victim's: saving a token writes through none of them.
    #[cfg(unix)]
    #[test]
    fn file_store_never_writes_through_a_planted_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("token.json");
        let planted = [
            path.with_extension("tmp"),
            dir.path().join("token.json.tmp"),
            dir.path().join(".token.json.tmp"),
            dir.path()
                .join(format!(".token-{}.tmp", std::process::id())),
            dir.path()
                .join(format!(".token.json.{}.tmp", std::process::id())),
        ];
        for link in &planted {
            std::os::unix::fs::symlink(&victim, link).unwrap();
        }

        let s = FileStore::new(path.clone());
        s.set("relay|agent@example.com", "secret-token").unwrap();

        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        for link in &planted {
            assert_eq!(
                std::fs::read_link(link).unwrap(),
                victim,
                "{link:?} untouched"
            );
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file(), "the token file is a plain file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            s.get("relay|agent@example.com").unwrap().as_deref(),
            Some("secret-token")
        );
        let on_disk: HashMap<String, String> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(on_disk["relay|agent@example.com"], "secret-token");
        // Nothing left behind but the token file and the planted links.
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            planted.len() + 1
        );
    }
}
