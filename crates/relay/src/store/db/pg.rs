//! PostgreSQL side of [`super::Db`]: a connection with its statement cache, and values that
//! convert by the type the server reports, so the store's Rust types (i64 for integers and 0/1
//! flags, String, f64, bytes) work unchanged against `BIGINT`, `INTEGER`, `BOOLEAN` (a comparison
//! in a select list), `NUMERIC` (`SUM`), `DOUBLE PRECISION`, `TEXT` and `BYTEA`.

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use super::{dialect, Result};

/// Statements kept prepared per connection; past this the cache starts over (dynamic SQL).
const CACHE_MAX: usize = 1024;

/// Time spent per statement, when `SWITCHBOARD_PG_PROFILE` is set (benchmarks print it).
pub mod profile {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    fn enabled() -> bool {
        static ON: OnceLock<bool> = OnceLock::new();
        *ON.get_or_init(|| std::env::var_os("SWITCHBOARD_PG_PROFILE").is_some())
    }

    fn table() -> &'static Mutex<HashMap<String, (u64, Duration)>> {
        static T: OnceLock<Mutex<HashMap<String, (u64, Duration)>>> = OnceLock::new();
        T.get_or_init(Default::default)
    }

    /// Runs `f`, adding its time to `sql`'s line.
    pub fn time<R>(sql: &str, f: impl FnOnce() -> R) -> R {
        if !enabled() {
            return f();
        }
        let t = std::time::Instant::now();
        let r = f();
        let mut table = table().lock().unwrap_or_else(|p| p.into_inner());
        let e = table.entry(sql.to_string()).or_default();
        e.0 += 1;
        e.1 += t.elapsed();
        r
    }

    /// (statement, calls, total time), most time first; empties the table.
    pub fn take() -> Vec<(String, u64, Duration)> {
        let mut table = table().lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = table.drain().map(|(k, (n, d))| (k, n, d)).collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.2));
        v
    }
}

pub struct PgConn {
    /// Always `Some` until dropped.
    client: RefCell<Option<postgres::Client>>,
    cache: RefCell<HashMap<String, (postgres::Statement, std::sync::Arc<str>)>>,
}

impl PgConn {
    pub fn new(client: postgres::Client) -> PgConn {
        PgConn {
            client: RefCell::new(Some(client)),
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> RefMut<'_, postgres::Client> {
        RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut().expect("client present until drop")
        })
    }

    /// The prepared statement of `sql` and its text (the profile's key).
    pub fn statement(&self, sql: &str) -> Result<(postgres::Statement, std::sync::Arc<str>)> {
        if let Some(s) = self.cache.borrow().get(sql) {
            return Ok(s.clone());
        }
        let translated = dialect::translate(sql);
        let stmt = profile::time("(prepare)", || self.client().prepare(&translated))?;
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        let entry = (stmt, std::sync::Arc::<str>::from(sql));
        cache.insert(sql.to_string(), entry.clone());
        Ok(entry)
    }

    pub fn batch(&self, sql: &str) -> Result<()> {
        Ok(profile::time(sql, || self.client().batch_execute(sql))?)
    }

    pub fn execute(
        &self,
        (stmt, sql): &(postgres::Statement, std::sync::Arc<str>),
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64> {
        Ok(profile::time(sql, || self.client().execute(stmt, params))?)
    }

    pub fn query(
        &self,
        (stmt, sql): &(postgres::Statement, std::sync::Arc<str>),
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>> {
        Ok(profile::time(sql, || self.client().query(stmt, params))?)
    }
}

impl Drop for PgConn {
    /// The client closes its connection on its own small runtime, which must not happen on a
    /// thread that is running async tasks (a store handle may be dropped there): hand it to a
    /// plain thread then.
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("pg-close".into())
                    .spawn(move || drop(client));
            }
        }
    }
}

pub fn refs(values: &[PgValue]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A PostgreSQL error as one line: the server's message, detail and code where there is one.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => e.to_string(),
    }
}

