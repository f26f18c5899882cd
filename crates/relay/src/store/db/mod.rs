//! The one small place where the two SQL back-ends differ.
//!
//! Every query of the relay is written once, in the SQL both SQLite and PostgreSQL accept, and
//! runs through [`Db`]: a connection to either back-end with the few calls the store needs
//! (`execute`, `query_row`, `prepare(..).query_map`, `execute_batch`), shaped like rusqlite's so
//! the store reads like plain SQL code. What differs lives here and in the files beside it:
//! - placeholders: queries use `?N`; PostgreSQL gets `$N` ([`dialect::translate`]);
//! - values: parameters bind from Rust types ([`ToDb`]) and columns read into Rust types
//!   ([`FromDb`]); on PostgreSQL integers, booleans (stored as 0/1 `BIGINT`), `NUMERIC` results of
//!   `SUM` and texts are converted by what the server says the column or parameter is ([`pg`]);
//! - DDL: each back-end has its own migrations (`migrations/` and `migrations/postgres/`, same
//!   version numbers), and transactions, savepoints and the cluster-wide write lock are methods
//!   here ([`Db::begin_write`] and friends);
//! - errors: [`DbError`] carries either driver's error, and "no row" as its own case.

pub mod dialect;
pub mod pg;

use std::fmt;

pub use pg::PgValue;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg::describe(.0))]
    Pg(#[from] postgres::Error),
    #[error("query returned no rows")]
    NoRows,
    #[error("column {column}: {reason}")]
    Column { column: usize, reason: String },
}

impl DbError {
    fn column(column: usize, reason: impl Into<String>) -> DbError {
        DbError::Column {
            column,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// `query_row(..).optional()`: no row is `None`, not an error.
pub trait Optional<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> Optional<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Which back-end a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A connection to either back-end.
pub struct Db {
    kind: Kind,
}

enum Kind {
    Lite(rusqlite::Connection),
    Pg(Box<pg::PgConn>),
}

/// PostgreSQL advisory locks are per database; a cluster is one schema (relays on other schemas
/// of the same database are other clusters), so each lock is keyed by the schema and a number.
pub fn advisory_key(n: i32) -> String {
    format!("hashtext(current_schema()), {n}")
}
/// The cluster-wide write lock: one write batch at a time over all relays, so `seq` order is
/// commit order and routing decisions see every earlier one.
pub const WRITE_LOCK: i32 = 1;
/// The migration lock: relays starting together migrate once.
pub const MIGRATE_LOCK: i32 = 2;
/// The leader lock: timers and the sender run on one relay of the cluster.
pub const LEADER_LOCK: i32 = 3;

/// `?from, ?from+1, ...`: `n` numbered placeholders for an `IN (...)` list.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL condition "the text or bytes of `column` contain parameter `?param`" (SQLite's
/// `instr`, PostgreSQL's `strpos`/`position`).
pub fn contains_sql(backend: Backend, column: &str, param: usize, bytes: bool) -> String {
    match (backend, bytes) {
        (Backend::Sqlite, _) => format!("instr({column}, ?{param}) > 0"),
        (Backend::Postgres, false) => format!("strpos({column}, ?{param}) > 0"),
        (Backend::Postgres, true) => format!("position(?{param} in {column}) > 0"),
    }
}

impl Db {
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db {
            kind: Kind::Lite(conn),
        }
    }

    pub fn postgres(client: postgres::Client) -> Db {
        Db {
            kind: Kind::Pg(Box::new(pg::PgConn::new(client))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Lite(_) => Backend::Sqlite,
            Kind::Pg(_) => Backend::Postgres,
        }
    }

    /// Runs one statement through the statement cache; returns the rows changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// Same as [`Db::execute`] (kept for the write path's call sites).
    pub fn exec<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.execute(sql, params)
    }

    /// Runs statements without parameters (DDL, transaction control).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.kind {
            Kind::Lite(c) => Ok(c.execute_batch(sql)?),
            Kind::Pg(c) => c.batch(sql),
        }
    }

