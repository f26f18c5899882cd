//! WhatsApp Business Accounts and Meta apps: which numbers an account holds, its own access
//! token and its app's secret (both sealed, see `crate::secrets`; this module stores and reads
//! the sealed text only). What the relay does with them is `crate::credentials`.

use switchboard_protocol::admin::{BusinessAccount, MetaApp};

use super::db::{params, Db, Optional};
use super::{Result, StoreError, WriteCtx};

/// Every account the relay knows (from its numbers or set by an admin), by WABA id.
pub fn list(conn: &Db) -> Result<Vec<BusinessAccount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.waba_id, a.name, a.app_id, a.token IS NOT NULL, a.updated_at
         FROM (SELECT waba_id FROM phone_numbers WHERE waba_id IS NOT NULL AND waba_id <> ''
               UNION SELECT waba_id FROM business_accounts) w
         LEFT JOIN business_accounts a ON a.waba_id = w.waba_id
         ORDER BY w.waba_id",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok(BusinessAccount {
            waba_id: r.get(0)?,
            name: r.get(1)?,
            app_id: r.get(2)?,
            has_token: r.get::<Option<bool>>(3)?.unwrap_or(false),
            numbers: Vec::new(),
            updated_at: r.get(4)?,
        })
    })?;
    let mut accounts: Vec<BusinessAccount> = rows.collect::<super::db::Result<_>>()?;
    for (pnid, waba) in numbers(conn)? {
        if let Some(a) = accounts.iter_mut().find(|a| a.waba_id == waba) {
            a.numbers.push(pnid);
        }
    }
    Ok(accounts)
}

/// (phone number id, WABA id) of every number that names its account.
pub fn numbers(conn: &Db) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, waba_id FROM phone_numbers WHERE waba_id IS NOT NULL AND waba_id <> '' ORDER BY phone_number_id",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// One account row's sealed credentials: WABA id, app id, sealed token.
pub type SealedAccount = (String, Option<String>, Option<String>);

/// The sealed credentials of every account row.
pub fn sealed_accounts(conn: &Db) -> Result<Vec<SealedAccount>> {
    let mut stmt = conn
        .prepare_cached("SELECT waba_id, app_id, token FROM business_accounts ORDER BY waba_id")?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// (app id, sealed secret) of every Meta app.
pub fn sealed_apps(conn: &Db) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT app_id, secret FROM meta_apps ORDER BY app_id")?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

pub fn apps(conn: &Db) -> Result<Vec<MetaApp>> {
    let mut stmt =
        conn.prepare_cached("SELECT app_id, updated_at FROM meta_apps ORDER BY app_id")?;
    let rows = stmt.query_map((), |r| {
        Ok(MetaApp {
            app_id: r.get(0)?,
            updated_at: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// What an admin changes on an account (`None`: kept); the token is sealed by the caller.
pub struct AccountChange<'a> {
    pub name: Option<Option<&'a str>>,
    pub app_id: Option<Option<&'a str>>,
    /// `None`: kept; `Some(None)`: removed; `Some(Some(sealed))`: replaced.
    pub token: Option<Option<&'a str>>,
}

/// Creates or changes an account. An app it names must exist.
pub fn put_account(ctx: &mut WriteCtx<'_>, waba_id: &str, c: &AccountChange<'_>) -> Result<()> {
    if let Some(Some(app)) = c.app_id {
        let known: Option<i64> = ctx
            .conn
            .query_row("SELECT 1 FROM meta_apps WHERE app_id = ?1", [app], |r| {
                r.get(0)
            })
            .optional()?;
        if known.is_none() {
            return Err(StoreError::Invalid(format!(
                "Meta app {app} is not known: add it with its app secret first"
            )));
        }
    }
    ctx.conn.exec(
        "INSERT INTO business_accounts (waba_id, name, app_id, token, created_at, updated_at)
         VALUES (?1, ?2, ?3, NULL, ?4, ?4)
         ON CONFLICT (waba_id) DO UPDATE SET
            name = CASE WHEN ?5 = 1 THEN excluded.name ELSE business_accounts.name END,
            app_id = CASE WHEN ?6 = 1 THEN excluded.app_id ELSE business_accounts.app_id END,
            updated_at = excluded.updated_at",
        params![
            waba_id,
            c.name.flatten(),
            c.app_id.flatten(),
            ctx.now,
            i64::from(c.name.is_some()),
            i64::from(c.app_id.is_some())
        ],
    )?;
    if let Some(token) = c.token {
        ctx.conn.exec(
            "UPDATE business_accounts SET token = ?2 WHERE waba_id = ?1",
            params![waba_id, token],
        )?;
    }
    Ok(())
}

/// Adds a Meta app or replaces its (sealed) secret.
pub fn put_app(ctx: &mut WriteCtx<'_>, app_id: &str, sealed_secret: &str) -> Result<()> {
    ctx.conn.exec(
        "INSERT INTO meta_apps (app_id, secret, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (app_id) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at",
        params![app_id, sealed_secret, ctx.now],
    )?;
    Ok(())
}

/// Removes a Meta app no account belongs to.
pub fn delete_app(ctx: &mut WriteCtx<'_>, app_id: &str) -> Result<bool> {
    let used: i64 = ctx.conn.query_row(
        "SELECT COUNT(*) FROM business_accounts WHERE app_id = ?1",
        [app_id],
        |r| r.get(0),
    )?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "{used} business account(s) belong to Meta app {app_id}: move them first"
        )));
    }
    Ok(ctx
        .conn
        .exec("DELETE FROM meta_apps WHERE app_id = ?1", [app_id])?
        > 0)
}
