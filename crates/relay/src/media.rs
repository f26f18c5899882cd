//! Inbound media: fetched through the Graph API on first request (media id -> URL -> bytes with
//! the token, `GraphClient::fetch_media`), cached on disk, served (streamed from the cached file)
//! only to users allowed to see the conversation.
//!
//! The cache is bounded: after each insert the oldest files are removed until the total is under
//! the configured size. A download is written chunk by chunk to a temporary file of its own
//! ([`MediaCache::begin`]) and renamed when complete ([`MediaCache::finish`]), so a large file is
//! never held in memory and a crash or failed download never leaves a half file under a real
//! name; an abandoned [`Fill`] removes its temporary file.
//!
//! The same type keeps the media archive's files (`crate::archive`: its own folder, size bound
//! and a retention [`MediaCache::sweep`]); this bounded cache stays for on-demand fetches and
//! outbound uploads.

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

    /// A new, empty temporary file (owner-only, created exclusively, so two downloads of one
    /// file never share it) to write a download of `media_id` into.
    pub async fn begin(&self, media_id: &str) -> std::io::Result<Fill> {
        let Some(path) = self.path(media_id) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "bad media id",
            ));
        };
        tokio::fs::create_dir_all(&self.dir).await?;
        let n = FILLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{media_id}.{}.{n}.tmp", std::process::id()));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(&tmp).await?;
        Ok(Fill {
            file: Some(file),
            tmp,
            path,
        })
    }

    /// Makes a complete download the cached file (flushed to disk first), opens it for reading,
    /// then evicts the oldest files over the bound. The open file stays readable even when it is
    /// itself evicted (a file larger than the whole cache).
    pub async fn finish(&self, fill: Fill) -> std::io::Result<(tokio::fs::File, u64)> {
        self.finish_evicting(fill)
            .await
            .map(|(file, len, _)| (file, len))
    }

    /// [`finish`](Self::finish), also naming the files evicted to make room.
    pub async fn finish_evicting(
        &self,
        mut fill: Fill,
    ) -> std::io::Result<(tokio::fs::File, u64, Vec<Removed>)> {
        if let Some(file) = fill.file.take() {
            file.sync_all().await?;
        }
        let _guard = self.lock.lock().await;
        tokio::fs::rename(&fill.tmp, &fill.path).await?;
        fill.tmp = PathBuf::new();
        let file = tokio::fs::File::open(&fill.path).await?;
        let len = file.metadata().await?.len();
        let evicted = self.evict(None).await?;
        Ok((file, len, evicted))
    }

    /// Removes the files last written before `cutoff` (a retention), then the oldest ones over
    /// the size bound; returns the names removed.
    pub async fn sweep(&self, cutoff: std::time::SystemTime) -> std::io::Result<Vec<Removed>> {
        let _guard = self.lock.lock().await;
        self.evict(Some(cutoff)).await
    }

    /// Deletes a file (a purge or an erasure took its message); `false` when there was none.
    pub async fn remove(&self, media_id: &str) -> std::io::Result<bool> {
        let Some(path) = self.path(media_id) else {
            return Ok(false);
        };
        let _guard = self.lock.lock().await;
        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Caches a file held in memory (tests and small files).
    pub async fn put(&self, media_id: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut fill = self.begin(media_id).await?;
        tokio::io::AsyncWriteExt::write_all(fill.file(), bytes).await?;
        self.finish(fill).await.map(|_| ())
    }

    async fn evict(&self, cutoff: Option<std::time::SystemTime>) -> std::io::Result<Vec<Removed>> {
        let mut files = Vec::new();
        let mut total = 0u64;
        let mut removed = Vec::new();
        let mut rd = match tokio::fs::read_dir(&self.dir).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(e),
        };
        while let Some(e) = rd.next_entry().await? {
            let meta = e.metadata().await?;
            // Downloads in progress (temporary dot files) are not the cache's to evict.
            if meta.is_file() && !e.file_name().to_string_lossy().starts_with('.') {
                total += meta.len();
                files.push((meta.modified()?, meta.len(), e.path()));
            }
        }
        files.sort();
        for (modified, len, path) in files {
            let expired = cutoff.is_some_and(|c| modified < c);
            if total <= self.max_bytes && !expired {
                break;
            }
            // One file that cannot be removed does not lose the others' record.
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a media file could not be removed");
                    continue;
                }
            }
            total -= len;
            if let Some(name) = path.file_name() {
                removed.push(Removed {
                    name: name.to_string_lossy().into_owned(),
                    expired,
                });
            }
        }
        Ok(removed)
    }
}

/// A file removed from the folder: past the retention (`expired`) or to keep under the size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub name: String,
    pub expired: bool,
}

/// Numbers temporary files apart within this process.
static FILLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A download in progress: a temporary file in the cache's folder. Dropped without
/// [`MediaCache::finish`] (a failed or too large download), it removes its file.
pub struct Fill {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Fill {
    /// The file to write the download into.
    pub fn file(&mut self) -> &mut tokio::fs::File {
        self.file
            .as_mut()
            .expect("a fill's file lives until finish")
    }
}

impl Drop for Fill {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
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

    #[tokio::test]
    async fn a_sweep_removes_what_is_past_the_cutoff_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let archive = MediaCache::new(dir.path().join("a"), 1 << 20);
        assert!(
            archive
                .sweep(std::time::SystemTime::now())
                .await
                .unwrap()
                .is_empty(),
            "no folder yet"
        );
        archive.put("old", &[1u8; 10]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let cutoff = std::time::SystemTime::now();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        archive.put("new", &[2u8; 10]).await.unwrap();
        assert_eq!(
            archive.sweep(cutoff).await.unwrap(),
            vec![Removed {
                name: "old".into(),
                expired: true
            }]
        );
        assert!(archive.open("old").await.is_none());
        assert!(archive.open("new").await.is_some());
        // Over the bound, a finish names what it evicted.
        let small = MediaCache::new(dir.path().join("b"), 15);
        small.put("1", &[1u8; 10]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let fill = small.begin("2").await.unwrap();
        let mut fill = fill;
        tokio::io::AsyncWriteExt::write_all(fill.file(), &[2u8; 10])
            .await
            .unwrap();
        let (_, len, evicted) = small.finish_evicting(fill).await.unwrap();
        assert_eq!(
            (len, evicted),
            (
                10,
                vec![Removed {
                    name: "1".into(),
                    expired: false
                }]
            )
        );
    }

    #[tokio::test]
    async fn an_abandoned_download_leaves_nothing_and_two_at_once_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let cache = MediaCache::new(dir.path().join("m"), 1 << 20);
        let mut a = cache.begin("7").await.unwrap();
        let mut b = cache.begin("7").await.unwrap();
        tokio::io::AsyncWriteExt::write_all(a.file(), b"half")
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(b.file(), b"whole")
            .await
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&a.tmp).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(a);
        assert!(
            cache.open("7").await.is_none(),
            "nothing under the real name"
        );
        cache.finish(b).await.unwrap();
        let (_, len) = cache.open("7").await.unwrap();
        assert_eq!(len, 5);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("m"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["7".to_string()], "no temporary file is left");
    }
}
