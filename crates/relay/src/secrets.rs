//! Secrets at rest: business accounts' access tokens and Meta apps' secrets are stored sealed
//! with XChaCha20-Poly1305 (the `chacha20poly1305` crate, RustCrypto) under a 32-byte key from
//! the environment (`SWITCHBOARD_SECRET_KEY`, 64 hex digits or base64), never in clear. Each
//! sealed value is bound to what it is for (the associated data, e.g. `waba:123:token`), so a
//! value copied into another row does not open there. Stored as `v1:` + base64(nonce ‖
//! ciphertext).

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::Secret;

/// Why a key or a sealed value is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    #[error("SWITCHBOARD_SECRET_KEY must be 32 bytes written as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)")]
    BadKey,
    #[error("SWITCHBOARD_SECRET_KEY is not set: the relay cannot store credentials of business accounts without it")]
    NoKey,
    #[error("a stored credential could not be opened (another SWITCHBOARD_SECRET_KEY, or the row was altered)")]
    Open,
}

/// The key that seals and opens stored credentials.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

const PREFIX: &str = "v1:";

impl SecretBox {
    /// The key as written in `SWITCHBOARD_SECRET_KEY`: 64 hex digits, or base64 of 32 bytes.
    pub fn from_text(text: &str) -> Result<SecretBox, SecretError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|_| SecretError::BadKey)?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| SecretError::BadKey)?
        };
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?;
        Ok(SecretBox { cipher })
    }

    /// Seals `plain` for `purpose` (the associated data).
    pub fn seal(&self, plain: &str, purpose: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// Opens a value sealed for `purpose`.
    pub fn open(&self, sealed: &str, purpose: &str) -> Result<Secret, SecretError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or(SecretError::Open)?;
        if raw.len() < 24 + 16 {
            return Err(SecretError::Open);
        }
        let (nonce, ct) = raw.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Open)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SecretError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_values_open_only_with_their_key_and_purpose() {
        let b = SecretBox::from_text(KEY).unwrap();
        let s = b.seal("EAAG-token", "waba:1:token");
        assert!(s.starts_with("v1:"));
        assert!(!s.contains("EAAG"), "never in clear");
        assert_ne!(
            s,
            b.seal("EAAG-token", "waba:1:token"),
            "a fresh nonce each time"
        );
        assert_eq!(b.open(&s, "waba:1:token").unwrap().expose(), "EAAG-token");
        assert_eq!(b.open(&s, "waba:2:token").unwrap_err(), SecretError::Open);
        let other = SecretBox::from_text(&"ab".repeat(32)).unwrap();
        assert_eq!(
            other.open(&s, "waba:1:token").unwrap_err(),
            SecretError::Open
        );
        let mut bad = s.clone();
        bad.push('A');
        assert!(b.open(&bad, "waba:1:token").is_err());
        assert!(b.open("v1:", "x").is_err());
        assert!(b.open("plain", "x").is_err());
    }

    #[test]
    fn keys_are_32_bytes_in_hex_or_base64() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(SecretBox::from_text(&b64).is_ok());
        assert!(SecretBox::from_text(KEY).is_ok());
        assert_eq!(
            SecretBox::from_text("short").unwrap_err(),
            SecretError::BadKey
        );
        assert_eq!(
            SecretBox::from_text(&"ab".repeat(31)).unwrap_err(),
            SecretError::BadKey
        );
        assert!(!format!("{:?}", SecretBox::from_text(KEY).unwrap()).contains("0001"));
    }
}
