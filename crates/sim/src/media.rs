//! Media: the bytes behind digit media ids (customer images, relay uploads), short-lived
//! download URLs, and a tiny PNG encoder so customer images are real pictures.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Media URLs expire after five minutes, as Meta's do.
pub const URL_TTL: Duration = Duration::from_secs(5 * 60);

/// MIME types Meta accepts for upload (§7 of Meta's media docs).
pub const SUPPORTED_MIME_TYPES: &[&str] = &[
    "audio/aac",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
    "text/plain",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/jpeg",
    "image/png",
    "image/webp",
    "video/mp4",
    "video/3gpp",
];

/// Whether Meta would accept this MIME type (parameters such as `; codecs=opus` ignored).
pub fn mime_supported(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or("").trim();
    SUPPORTED_MIME_TYPES.contains(&base)
}

#[derive(Debug, Clone)]
pub(crate) struct MediaItem {
    pub id: String,
    pub bytes: Bytes,
    pub mime_type: String,
    /// Base64 of the SHA-256 of the bytes (Meta's `sha256` is base64, not hex).
    pub sha256: String,
    pub phone_number_id: String,
}

impl MediaItem {
    pub(crate) fn new(id: String, bytes: Bytes, mime_type: &str, phone_number_id: &str) -> Self {
        MediaItem {
            sha256: sha256_b64(&bytes),
            id,
            bytes,
            mime_type: mime_type.to_string(),
            phone_number_id: phone_number_id.to_string(),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct MediaStore {
    items: HashMap<String, MediaItem>,
    /// download token → (media id, expiry)
    tokens: HashMap<String, (String, Instant)>,
}

impl MediaStore {
    pub(crate) fn insert(&mut self, item: MediaItem) {
        self.items.insert(item.id.clone(), item);
    }

    pub(crate) fn get(&self, id: &str) -> Option<&MediaItem> {
        self.items.get(id)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.items.contains_key(id)
    }

    pub(crate) fn delete(&mut self, id: &str) -> bool {
        self.tokens.retain(|_, (m, _)| m != id);
        self.items.remove(id).is_some()
    }

    /// Registers a fresh download token for `id`, valid for [`URL_TTL`].
    pub(crate) fn issue_token(&mut self, id: &str, token: String) {
        let now = Instant::now();
        if self.tokens.len() > 10_000 {
            self.tokens.retain(|_, (_, exp)| *exp > now);
        }
        self.tokens.insert(token, (id.to_string(), now + URL_TTL));
    }

    /// The media behind an unexpired download token.
    pub(crate) fn by_token(&self, token: &str) -> Option<&MediaItem> {
        let (id, exp) = self.tokens.get(token)?;
        if *exp <= Instant::now() {
            return None;
        }
        self.items.get(id)
    }
}

pub(crate) fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// A 32×32 RGB PNG: a diagonal gradient in a colour derived from `seed`.
pub fn generate_png(seed: u32) -> Vec<u8> {
    const W: u32 = 32;
    const H: u32 = 32;
    let base = [
        (seed & 0xff) as u8,
        ((seed >> 8) & 0xff) as u8,
        ((seed >> 16) & 0xff) as u8,
    ];
    let mut raw = Vec::with_capacity(((W * 3 + 1) * H) as usize);
    for y in 0..H {
        raw.push(0); // filter: none
        for x in 0..W {
            let shade = ((x + y) * 4) as u8;
            for c in base {
                raw.push(c.wrapping_add(shade));
            }
        }
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&W.to_be_bytes());
    ihdr.extend_from_slice(&H.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed ("stored") deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    if blocks.is_empty() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xFF, 0xFF]);
    }
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_vectors() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_has_signature_and_chunks() {
        let png = generate_png(0x00336699);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        assert_ne!(sha256_b64(&png), sha256_b64(&generate_png(1)));
    }

    #[test]
    fn tokens_expire_and_mime_check() {
        let mut s = MediaStore::default();
        s.insert(MediaItem::new(
            "1".into(),
            Bytes::from_static(b"x"),
            "image/png",
            "p",
        ));
        s.issue_token("1", "t".into());
        assert_eq!(s.by_token("t").unwrap().id, "1");
        assert!(s.by_token("nope").is_none());
        assert!(s.delete("1"));
        assert!(s.by_token("t").is_none());
        assert!(mime_supported("audio/ogg; codecs=opus"));
        assert!(!mime_supported("image/gif"));
    }
}
