//! The relay's store: one module boundary in front of the database.
//!
//! Design:
//! - **One writer per relay.** A writer thread owns the only write connection. Callers hand it
//!   closures ([`Store::write`]); it drains whatever is queued (up to [`MAX_BATCH`]) and runs the
//!   whole batch in one transaction, each closure inside its own savepoint so one failing job does
//!   not undo the others. One commit (one fsync) then acknowledges the whole batch: this *group
//!   commit* is what lets webhook acknowledgements be durable and still fast.
//! - Replies go out only after the commit succeeded, so an acknowledged write survives a crash.
//! - Events appended by a job are broadcast to live streams only after commit, in `seq` order,
//!   and before the job's caller is answered.
//! - Reads run on a small pool of read connections (SQLite: WAL lets them proceed during writes).
//! - **Two back-ends, one SQL.** Every statement goes through [`db::Db`]; what differs between
//!   SQLite and PostgreSQL (placeholders, value types, DDL, transactions) lives in [`db`].
//! - **PostgreSQL: several relays, one database.** Each write batch takes a cluster-wide lock
//!   ([`db::WRITE_LOCK`]) for its transaction, so batches of all relays commit one at a time and
//!   the log's `seq` order is commit order (no value taken by a slower transaction can appear
//!   below a cursor a client holds). Live events reach every relay through [`follower`]: the
//!   commit rings a `NOTIFY`, and each relay reads the new events from the table in `seq` order
//!   and broadcasts them to its streams (the table is the source of truth; the doorbell only
//!   wakes).

pub mod accounts;
pub mod amendments;
pub mod archive;
pub mod audit;
pub mod automation;
pub mod coexistence;
pub mod contacts;
pub mod conversations;
pub mod db;
pub mod erasure;
pub mod events;
pub mod export;
pub mod follower;
pub mod ingest;
pub mod media;
pub mod messages;
pub mod numbers;
pub mod outbox;
pub mod policy;
pub mod preferences;
pub mod queries;
pub mod retention;
pub mod roles;
pub mod routing;
pub mod statuses;
pub mod users;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{broadcast, oneshot};

pub use db::{params, Backend, Db, DbError, Optional};
pub use events::LoggedEvent;

/// Jobs committed together at most.
pub const MAX_BATCH: usize = 512;
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_policy.sql")),
    (3, include_str!("../../migrations/0003_routing.sql")),
    (4, include_str!("../../migrations/0004_notes.sql")),
    (
        5,
        include_str!("../../migrations/0005_policy_languages_teams.sql"),
    ),
    (6, include_str!("../../migrations/0006_uploads.sql")),
    (7, include_str!("../../migrations/0007_instances.sql")),
    (8, include_str!("../../migrations/0008_sessions.sql")),
    (
        9,
        include_str!("../../migrations/0009_webhook_body_hash.sql"),
    ),
    (
        10,
        include_str!("../../migrations/0010_messages_by_media.sql"),
    ),
    (11, include_str!("../../migrations/0011_audit_chain.sql")),
    (12, include_str!("../../migrations/0012_roles.sql")),
    (13, include_str!("../../migrations/0013_block_reviews.sql")),
    (
        14,
        include_str!("../../migrations/0014_auto_reply_pause.sql"),
    ),
    (15, include_str!("../../migrations/0015_message_edits.sql")),
    (
        16,
        include_str!("../../migrations/0016_marketing_preference.sql"),
    ),
    (17, include_str!("../../migrations/0017_coexistence.sql")),
    (18, include_str!("../../migrations/0018_media_archive.sql")),
    (
        19,
        include_str!("../../migrations/0019_business_accounts.sql"),
    ),
    (
        20,
        include_str!("../../migrations/0020_messages_by_time.sql"),
    ),
    (21, include_str!("../../migrations/0021_ended_tokens.sql")),
    (
        22,
        include_str!("../../migrations/0022_data_governance.sql"),
    ),
];
/// The PostgreSQL twins of [`MIGRATIONS`], version for version.
const PG_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_policy.sql")),
    (
        3,
        include_str!("../../migrations/postgres/0003_routing.sql"),
    ),
    (4, include_str!("../../migrations/postgres/0004_notes.sql")),
    (
        5,
        include_str!("../../migrations/postgres/0005_policy_languages_teams.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_uploads.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_instances.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_sessions.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_webhook_body_hash.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_messages_by_media.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_audit_chain.sql"),
    ),
    (12, include_str!("../../migrations/postgres/0012_roles.sql")),
    (
        13,
        include_str!("../../migrations/postgres/0013_block_reviews.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_auto_reply_pause.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/0015_message_edits.sql"),
    ),
    (
        16,
        include_str!("../../migrations/postgres/0016_marketing_preference.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_coexistence.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_media_archive.sql"),
    ),
    (
        19,
        include_str!("../../migrations/postgres/0019_business_accounts.sql"),
    ),
    (
        20,
        include_str!("../../migrations/postgres/0020_messages_by_time.sql"),
    ),
    (
        21,
        include_str!("../../migrations/postgres/0021_ended_tokens.sql"),
    ),
    (
        22,
        include_str!("../../migrations/postgres/0022_data_governance.sql"),
    ),
];

