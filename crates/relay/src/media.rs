//! Inbound media: fetched through the Graph API on first request (media id -> URL -> bytes with
//! the token, `GraphClient::fetch_media`), cached on disk, served (streamed from the cached file)
//! only to users allowed to see the conversation.
//!
//! The cache is bounded: after each insert the oldest files are removed until the total is under
//! the configured size. Files are written to a temporary name and renamed, so a crash never
//! leaves a half file under a real name.

use std::path::PathBuf;

use tokio::sync::Mutex;

pub struct MediaCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Serialises fills and evictions (cheap: media requests are rare next to messages).
    lock: Mutex<()>,
}

/// Meta's largest media (documents) is 100 MB.
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

impl MediaCache {
    pub fn new(dir: PathBuf, max_bytes: u64) -> MediaCache {
        MediaCache {
            dir,
            max_bytes,
            lock: Mutex::new(()),
        }
    }

    fn path(&self, media_id: &str) -> Option<PathBuf> {
        if media_id.is_empty()
            || !media_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return None;
        }
        Some(self.dir.join(media_id))
    }

    /// The cached file, opened for streaming, and its length. An open file stays readable even
    /// if an eviction removes its name meanwhile.
    pub async fn open(&self, media_id: &str) -> Option<(tokio::fs::File, u64)> {
        let path = self.path(media_id)?;
        let file = tokio::fs::File::open(path).await.ok()?;
        let len = file.metadata().await.ok()?.len();
        Some((file, len))
    }

    pub async fn put(&self, media_id: &str, bytes: &[u8]) -> std::io::Result<()> {
        let Some(path) = self.path(media_id) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "bad media id",
            ));
        };
        let _guard = self.lock.lock().await;
        tokio::fs::create_dir_all(&self.dir).await?;
        let tmp = self.dir.join(format!(".{media_id}.tmp"));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        self.evict().await
    }

    async fn evict(&self) -> std::io::Result<()> {
        let mut files = Vec::new();
        let mut total = 0u64;
        let mut rd = tokio::fs::read_dir(&self.dir).await?;
        while let Some(e) = rd.next_entry().await? {
            let meta = e.metadata().await?;
            if meta.is_file() {
                total += meta.len();
                files.push((meta.modified()?, meta.len(), e.path()));
            }
        }
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            tokio::fs::remove_file(&path).await?;
            total -= len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cache_is_bounded_and_safe() {
        let dir = tempfile::tempdir().unwrap();
        let cache = MediaCache::new(dir.path().join("m"), 2500);
        cache.put("1", &[1u8; 1000]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        cache.put("2", &[2u8; 1000]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        cache.put("3", &[3u8; 1000]).await.unwrap();
        assert!(cache.open("1").await.is_none(), "oldest evicted");
        let (mut file, len) = cache.open("3").await.unwrap();
        assert_eq!(len, 1000);
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut file, &mut bytes)
            .await
            .unwrap();
        assert_eq!(bytes, vec![3u8; 1000]);
        assert!(cache.open("../etc/passwd").await.is_none());
        assert!(cache.put("../x", b"no").await.is_err());
    }
}