    /// The first row mapped by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            kind: match &self.kind {
                Kind::Lite(c) => StmtKind::Lite(c.prepare_cached(sql)?),
                Kind::Pg(c) => StmtKind::Pg {
                    conn: c,
                    stmt: c.statement(sql)?,
                },
            },
        })
    }

    /// Starts a write transaction. On PostgreSQL it also takes the cluster-wide write lock (held
    /// until commit or rollback), so write batches of all relays on the database run one at a
    /// time, as the single SQLite writer does.
    pub fn begin_write(&self) -> Result<()> {
        match &self.kind {
            Kind::Lite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            Kind::Pg(c) => c.batch(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({})",
                advisory_key(WRITE_LOCK)
            )),
        }
    }

    pub fn commit(&self) -> Result<()> {
        self.execute_batch("COMMIT")
    }

    pub fn rollback(&self) -> Result<()> {
        self.execute_batch("ROLLBACK")
    }

    pub fn savepoint(&self) -> Result<()> {
        self.execute_batch("SAVEPOINT job")
    }

    pub fn release_savepoint(&self) -> Result<()> {
        self.execute_batch("RELEASE SAVEPOINT job")
    }

    pub fn rollback_savepoint(&self) -> Result<()> {
        self.execute_batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
    }

    /// PostgreSQL: asks the server to ring `channel` for every listener once this transaction
    /// commits (no-op on SQLite, whose one process has no one else to tell).
    pub fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        match &self.kind {
            Kind::Lite(_) => Ok(()),
            Kind::Pg(c) => {
                let stmt = c.statement("SELECT pg_notify(?1, ?2)")?;
                c.query(&stmt, &[&channel, &payload])?;
                Ok(())
            }
        }
    }

    /// The PostgreSQL client, for LISTEN and advisory locks held by a session.
    pub fn pg_client(&self) -> Option<std::cell::RefMut<'_, postgres::Client>> {
        match &self.kind {
            Kind::Lite(_) => None,
            Kind::Pg(c) => Some(c.client()),
        }
    }

    /// Whether the connection is still usable (PostgreSQL connections can be closed by the
    /// server; a broken one is dropped instead of being returned to a pool).
    pub fn is_broken(&self) -> bool {
        match &self.kind {
            Kind::Lite(_) => false,
            Kind::Pg(c) => c.client().is_closed(),
        }
    }
}

/// A prepared statement.
pub struct Stmt<'c> {
    kind: StmtKind<'c>,
}

enum StmtKind<'c> {
    Lite(rusqlite::CachedStatement<'c>),
    Pg {
        conn: &'c pg::PgConn,
        stmt: (postgres::Statement, std::sync::Arc<str>),
    },
}

impl Stmt<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.kind {
            StmtKind::Lite(s) => {
                bind_lite(s, &params)?;
                Ok(s.raw_execute()?)
            }
            StmtKind::Pg { conn, stmt } => {
                let values = pg_values(&params);
                Ok(conn.execute(stmt, &pg::refs(&values))? as usize)
            }
        }
    }

    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match &mut self.kind {
            StmtKind::Lite(s) => {
                bind_lite(s, &params)?;
                let mut rows = s.raw_query();
                match rows.next()? {
                    Some(r) => f(&Row(RowKind::Lite(r))),
                    None => Err(DbError::NoRows),
                }
            }
            StmtKind::Pg { conn, stmt } => {
                let values = pg_values(&params);
                let rows = conn.query(stmt, &pg::refs(&values))?;
                match rows.first() {
                    Some(r) => f(&Row(RowKind::Pg(r))),
                    None => Err(DbError::NoRows),
                }
            }
        }
    }

    /// Every row mapped by `f`, in order.
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(match &mut self.kind {
            StmtKind::Lite(s) => {
                bind_lite(s, &params)?;
                MappedRows {
                    rows: RowsKind::Lite(s.raw_query()),
                    f,
                }
            }
            StmtKind::Pg { conn, stmt } => {
                let values = pg_values(&params);
                let rows = conn.query(stmt, &pg::refs(&values))?;
                MappedRows {
                    rows: RowsKind::Pg(rows.into_iter()),
                    f,
                }
            }
        })
    }

    /// Whether the query returns at least one row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        self.query_row(params, |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }
}

/// The rows of [`Stmt::query_map`].
pub struct MappedRows<'s, F> {
    rows: RowsKind<'s>,
    f: F,
}

enum RowsKind<'s> {
    Lite(rusqlite::Rows<'s>),
    Pg(std::vec::IntoIter<postgres::Row>),
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match &mut self.rows {
            RowsKind::Lite(rows) => match rows.next() {
                Ok(Some(r)) => Some((self.f)(&Row(RowKind::Lite(r)))),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
            RowsKind::Pg(rows) => rows.next().map(|r| (self.f)(&Row(RowKind::Pg(&r)))),
        }
    }
}

/// One result row.
pub struct Row<'r>(RowKind<'r>);

enum RowKind<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `idx` (from 0) as `T`.
    pub fn get<T: FromDb>(&self, idx: usize) -> Result<T> {
        match &self.0 {
            RowKind::Lite(r) => T::from_lite(r, idx),
            RowKind::Pg(r) => {
                let v: PgValue = r
                    .try_get(idx)
                    .map_err(|e| DbError::column(idx, e.to_string()))?;
                T::from_pg(v).map_err(|reason| DbError::column(idx, reason))
            }
        }
    }
}

/// A Rust value that binds as a query parameter on either back-end.
pub trait ToDb: rusqlite::ToSql {
    fn to_pg(&self) -> PgValue;
}

/// A Rust value that a column reads into on either back-end.
pub trait FromDb: Sized {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self>;
    fn from_pg(v: PgValue) -> Result<Self, String>;
}