/// The schema version this build writes (both back-ends).
pub fn schema_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbError),
    #[error("cannot open database at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("database schema version {found} is newer than this relay understands ({known}); upgrade the relay")]
    TooNew { found: i64, known: i64 },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    /// The caller's role does not grant what this needs.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the store is shut down")]
    Closed,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("refused by the outbound policy: {}", .0.message)]
    Refused(Box<crate::policy::Refusal>),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.into())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a write job sees: a connection inside the batch's transaction (a savepoint), the
/// batch's clock, and a place to append log events.
pub struct WriteCtx<'a> {
    pub conn: &'a Db,
    pub now: i64,
    events: Vec<LoggedEvent>,
}

impl WriteCtx<'_> {
    /// Appends an event to the log; it is broadcast once the batch commits.
    pub fn emit(&mut self, ev: events::NewEvent) -> Result<i64> {
        let logged = events::append(self.conn, ev, self.now)?;
        let seq = logged.event.seq;
        self.events.push(logged);
        Ok(seq)
    }

    /// Runs `f` in a nested savepoint named `name`: when it fails, what it wrote and the events it
    /// appended are undone and its error is handed back (the outer `Ok`), while the job goes on.
    /// Used where a part must not take the whole job down with it (a webhook body that cannot be
    /// applied stays pending; a failing automation or routing decision leaves the message stored).
    pub fn attempt<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<Result<T>> {
        self.conn.execute_batch(&format!("SAVEPOINT {name}"))?;
        let events_before = self.events.len();
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch(&format!("RELEASE {name}"))?;
                Ok(Ok(v))
            }
            Err(e) => {
                self.conn
                    .execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))?;
                self.events.truncate(events_before);
                Ok(Err(e))
            }
        }
    }

    /// How many events this job has appended so far.
    pub fn events_len(&self) -> usize {
        self.events.len()
    }
}

type AnyBox = Box<dyn Any + Send>;
type JobFn = Box<dyn FnOnce(&mut WriteCtx<'_>) -> Result<AnyBox> + Send>;
type Reply = oneshot::Sender<Result<AnyBox>>;

struct Job {
    run: JobFn,
    reply: Reply,
}

/// Where connections come from.
#[derive(Clone, Debug)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    fn display(&self) -> PathBuf {
        match self {
            Location::Sqlite(p) => p.clone(),
            // Never the URL itself: it may carry a password.
            Location::Postgres(_) => PathBuf::from("postgres database"),
        }
    }

    /// Opens a connection (read-only where the back-end has such a mode).
    pub fn connect(&self, read_only: bool) -> Result<Db> {
        match self {
            Location::Sqlite(path) => Ok(Db::sqlite(open_conn(path, read_only)?)),
            Location::Postgres(url) => {
                let open_error = |reason: String| StoreError::Open {
                    path: self.display(),
                    reason,
                };
                let mut config: postgres::Config = url
                    .parse()
                    .map_err(|e: postgres::Error| open_error(db::pg::describe(&e)))?;
                // Which process holds a connection, for the database's operators
                // (pg_stat_activity) unless the URL names the application itself.
                if config.get_application_name().is_none() {
                    config.application_name(&format!("switchboard-relay/{}", std::process::id()));
                }
                let client = config
                    .connect(postgres::NoTls)
                    .map_err(|e| open_error(db::pg::describe(&e)))?;
                Ok(Db::postgres(client))
            }
        }
    }
}

struct Inner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<Db>>,
    location: Location,
    events: broadcast::Sender<Arc<LoggedEvent>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    follower: Mutex<Option<follower::Follower>>,
    instance: String,
}

