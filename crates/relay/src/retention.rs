//! The retention purge: on the cluster's leader, every `retention_every` (and when an admin
//! shortens a retention), each number with a finite retention is purged up to its cutoff
//! (`governance::retention_cutoff`) in small write jobs (`retention_batch` rows each) so that
//! webhooks queued at the writer between two jobs are acknowledged without waiting for the
//! purge. Files of purged messages leave the media archive and the cache after each job. The SQL
//! is `store::retention`; legal holds are skipped there.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_protocol::governance::retention_cutoff;
use tokio::sync::Notify;

use crate::cluster::Leadership;
use crate::media::MediaCache;
use crate::store::retention::{self as sql, PurgeCursor, Step};
use crate::store::{self, Store};

/// What one purge of every number removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub messages: usize,
    pub events: usize,
    pub bodies: usize,
    pub files: usize,
}

/// Purges every number past its retention at `now` (ms). A number that fails does not stop the
/// others; the first error is returned after all were tried.
pub async fn purge_all(
    store: &Store,
    files: &[&MediaCache],
    now: i64,
    batch: usize,
) -> store::Result<Report> {
    let numbers = store.read(sql::with_retention).await?;
    let cutoffs: Arc<HashMap<String, i64>> = Arc::new(
        numbers
            .iter()
            .map(|(n, days)| (n.clone(), retention_cutoff(now, *days)))
            .collect(),
    );
    let mut report = Report::default();
    let mut first_error = None;
    for (number, days) in numbers {
        let cutoff = retention_cutoff(now, days);
        if let Err(e) = purge_number(store, files, number.clone(), cutoff, batch, &mut report).await
        {
            tracing::error!(number = %number, error = %e, "retention purge of a number failed");
            first_error.get_or_insert(e);
        }
    }
    // Webhook bodies and what names no number: one pass for all numbers.
    if let (Some(&latest), Some(&earliest)) = (cutoffs.values().max(), cutoffs.values().min()) {
        let cur = store.read(move |c| PurgeCursor::bodies(c, latest)).await?;
        steps(store, files, cur, &mut report, move |ctx, cur| {
            sql::purge_bodies(ctx, cur, &cutoffs, batch)
        })
        .await?;
        store
            .write(move |ctx| sql::finish_unattributed(ctx.conn, earliest))
            .await?;
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn purge_number(
    store: &Store,
    files: &[&MediaCache],
    number: String,
    cutoff: i64,
    batch: usize,
    report: &mut Report,
) -> store::Result<()> {
    let cur = store
        .read(move |c| PurgeCursor::start(c, &number, cutoff))
        .await?;
    // The event log (in order), then the messages (conversation by conversation): a
    // conversation whose last snapshot went with the old events is logged afresh.
    let cur = steps(store, files, cur, report, move |ctx, cur| {
        sql::purge_events_step(ctx, cur, batch)
    })
    .await?;
    let cur = steps(store, files, cur, report, move |ctx, cur| {
        sql::purge_step(ctx, cur, batch)
    })
    .await?;
    let done = cur.clone();
    store.write(move |ctx| sql::finish(ctx, &done)).await?;
    tracing::debug!(number = %cur.phone_number_id, cutoff = cur.cutoff, "retention purge finished");
    Ok(())
}

/// Runs `step` as write jobs, one after another, until it says it is done; each job's files are
/// removed once it committed. Returns the cursor where it ended.
async fn steps<F>(
    store: &Store,
    files: &[&MediaCache],
    mut cur: PurgeCursor,
    report: &mut Report,
    step: F,
) -> store::Result<PurgeCursor>
where
    F: Fn(&mut store::WriteCtx<'_>, &mut PurgeCursor) -> store::Result<Step>
        + Clone
        + Send
        + 'static,
{
    loop {
        let f = step.clone();
        let (done, next) = store
            .write(move |ctx| {
                let s = f(ctx, &mut cur)?;
                Ok((s, cur))
            })
            .await?;
        cur = next;
        add(report, &done, files).await;
        if done.done {
            return Ok(cur);
        }
    }
}

async fn add(report: &mut Report, step: &Step, files: &[&MediaCache]) {
    report.messages += step.messages;
    report.events += step.events;
    report.bodies += step.bodies;
    report.files += remove_files(files, &step.media_ids).await;
}

/// Deletes the files of `media_ids` from every one of `files` (the archive, the cache) once the
/// rows naming them are gone; returns how many existed. A failure is logged, not fatal.
pub async fn remove_files(files: &[&MediaCache], media_ids: &[String]) -> usize {
    let mut removed = 0;
    for id in media_ids {
        for cache in files {
            match cache.remove(id).await {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a media file whose message is gone could not be removed")
                }
            }
        }
    }
    removed
}

/// The leader's loop: a purge every `every`, and at once when `wake` rings (a retention was
/// set).
pub async fn run(state: crate::AppState, leadership: Leadership, wake: Arc<Notify>) {
    let every = state.config.retention_every;
    let batch = state.config.retention_batch;
    let mut wait = FIRST_PURGE_AFTER.min(every);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
        wait = every;
        if !leadership.is_leader() {
            continue;
        }
        let files = [&state.archive.files, state.media.as_ref()];
        match purge_all(&state.store, &files, store::now_ms(), batch).await {
            Ok(r) if r != Report::default() => tracing::info!(?r, "retention purge"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention purge failed"),
        }
    }
}

/// How long the loop waits before its first purge after start-up.
pub const FIRST_PURGE_AFTER: Duration = Duration::from_secs(5);