/// One value going to or coming from PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub enum PgValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl PgValue {
    pub fn kind(&self) -> &'static str {
        match self {
            PgValue::Null => "NULL",
            PgValue::Int(_) => "an integer",
            PgValue::Real(_) => "a real number",
            PgValue::Text(_) => "text",
            PgValue::Blob(_) => "bytes",
        }
    }

    pub fn as_i64(&self) -> Result<i64, String> {
        match self {
            PgValue::Int(i) => Ok(*i),
            PgValue::Real(f) if f.fract() == 0.0 => Ok(*f as i64),
            other => Err(format!("expected an integer, found {}", other.kind())),
        }
    }
}

type BoxError = Box<dyn StdError + Sync + Send>;

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::BOOL => PgValue::Int(bool::from_sql(ty, raw)? as i64),
            Type::INT2 => PgValue::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => PgValue::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => PgValue::Int(i64::from_sql(ty, raw)?),
            Type::OID => PgValue::Int(u32::from_sql(ty, raw)? as i64),
            Type::FLOAT4 => PgValue::Real(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => PgValue::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => PgValue::Blob(raw.to_vec()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                PgValue::Text(String::from_sql(ty, raw)?)
            }
            Type::JSON => PgValue::Text(String::from_utf8(raw.to_vec())?),
            Type::JSONB => PgValue::Text(String::from_utf8(raw.get(1..).unwrap_or(&[]).to_vec())?),
            ref other => return Err(format!("unsupported column type {other}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(PgValue::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `NUMERIC` in binary form (what `SUM(bigint)` and `AVG` answer): an integer when it has no
/// fraction and fits, else a float.
fn numeric(raw: &[u8]) -> Result<PgValue, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "short NUMERIC".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i32;
    let sign = word(4)? as u16;
    let dscale = word(6)?;
    if sign == 0xC000 {
        return Ok(PgValue::Real(f64::NAN));
    }
    let mut value = 0f64;
    let mut int: Option<i128> = Some(0);
    for d in 0..ndigits {
        let digit = word(8 + 2 * d)? as i64;
        let exp = weight - d as i32;
        value += digit as f64 * 10000f64.powi(exp);
        int = match int {
            Some(acc) if exp >= 0 => 10000i128
                .checked_pow(exp as u32)
                .and_then(|p| acc.checked_add(digit as i128 * p)),
            Some(acc) if digit == 0 => Some(acc),
            _ => None,
        };
    }
    let negative = sign == 0x4000;
    if dscale == 0 || int.is_some() {
        if let Some(i) = int.and_then(|i| i64::try_from(i).ok()) {
            return Ok(PgValue::Int(if negative { -i } else { i }));
        }
    }
    Ok(PgValue::Real(if negative { -value } else { value }))
}

impl ToSql for PgValue {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            PgValue::Null => Ok(IsNull::Yes),
            PgValue::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                ref other => Err(format!("cannot bind an integer as {other}").into()),
            },
            PgValue::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 if f.fract() == 0.0 => (*f as i64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => f.to_string().to_sql(ty, out),
                ref other => Err(format!("cannot bind a real number as {other}").into()),
            },
            PgValue::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    s.as_str().to_sql(ty, out)
                }
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                ref other => Err(format!("cannot bind text as {other}").into()),
            },
            PgValue::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                ref other => Err(format!("cannot bind bytes as {other}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(words: &[i16]) -> PgValue {
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        numeric(&raw).unwrap()
    }

    #[test]
    fn numeric_decodes_integers_and_fractions() {
        // 12345678 = 1234 * 10000 + 5678: two digits, weight 1.
        assert_eq!(num(&[2, 1, 0, 0, 1234, 5678]), PgValue::Int(12_345_678));
        assert_eq!(num(&[1, 0, 0x4000u16 as i16, 0, 7]), PgValue::Int(-7));
        assert_eq!(num(&[0, 0, 0, 0]), PgValue::Int(0));
        // 2.5 = 2 + 5000/10000, dscale 1.
        assert_eq!(num(&[2, 0, 0, 1, 2, 5000]), PgValue::Real(2.5));
        // 20000 stored as one digit of weight 1.
        assert_eq!(num(&[1, 1, 0, 0, 2]), PgValue::Int(20_000));
    }
}