/// Cloneable handle to the store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn new_instance_id() -> String {
    use rand::Rng;
    let bytes: [u8; 8] = rand::thread_rng().gen();
    format!("relay-{}", hex::encode(bytes))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 512;

fn open_conn(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Connection rules in one place: WAL (readers never block the writer), foreign keys,
    // synchronous=FULL so a committed batch survives power loss, not just a process crash.
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Freed space is overwritten: an erased customer's text does not linger in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    conn.pragma_update(None, "cache_size", -16_000)?;
    // The write path alone prepares well over a hundred distinct statements (ingest, routing,
    // automations, the event log); rusqlite's default cache of 16 would re-parse most of them on
    // every job.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Brings the schema up to this build's version. On PostgreSQL the whole upgrade runs in one
/// transaction under [`db::MIGRATE_LOCK`], so relays starting together migrate exactly once.
fn migrate(db: &Db) -> Result<()> {
    let migrations = match db.backend() {
        Backend::Sqlite => MIGRATIONS,
        Backend::Postgres => PG_MIGRATIONS,
    };
    match db.backend() {
        Backend::Sqlite => db.execute_batch("BEGIN IMMEDIATE")?,
        Backend::Postgres => db.execute_batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({})",
            db::advisory_key(db::MIGRATE_LOCK)
        ))?,
    }
    let result = (|| -> Result<()> {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )?;
        let current: i64 = db.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            (),
            |r| r.get(0),
        )?;
        let known = migrations.last().map(|m| m.0).unwrap_or(0);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (version, sql) in migrations.iter().filter(|m| m.0 > current) {
            db.execute_batch(sql)?;
            if *version == audit::CHAIN_VERSION {
                audit::seal_legacy(db)?;
            }
            db.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, now_ms()),
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(db.commit()?),
        Err(e) => {
            let _ = db.rollback();
            Err(e)
        }
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            }
        }
        Self::open_at(Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the PostgreSQL database at `url` (migrating it if needed).
    pub fn open_postgres(url: &str) -> Result<Store> {
        Self::open_at(Location::Postgres(url.to_string()))
    }

    pub fn open_at(location: Location) -> Result<Store> {
        match location.backend() {
            Backend::Sqlite => Self::open_now(location),
            // The PostgreSQL client runs its own small runtime and must not be driven from inside
            // the caller's (async) one: open on a plain thread.
            Backend::Postgres => std::thread::scope(|s| {
                s.spawn(|| Self::open_now(location))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(StoreError::Corrupt("opening the store panicked".into()))
                    })
            }),
        }
    }

    fn open_now(location: Location) -> Result<Store> {
        let conn = location.connect(false)?;
        migrate(&conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let (events, _) = broadcast::channel(8192);
        let (publish, follower) = match location.backend() {
            Backend::Sqlite => (Publish::Direct(events.clone()), None),
            Backend::Postgres => {
                let f = follower::Follower::start(&location, events.clone())?;
                (Publish::Follower(f.replies()), Some(f))
            }
        };
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, publish))
            .map_err(|e| StoreError::Open {
                path: location.display(),
                reason: e.to_string(),
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                jobs: Mutex::new(Some(tx)),
                readers: Mutex::new(Vec::new()),
                location,
                events,
                writer: Mutex::new(Some(writer)),
                follower: Mutex::new(follower),
                instance: new_instance_id(),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.location.backend()
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// This relay's id among the instances of its cluster (new at every start).
    pub fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    /// Runs `f` in the writer's next batch; returns once the batch is committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            run: Box::new(move |ctx| f(ctx).map(|r| Box::new(r) as AnyBox)),
            reply,
        };
        {
            let guard = self.inner.jobs.lock().expect("jobs lock");
            let sender = guard.as_ref().ok_or(StoreError::Closed)?;
            sender.send(job).map_err(|_| StoreError::Closed)?;
        }
        let boxed = rx.await.map_err(|_| StoreError::Closed)??;
        Ok(*boxed
            .downcast::<R>()
            .expect("write job returns its own type"))
    }

    /// Runs `f` on a read connection in the blocking pool.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().expect("readers lock").pop();
            let conn = match conn {
                Some(c) => c,
                None => inner.location.connect(true)?,
            };
            let result = f(&conn);
            if !conn.is_broken() {
                let mut pool = inner.readers.lock().expect("readers lock");
                if pool.len() < 8 {
                    pool.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// After an erasure: no copy of what was deleted stays in the database's files. SQLite: the
    /// write-ahead log is checkpointed and truncated (freed pages were already overwritten,
    /// `secure_delete`), retried while readers hold old snapshots. PostgreSQL: the touched
    /// tables are vacuumed (dead rows removed; see the README for what that does not cover).
    pub async fn scrub(&self) -> Result<()> {
        let location = self.location().clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let conn = location.connect(false)?;
            match conn.backend() {
                db::Backend::Sqlite => {
                    for _ in 0..50 {
                        let (busy, _, _): (i64, i64, i64) = conn.query_row(
                            "PRAGMA wal_checkpoint(TRUNCATE)",
                            (),
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )?;
                        if busy == 0 {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(StoreError::Conflict(
                        "the write-ahead log could not be emptied (readers kept it busy)".into(),
                    ))
                }
                db::Backend::Postgres => Ok(conn.execute_batch(
                    "VACUUM messages, events, webhook_inbox, contacts, conversations, contact_notes, \
                     contact_tags, account_events, orphan_statuses, message_amendments",
                )?),
            }
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("scrub task: {e}")))?
    }

    /// Live events, in `seq` order, as they are committed.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedEvent>> {
        self.inner.events.subscribe()
    }

    /// Stops accepting writes and waits for the writer to finish what is queued.
    pub fn close(&self) {
        self.inner.jobs.lock().expect("jobs lock").take();
        if let Some(handle) = self.inner.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
        if let Some(f) = self.inner.follower.lock().expect("follower lock").take() {
            f.stop();
        }
    }
}

