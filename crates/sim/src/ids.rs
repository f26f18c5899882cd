//! Meta-shaped identifiers: wamids, digit-only media and template ids, fbtrace ids, BSUIDs.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use rand::Rng;

/// Direction byte inside a wamid record (Meta's inbound ids carry `0x12`, outbound `0x11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

/// Mints ids that are unique for the life of one simulator (a counter is mixed into each) and
/// random across runs.
#[derive(Debug)]
pub(crate) struct IdGen {
    counter: AtomicU64,
    digits: AtomicU64,
}

impl IdGen {
    pub(crate) fn new() -> Self {
        let mut rng = rand::thread_rng();
        IdGen {
            counter: AtomicU64::new(rng.gen_range(0..1u64 << 32)),
            // 16-digit ids starting with 1, as Meta's media ids look.
            digits: AtomicU64::new(rng.gen_range(1_000_000_000_000_000..1_500_000_000_000_000)),
        }
    }

    /// `wamid.` + base64 of Meta's record layout: `1C 18 <len> <user> 15 02 00 <dir> 18 14
    /// <20 hex chars> 00`. Clients must treat it as opaque; the layout only makes it look real.
    pub(crate) fn wamid(&self, user: &str, direction: Direction) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let random: [u8; 6] = rand::thread_rng().gen();
        let mut hex = String::with_capacity(20);
        for b in random.iter().chain(&(n as u32).to_be_bytes()) {
            hex.push_str(&format!("{b:02X}"));
        }
        let user = &user.as_bytes()[..user.len().min(64)];
        let mut record = Vec::with_capacity(32 + user.len());
        record.extend_from_slice(&[0x1C, 0x18, user.len() as u8]);
        record.extend_from_slice(user);
        let dir = match direction {
            Direction::Inbound => 0x12,
            Direction::Outbound => 0x11,
        };
        record.extend_from_slice(&[0x15, 0x02, 0x00, dir, 0x18, 0x14]);
        record.extend_from_slice(hex.as_bytes());
        record.push(0x00);
        format!(
            "wamid.{}",
            base64::engine::general_purpose::STANDARD.encode(record)
        )
    }

    /// A fresh digit-only id (media ids, template ids).
    pub(crate) fn digits(&self) -> String {
        self.digits.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

/// A random `fbtrace_id` (23 URL-safe characters, like Meta's).
pub(crate) fn fbtrace_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..23)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A random lowercase hex token (media download URLs).
pub(crate) fn token() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deterministic business-scoped user id for a phone number (`CC.` + 19 digits), used when a
/// customer hides the phone number but no BSUID was given.
pub fn derived_bsuid(wa_id: &str) -> String {
    let country = if wa_id.starts_with("49") {
        "DE"
    } else if wa_id.starts_with("44") {
        "GB"
    } else if wa_id.starts_with('1') {
        "US"
    } else {
        "ZZ"
    };
    // FNV-1a, stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in wa_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{country}.{:019}", h % 10_000_000_000_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamids_are_meta_shaped_and_unique() {
        let ids = IdGen::new();
        let a = ids.wamid("15551234567", Direction::Outbound);
        let b = ids.wamid("15551234567", Direction::Outbound);
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.strip_prefix("wamid.").unwrap())
            .unwrap();
        assert_eq!(&raw[..3], &[0x1C, 0x18, 11]);
        assert_eq!(&raw[3..14], b"15551234567");
        assert_eq!(raw[17], 0x11);
        assert!(a.starts_with("wamid.HBgLMTU1NTEyMzQ1Nj"));
    }

    #[test]
    fn digit_ids_and_bsuids() {
        let ids = IdGen::new();
        let m = ids.digits();
        assert_eq!(m.len(), 16);
        assert!(m.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(m, ids.digits());
        let b = derived_bsuid("4915112345678");
        assert!(b.starts_with("DE.") && b.len() == 22, "{b}");
        assert_eq!(b, derived_bsuid("4915112345678"));
        assert_eq!(fbtrace_id().len(), 23);
    }
}