macro_rules! int_types {
    ($($t:ty),*) => {$(
        impl ToDb for $t {
            fn to_pg(&self) -> PgValue {
                PgValue::Int(*self as i64)
            }
        }
        impl FromDb for $t {
            fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
                Ok(row.get(idx)?)
            }
            fn from_pg(v: PgValue) -> Result<Self, String> {
                let i = v.as_i64()?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
int_types!(i64, i32, u32, u16, u8);

impl ToDb for usize {
    fn to_pg(&self) -> PgValue {
        PgValue::Int(*self as i64)
    }
}

impl FromDb for usize {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        let i: i64 = row.get(idx)?;
        usize::try_from(i).map_err(|_| DbError::column(idx, format!("{i} is negative")))
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        let i = v.as_i64()?;
        usize::try_from(i).map_err(|_| format!("{i} is negative"))
    }
}

impl ToDb for bool {
    fn to_pg(&self) -> PgValue {
        PgValue::Int(*self as i64)
    }
}

impl FromDb for bool {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        Ok(row.get(idx)?)
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        Ok(v.as_i64()? != 0)
    }
}

impl ToDb for f64 {
    fn to_pg(&self) -> PgValue {
        PgValue::Real(*self)
    }
}

impl FromDb for f64 {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        Ok(row.get(idx)?)
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        match v {
            PgValue::Real(f) => Ok(f),
            PgValue::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", other.kind())),
        }
    }
}

impl ToDb for String {
    fn to_pg(&self) -> PgValue {
        PgValue::Text(self.clone())
    }
}

impl ToDb for str {
    fn to_pg(&self) -> PgValue {
        PgValue::Text(self.to_string())
    }
}

impl FromDb for String {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        Ok(row.get(idx)?)
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        match v {
            PgValue::Text(s) => Ok(s),
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }
}

impl ToDb for Vec<u8> {
    fn to_pg(&self) -> PgValue {
        PgValue::Blob(self.clone())
    }
}

impl ToDb for [u8] {
    fn to_pg(&self) -> PgValue {
        PgValue::Blob(self.to_vec())
    }
}

impl FromDb for Vec<u8> {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        Ok(row.get(idx)?)
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        match v {
            PgValue::Blob(b) => Ok(b),
            PgValue::Text(s) => Ok(s.into_bytes()),
            other => Err(format!("expected bytes, found {}", other.kind())),
        }
    }
}

impl<T: ToDb> ToDb for Option<T> {
    fn to_pg(&self) -> PgValue {
        match self {
            Some(v) => v.to_pg(),
            None => PgValue::Null,
        }
    }
}

impl<T: FromDb> FromDb for Option<T> {
    fn from_lite(row: &rusqlite::Row<'_>, idx: usize) -> Result<Self> {
        match row.get_ref(idx)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            _ => T::from_lite(row, idx).map(Some),
        }
    }
    fn from_pg(v: PgValue) -> Result<Self, String> {
        match v {
            PgValue::Null => Ok(None),
            v => T::from_pg(v).map(Some),
        }
    }
}

impl<T: ToDb + ?Sized> ToDb for &T {
    fn to_pg(&self) -> PgValue {
        (**self).to_pg()
    }
}

impl ToDb for rusqlite::types::Value {
    fn to_pg(&self) -> PgValue {
        use rusqlite::types::Value as V;
        match self {
            V::Null => PgValue::Null,
            V::Integer(i) => PgValue::Int(*i),
            V::Real(f) => PgValue::Real(*f),
            V::Text(s) => PgValue::Text(s.clone()),
            V::Blob(b) => PgValue::Blob(b.clone()),
        }
    }
}

/// Query parameters: `params![a, b]`, `()`, a tuple, an array or a slice of values.
pub trait Params {
    fn each(&self, f: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()>;
}

impl Params for () {
    fn each(&self, _: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()> {
        Ok(())
    }
}

impl<T: ToDb> Params for Vec<T> {
    fn each(&self, f: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()> {
        self.as_slice().each(f)
    }
}

impl<T: ToDb, const N: usize> Params for [T; N] {
    fn each(&self, f: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()> {
        for (i, v) in self.iter().enumerate() {
            f(i, v)?;
        }
        Ok(())
    }
}

impl<T: ToDb> Params for &[T] {
    fn each(&self, f: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()> {
        for (i, v) in self.iter().enumerate() {
            f(i, v)?;
        }
        Ok(())
    }
}

macro_rules! tuple_params {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: ToDb),+> Params for ($($t,)+) {
            fn each(&self, f: &mut dyn FnMut(usize, &dyn ToDb) -> Result<()>) -> Result<()> {
                $( f($i, &self.$i)?; )+
                Ok(())
            }
        }
    )*};
}
tuple_params! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
}

/// `params![a, b, ..]`: a slice of values of mixed types.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::db::ToDb]
    };
    ($($v:expr),+ $(,)?) => {
        &[$(&$v as &dyn $crate::store::db::ToDb),+] as &[&dyn $crate::store::db::ToDb]
    };
}
pub use crate::params;

fn bind_lite<P: Params + ?Sized>(stmt: &mut rusqlite::Statement<'_>, params: &P) -> Result<()> {
    params.each(&mut |i, v| {
        stmt.raw_bind_parameter(i + 1, v as &dyn rusqlite::ToSql)?;
        Ok(())
    })
}

fn pg_values<P: Params + ?Sized>(params: &P) -> Vec<PgValue> {
    let mut out = Vec::new();
    let _ = params.each(&mut |_, v| {
        out.push(v.to_pg());
        Ok(())
    });
    out
}
