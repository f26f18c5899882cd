//! PostgreSQL fan-out: every relay on the database follows the event log.
//!
//! A write batch that appended events rings `NOTIFY switchboard_events` in its transaction; the
//! server delivers it to every relay's follower when (and only if) the batch commits. The follower
//! then reads the events after the last one it broadcast, in `seq` order, straight from the table,
//! and hands them to this relay's streams. The notification is only a doorbell: a lost one costs
//! at most [`POLL`] of latency, never an event, because the table is read, not the payload.
//!
//! Callers of [`super::Store::write`] are answered once the follower has broadcast their batch's
//! events ([`Replies`]), as the SQLite back-end does by publishing before replying.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio::sync::broadcast;

use super::{events, AnyBox, Db, Location, LoggedEvent, Reply, Result};

/// The notification channel the writers ring.
pub const CHANNEL: &str = "switchboard_events";
/// How long the follower waits for a doorbell before looking at the table anyway.
pub const POLL: Duration = Duration::from_millis(250);
const PAGE: usize = 1000;

type Done = Vec<(Reply, Result<AnyBox>)>;

#[derive(Default)]
struct Waiting {
    head: i64,
    batches: VecDeque<(i64, Done)>,
}

/// Answers for committed batches, held until their events are out.
#[derive(Clone, Default)]
pub struct Replies {
    waiting: Arc<Mutex<Waiting>>,
}

impl Replies {
    /// Answers `done` once every event up to `last_seq` has been broadcast (at once when the
    /// batch appended none).
    pub fn after(&self, last_seq: Option<i64>, done: Done) {
        let mut w = self.waiting.lock().expect("replies lock");
        match last_seq {
            Some(seq) if seq > w.head => w.batches.push_back((seq, done)),
            _ => {
                drop(w);
                answer(done);
            }
        }
    }

    fn advance(&self, head: i64) {
        let mut ready = Vec::new();
        {
            let mut w = self.waiting.lock().expect("replies lock");
            w.head = w.head.max(head);
            while w.batches.front().is_some_and(|(seq, _)| *seq <= w.head) {
                ready.push(w.batches.pop_front().expect("front").1);
            }
        }
        for done in ready {
            answer(done);
        }
    }
}

fn answer(done: Done) {
    for (reply, outcome) in done {
        let _ = reply.send(outcome);
    }
}

pub struct Follower {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
    replies: Replies,
}

impl Follower {
    /// Starts following from the log's current head.
    pub fn start(
        location: &Location,
        events: broadcast::Sender<Arc<LoggedEvent>>,
    ) -> Result<Follower> {
        let conn = location.connect(false)?;
        conn.execute_batch(&format!("LISTEN {CHANNEL}"))?;
        let head = events::head(&conn)?;
        let replies = Replies::default();
        replies.advance(head);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("store-follower".into())
            .spawn({
                let (location, replies, stop) = (location.clone(), replies.clone(), stop.clone());
                move || follow(conn, location, head, events, replies, stop)
            })
            .map_err(|e| super::StoreError::Corrupt(format!("cannot start the follower: {e}")))?;
        Ok(Follower {
            stop,
            handle,
            replies,
        })
    }

    pub fn replies(&self) -> Replies {
        self.replies.clone()
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.handle.join();
    }
}

fn follow(
    mut conn: Db,
    location: Location,
    mut head: i64,
    events: broadcast::Sender<Arc<LoggedEvent>>,
    replies: Replies,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_millis(100);
    while !stop.load(Ordering::SeqCst) {
        match catch_up(&conn, &mut head, &events, &replies) {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                wait_for_doorbell(&conn);
            }
            Err(e) => {
                tracing::error!(error = %e, "event follower lost the database; reconnecting");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                match location.connect(false).and_then(|c| {
                    c.execute_batch(&format!("LISTEN {CHANNEL}"))?;
                    Ok(c)
                }) {
                    Ok(c) => conn = c,
                    Err(e) => tracing::error!(error = %e, "event follower cannot reconnect"),
                }
            }
        }
    }
}

/// Broadcasts every event after `head`, in order, answering the writes whose events are out
/// after each page.
fn catch_up(
    conn: &Db,
    head: &mut i64,
    events: &broadcast::Sender<Arc<LoggedEvent>>,
    replies: &Replies,
) -> Result<()> {
    loop {
        let page = events::since(conn, *head, PAGE)?;
        let n = page.len();
        for ev in page {
            *head = ev.event.seq;
            let _ = events.send(Arc::new(ev));
        }
        replies.advance(*head);
        if n < PAGE {
            return Ok(());
        }
    }
}

fn wait_for_doorbell(conn: &Db) {
    let Some(mut client) = conn.pg_client() else {
        std::thread::sleep(POLL);
        return;
    };
    let mut notes = client.notifications();
    let rung = matches!(notes.timeout_iter(POLL).next(), Ok(Some(_)));
    if rung {
        // Several commits may have rung; one read of the table serves them all. Drain only what
        // is already here: under steady traffic new doorbells keep arriving, and waiting for a
        // quiet moment would stop the follower (and every write's reply) for as long as the
        // traffic lasts.
        let buffered = notes.len();
        let mut more = notes.iter();
        for _ in 0..buffered {
            if !matches!(more.next(), Ok(Some(_))) {
                break;
            }
        }
    }
}
