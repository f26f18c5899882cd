//! The media archive: every inbound media file is downloaded when it arrives, in the
//! background, into `<data_dir>/media-archive`, so it outlives Meta's retention whether or not
//! anyone opened it. Ingest only queues the media id in the same transaction as the message
//! (`store::archive::enqueue`), so the webhook's acknowledgement never waits for a download.
//!
//! The worker runs on the cluster's leader (once per cluster), woken after webhooks and every
//! few seconds: it takes due files, downloads each through `GraphClient::fetch_media` (chunk by
//! chunk into a temporary file, renamed when complete), and records the outcome; a failure is
//! retried with growing waits (`store::archive::retry_delay`) and given up after
//! `store::archive::MAX_ATTEMPTS`, a file too large or on an untrusted host at once. The archive
//! is bounded by size (the oldest files go first) and by age (files past the retention go at the
//! hourly sweep); both are recorded on the rows. Media requests are served from the archive
//! first (`api::media`). On PostgreSQL with several relays, the archive lives in the leader's
//! data directory: give the relays a shared one (see the README), or a relay without the file
//! fetches it from Meta on demand as before.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use crate::cluster::Leadership;
use crate::graph::{GraphClient, GraphError};
use crate::media::{MediaCache, MAX_MEDIA_BYTES};
use crate::store::{self, Store};

/// How often the worker looks for due files when nothing wakes it.
const POLL: Duration = Duration::from_secs(2);
/// How often files past the retention are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Files taken per round.
const BATCH: usize = 16;

/// The archive's files and its limits.
pub struct Archive {
    pub files: MediaCache,
    /// Files older than this are removed; `None` keeps them until the size bound needs room.
    pub retention: Option<Duration>,
    /// The first retry's wait (grows fourfold per failure).
    pub retry_base: Duration,
    /// Rings after webhooks were applied.
    pub wake: Notify,
}

impl Archive {
    pub fn new(config: &crate::config::Config) -> Archive {
        Archive {
            files: MediaCache::new(
                config.data_dir.join("media-archive"),
                config.media_archive_bytes,
            ),
            retention: config.media_archive_retention,
            retry_base: config.media_archive_retry_base,
            wake: Notify::new(),
        }
    }
}

/// Whether a failed download is worth trying again.
fn retryable(e: &GraphError) -> bool {
    !matches!(e, GraphError::TooLarge(_) | GraphError::UntrustedMediaUrl)
}

/// Downloads one file into the archive; returns its size and the files evicted for it.
async fn fetch_one(
    archive: &Archive,
    graph: &GraphClient,
    media_id: &str,
    phone_number_id: Option<&str>,
) -> Result<(u64, Vec<crate::media::Removed>), GraphError> {
    if let Some((_, len)) = archive.files.open(media_id).await {
        // Stored before a crash, recorded now.
        return Ok((len, Vec::new()));
    }
    let mut fill = archive
        .files
        .begin(media_id)
        .await
        .map_err(|e| GraphError::Local(e.to_string()))?;
    graph
        .fetch_media(media_id, phone_number_id, MAX_MEDIA_BYTES, fill.file())
        .await?;
    let (_, len, evicted) = archive
        .files
        .finish_evicting(fill)
        .await
        .map_err(|e| GraphError::Local(e.to_string()))?;
    Ok((len, evicted))
}

/// One round: every due file fetched and recorded. Returns how many were looked at.
pub async fn round(store: &Store, graph: &GraphClient, archive: &Archive) -> store::Result<usize> {
    let now = store::now_ms();
    let due = store
        .read(move |c| store::archive::due(c, now, BATCH))
        .await?;
    for job in &due {
        let outcome = fetch_one(
            archive,
            graph,
            &job.media_id,
            job.phone_number_id.as_deref(),
        )
        .await;
        let id = job.media_id.clone();
        match outcome {
            Ok((len, evicted)) => {
                let kept = store
                    .write(move |ctx| {
                        let kept = store::archive::stored(ctx, &id, len)?;
                        store::archive::removed(ctx, &evicted)?;
                        Ok(kept)
                    })
                    .await?;
                if !kept {
                    // Its message was purged or erased while the file downloaded.
                    if let Err(e) = archive.files.remove(&job.media_id).await {
                        tracing::warn!(error = %e, "a file whose message is gone could not be removed");
                    }
                }
            }
            Err(e) => {
                let retry = retryable(&e)
                    .then(|| store::archive::retry_delay(job.attempts, archive.retry_base))
                    .flatten();
                tracing::warn!(media_id = %id, error = %e, retry_in = ?retry, "media not archived yet");
                let msg = e.to_string();
                store
                    .write(move |ctx| store::archive::failed(ctx, &id, &msg, retry))
                    .await?
            }
        }
    }
    Ok(due.len())
}

/// Removes files past the retention and records them.
pub async fn sweep(store: &Store, archive: &Archive) -> store::Result<usize> {
    let Some(keep) = archive.retention else {
        return Ok(0);
    };
    let cutoff = SystemTime::now()
        .checked_sub(keep)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let gone = match archive.files.sweep(cutoff).await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "media archive sweep failed");
            return Ok(0);
        }
    };
    let n = gone.len();
    if n > 0 {
        store
            .write(move |ctx| store::archive::removed(ctx, &gone))
            .await?;
    }
    Ok(n)
}

/// The worker: rounds while this relay leads the cluster.
pub async fn run(store: Store, graph: GraphClient, archive: Arc<Archive>, leadership: Leadership) {
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = archive.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        if !leadership.is_leader() {
            continue;
        }
        loop {
            match round(&store, &graph, &archive).await {
                Ok(n) if n == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "media archive round failed");
                    break;
                }
            }
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            last_sweep = Some(tokio::time::Instant::now());
            if let Err(e) = sweep(&store, &archive).await {
                tracing::error!(error = %e, "media archive sweep not recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retryable(&GraphError::Transport("reset".into())));
        assert!(retryable(&GraphError::Busy));
        assert!(retryable(&GraphError::Api {
            code: 131000,
            message: "x".into()
        }));
        assert!(!retryable(&GraphError::TooLarge(1)));
        assert!(!retryable(&GraphError::UntrustedMediaUrl));
    }
}
