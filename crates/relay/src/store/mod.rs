//! The relay's store: one module boundary in front of the database.
//!
//! Design (SQLite back-end):
//! - **One writer thread** owns the only write connection. Callers hand it closures
//!   ([`Store::write`]); it drains whatever is queued (up to [`MAX_BATCH`]) and runs the whole batch
//!   in one transaction, each closure inside its own savepoint so one failing job does not undo the
//!   others. One commit (one fsync, `synchronous=FULL`) then acknowledges the whole batch: this
//!   *group commit* is what lets webhook acknowledgements be durable and still fast.
//! - Replies go out only after the commit succeeded, so an acknowledged write survives a crash.
//! - Events appended by a job are broadcast to live streams only after commit, in `seq` order,
//!   and before the job's caller is answered.
//! - Reads run on a small pool of read connections (WAL lets them proceed during writes).
//!
//! The SQL itself lives in [`queries`] and [`ingest`] as plain functions over a connection, kept
//! portable so the PostgreSQL back-end can reuse the same statements.

pub mod automation;
pub mod contacts;
pub mod events;
pub mod ingest;
pub mod outbox;
pub mod policy;
pub mod queries;
pub mod routing;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{broadcast, oneshot};

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
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
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

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a write job sees: a connection inside the batch's transaction (a savepoint), the
/// batch's clock, and a place to append log events.
pub struct WriteCtx<'a> {
    pub conn: &'a Connection,
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
}

type AnyBox = Box<dyn Any + Send>;
type JobFn = Box<dyn FnOnce(&mut WriteCtx<'_>) -> Result<AnyBox> + Send>;

struct Job {
    run: JobFn,
    reply: oneshot::Sender<Result<AnyBox>>,
}

struct Inner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    events: broadcast::Sender<Arc<LoggedEvent>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Cloneable handle to the store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `execute` through the connection's statement cache: the write path runs the same few
/// statements thousands of times a second.
pub trait CachedExec {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl CachedExec for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
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

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, now_ms()),
        )?;
        tx.commit()?;
    }
    Ok(())
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
        let mut conn = open_conn(path, false)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let (events, _) = broadcast::channel(8192);
        let ev_tx = events.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, ev_tx))
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                jobs: Mutex::new(Some(tx)),
                readers: Mutex::new(Vec::new()),
                path: path.to_path_buf(),
                events,
                writer: Mutex::new(Some(writer)),
            }),
        })
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
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().expect("readers lock").pop();
            let conn = match conn {
                Some(c) => c,
                None => open_conn(&inner.path, true)?,
            };
            let result = f(&conn);
            let mut pool = inner.readers.lock().expect("readers lock");
            if pool.len() < 8 {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|_| StoreError::Closed)?
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
    }
}

fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Job>,
    events: broadcast::Sender<Arc<LoggedEvent>>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, jobs, &events);
    }
}

fn run_batch(conn: &mut Connection, jobs: Vec<Job>, events: &broadcast::Sender<Arc<LoggedEvent>>) {
    let now = now_ms();
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let msg = e.to_string();
            for j in jobs {
                let _ = j
                    .reply
                    .send(Err(StoreError::Corrupt(format!("cannot begin: {msg}"))));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    let mut batch_events = Vec::new();
    for job in jobs {
        let outcome = match tx.savepoint() {
            Ok(sp) => {
                let mut ctx = WriteCtx {
                    conn: &sp,
                    now,
                    events: Vec::new(),
                };
                let result = (job.run)(&mut ctx);
                let job_events = std::mem::take(&mut ctx.events);
                match result {
                    Ok(v) => match sp.commit() {
                        Ok(()) => {
                            batch_events.extend(job_events);
                            Ok(v)
                        }
                        Err(e) => Err(StoreError::Db(e)),
                    },
                    // Dropping the savepoint rolls this job back; the batch goes on.
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(StoreError::Db(e)),
        };
        done.push((job.reply, outcome));
    }
    match tx.commit() {
        Ok(()) => {
            // Publish before replying: when a write returns, its events are already out, so a
            // caller that subscribed earlier sees them (tests rely on it, and so may handlers).
            for ev in batch_events {
                let _ = events.send(Arc::new(ev));
            }
            for (reply, outcome) in done {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, "batch commit failed");
            for (reply, _) in done {
                let _ = reply.send(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
            }
        }
    }
}