/// How a committed batch's events reach live streams.
enum Publish {
    /// SQLite: this process is the only writer; broadcast the batch's events directly.
    Direct(broadcast::Sender<Arc<LoggedEvent>>),
    /// PostgreSQL: the follower reads them from the table (in `seq` order with every other
    /// relay's) and answers the batch's callers once it has broadcast them.
    Follower(follower::Replies),
}

fn writer_loop(conn: Db, rx: mpsc::Receiver<Job>, publish: Publish) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        run_batch(&conn, jobs, &publish);
    }
}

fn run_batch(conn: &Db, jobs: Vec<Job>, publish: &Publish) {
    let now = now_ms();
    if let Err(e) = conn.begin_write() {
        let msg = e.to_string();
        tracing::error!(error = %msg, "cannot begin a write batch");
        for j in jobs {
            let _ = j
                .reply
                .send(Err(StoreError::Corrupt(format!("cannot begin: {msg}"))));
        }
        return;
    }
    let mut done = Vec::with_capacity(jobs.len());
    let mut batch_events = Vec::new();
    for job in jobs {
        let outcome = match conn.savepoint() {
            Ok(()) => {
                let mut ctx = WriteCtx {
                    conn,
                    now,
                    events: Vec::new(),
                };
                let result = (job.run)(&mut ctx);
                let job_events = std::mem::take(&mut ctx.events);
                match result {
                    Ok(v) => match conn.release_savepoint() {
                        Ok(()) => {
                            batch_events.extend(job_events);
                            Ok(v)
                        }
                        Err(e) => {
                            let _ = conn.rollback_savepoint();
                            Err(StoreError::Db(e))
                        }
                    },
                    // Rolling back to the savepoint undoes this job; the batch goes on.
                    Err(e) => match conn.rollback_savepoint() {
                        Ok(()) => Err(e),
                        Err(rb) => Err(StoreError::Corrupt(format!(
                            "{e}; and the rollback failed: {rb}"
                        ))),
                    },
                }
            }
            Err(e) => Err(StoreError::Db(e)),
        };
        done.push((job.reply, outcome));
    }
    let last_seq = batch_events.iter().map(|e| e.event.seq).max();
    let rung = match (publish, last_seq) {
        (Publish::Follower(_), Some(seq)) => conn.notify(follower::CHANNEL, &seq.to_string()),
        _ => Ok(()),
    };
    match rung.and_then(|()| conn.commit()) {
        Ok(()) => match publish {
            Publish::Direct(events) => {
                // Publish before replying: when a write returns, its events are already out, so a
                // caller that subscribed earlier sees them (tests rely on it, and so may handlers).
                for ev in batch_events {
                    let _ = events.send(Arc::new(ev));
                }
                for (reply, outcome) in done {
                    let _ = reply.send(outcome);
                }
            }
            Publish::Follower(replies) => replies.after(last_seq, done),
        },
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, "batch commit failed");
            let _ = conn.rollback();
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
            }
        }
    }
}
