//! Several relays on one PostgreSQL database: which one runs the cluster's singletons.
//!
//! Webhooks, API calls and streams are served by every relay. The work that must happen once
//! per cluster (the sender, which keeps per-conversation order and the per-number rate limit; the
//! routing tick; the inbox sweep; template sync) runs only on the **leader**: the relay holding
//! the session-level advisory lock [`LEADER_LOCK`] on a connection of its own. When the leader
//! dies its connection closes, PostgreSQL releases the lock, and another relay takes it within
//! [`TRY_EVERY`]. A relay that loses its lock connection stops leading at once. On SQLite there is
//! one relay, always the leader.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::db::{advisory_key, LEADER_LOCK};
use crate::store::{Backend, Location};

/// How often a follower relay tries to become the leader (and the leader checks its connection).
pub const TRY_EVERY: Duration = Duration::from_secs(1);
/// How often every relay records that it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A relay silent this long is gone: the leader takes its streams off the presence counts.
pub const DEAD_AFTER: Duration = Duration::from_secs(20);

/// A relay's life: serving, then draining after SIGTERM (readiness answers 503, streams are
/// closed with "going away" so clients resume on another relay from their cursor).
pub struct Lifecycle {
    draining: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            draining: watch::channel(false).0,
        }
    }
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Resolves once draining has begun.
    pub fn draining(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.draining.subscribe();
        async move {
            let _ = rx.wait_for(|d| *d).await;
        }
    }
}

/// Whether this relay leads, as it changes.
#[derive(Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
    /// The sole relay keeps its own sender, so the value never reads as closed.
    _sole: Option<std::sync::Arc<watch::Sender<bool>>>,
}

impl Leadership {
    /// The relay alone on its database (SQLite).
    pub fn sole() -> Leadership {
        let (tx, rx) = watch::channel(true);
        Leadership {
            rx,
            _sole: Some(std::sync::Arc::new(tx)),
        }
    }

    /// Leadership on `location`'s back-end: at once on SQLite, by election on PostgreSQL.
    pub fn for_location(location: &Location) -> Leadership {
        match location {
            Location::Sqlite(_) => Leadership::sole(),
            Location::Postgres(_) => Leadership::elect(location.clone()),
        }
    }

    fn elect(location: Location) -> Leadership {
        debug_assert_eq!(location.backend(), Backend::Postgres);
        let (tx, rx) = watch::channel(false);
        let _ = std::thread::Builder::new()
            .name("cluster-leader".into())
            .spawn(move || campaign(location, tx));
        Leadership { rx, _sole: None }
    }

    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until this relay leads.
    pub async fn until_leader(&mut self) {
        let _ = self.rx.wait_for(|l| *l).await;
    }

    /// Waits until this relay no longer leads.
    pub async fn until_follower(&mut self) {
        let _ = self.rx.wait_for(|l| !*l).await;
    }
}

/// Holds a connection and tries for the lock until the relay shuts down (the receiver is gone).
fn campaign(location: Location, tx: watch::Sender<bool>) {
    let mut conn = None;
    while !tx.is_closed() {
        if conn.is_none() {
            conn = location.connect(false).ok();
        }
        let leading = match &conn {
            Some(db) => {
                let sql = if *tx.borrow() {
                    // Still ours? A query on the same session proves the connection (and so the
                    // lock) is alive.
                    "SELECT CAST(1 AS BIGINT)".to_string()
                } else {
                    // A boolean; the store's values read it as 0/1.
                    format!("SELECT pg_try_advisory_lock({})", advisory_key(LEADER_LOCK))
                };
                match db.query_row(&sql, (), |r| r.get::<i64>(0)) {
                    Ok(v) => *tx.borrow() || v == 1,
                    Err(e) => {
                        tracing::warn!(error = %e, "leader election lost its connection");
                        conn = None;
                        false
                    }
                }
            }
            None => false,
        };
        if leading != *tx.borrow() {
            tracing::info!(leading, "cluster leadership changed");
            let _ = tx.send(leading);
        }
        std::thread::sleep(TRY_EVERY);
    }
}
