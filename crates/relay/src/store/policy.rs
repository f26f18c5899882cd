//! SQL of the outbound policy and automations: sensitive words, auto-reply rules and their
//! cooldown log, business hours and the away log, rate settings, synced templates and blocks.

use std::collections::BTreeMap;

use crate::store::db::{params, Db, Optional};
use serde_json::json;
use switchboard_protocol::api::SendRequest;

use super::{Result, StoreError};
use crate::policy::autoreply::{MatchMode, Rule};
use crate::policy::hours::{self, BusinessHours};
use crate::policy::ratelimit::RateSettings;
use crate::policy::templates::StoredTemplate;

// ---------------------------------------------------------------- sensitive words

/// The list for every language.
pub fn sensitive_words(conn: &Db) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT entry FROM sensitive_words WHERE language = '' ORDER BY id")?;
    let rows = stmt.query_map((), |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// The per-language lists, by language code.
pub fn sensitive_word_languages(conn: &Db) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (lang, entry) in sensitive_word_rows(conn)? {
        if !lang.is_empty() {
            out.entry(lang).or_default().push(entry);
        }
    }
    Ok(out)
}

/// Every stored `(language, entry)`, `""` being every language, in a stable order (the
/// compiled lists are kept while these rows stay equal).
pub fn sensitive_word_rows(conn: &Db) -> Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT language, entry FROM sensitive_words ORDER BY language, id")?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Replaces the list for every language (the per-language lists stay).
pub fn replace_sensitive_words(conn: &Db, entries: &[String], now: i64) -> Result<()> {
    conn.execute("DELETE FROM sensitive_words WHERE language = ''", ())?;
    insert_words(conn, "", entries, now)
}

/// Replaces all per-language lists (a language missing from `lists` has none afterwards).
pub fn replace_language_lists(
    conn: &Db,
    lists: &BTreeMap<String, Vec<String>>,
    now: i64,
) -> Result<()> {
    conn.execute("DELETE FROM sensitive_words WHERE language <> ''", ())?;
    for (lang, entries) in lists {
        insert_words(conn, lang, entries, now)?;
    }
    Ok(())
}

fn insert_words(conn: &Db, language: &str, entries: &[String], now: i64) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO sensitive_words (entry, language, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for e in entries {
        stmt.execute(params![e, language, now])?;
    }
    Ok(())
}

/// The language of a conversation's customer, as the relay tells it: from their number and
/// their latest message ([`hours::customer_language`], the guess routing's skill rules use),
/// `en` when neither says.
pub fn conversation_language(conn: &Db, conversation_id: i64) -> Result<String> {
    let wa_id: Option<String> = conn
        .prepare_cached(
            "SELECT k.wa_id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1",
        )?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?
        .flatten();
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT text FROM messages WHERE conversation_id = ?1 AND direction = 'in' ORDER BY id DESC LIMIT 1",
        )?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?;
    Ok(hours::customer_language(
        wa_id.as_deref(),
        text.as_deref().unwrap_or_default(),
        "en",
    ))
}

// ---------------------------------------------------------------- auto-reply rules

pub use switchboard_protocol::policy::{AutoReply, MediaReply, NewAutoReply, ReplyContent};

/// A stored rule, flattened for compiling.
pub struct RuleRow {
    pub id: i64,
    pub phone_number_id: String,
    pub reply: ReplyContent,
    pub handoff: bool,
    pub rule: NewAutoReply,
}

impl RuleRow {
    pub fn to_rule(&self) -> Rule {
        to_rule(self.id, &self.rule)
    }
}

pub fn to_rule(id: i64, r: &NewAutoReply) -> Rule {
    Rule {
        id,
        name: r.name.clone(),
        keywords: r.keywords.clone(),
        mode: r.match_mode,
        whole_word: r.whole_word,
        priority: r.priority,
        cooldown_ms: r.cooldown_seconds.saturating_mul(1000),
    }
}

fn mode_parse(s: &str) -> MatchMode {
    match s {
        "all" => MatchMode::All,
        "exact" => MatchMode::Exact,
        "regex" => MatchMode::Regex,
        _ => MatchMode::Any,
    }
}

/// Every auto-reply rule, by number and priority.
pub fn auto_replies(conn: &Db) -> Result<Vec<AutoReply>> {
    auto_replies_between(conn, i64::MIN, i64::MAX)
}

/// One rule, if it exists.
pub fn auto_reply(conn: &Db, id: i64) -> Result<Option<AutoReply>> {
    Ok(auto_replies_between(conn, id, id)?.pop())
}

/// The rules with ids in `from..=to`.
fn auto_replies_between(conn: &Db, from: i64, to: i64) -> Result<Vec<AutoReply>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, phone_number_id, name, keywords, match_mode, whole_word, reply, priority, cooldown_ms, handoff, created_by, created_at,
                paused, updated_by, updated_at
         FROM auto_reply_rules WHERE id >= ?1 AND id <= ?2 ORDER BY phone_number_id, priority DESC, id",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((
            r.get::<i64>(0)?,
            r.get::<String>(1)?,
            r.get::<String>(2)?,
            r.get::<String>(3)?,
            r.get::<String>(4)?,
            r.get::<bool>(5)?,
            r.get::<String>(6)?,
            r.get::<i64>(7)?,
            r.get::<i64>(8)?,
            r.get::<bool>(9)?,
            r.get::<String>(10)?,
            r.get::<i64>(11)?,
            (
                r.get::<bool>(12)?,
                r.get::<Option<String>>(13)?,
                r.get::<Option<i64>>(14)?,
            ),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, pnid, name, kw, mode, whole, reply, prio, cd, handoff, by, at, edit) = row?;
        let (paused, updated_by, updated_at) = edit;
        out.push(AutoReply {
            id,
            rule: NewAutoReply {
                phone_number_id: pnid,
                name,
                keywords: serde_json::from_str(&kw)?,
                match_mode: mode_parse(&mode),
                whole_word: whole,
                reply: serde_json::from_str(&reply)?,
                priority: prio,
                cooldown_seconds: cd / 1000,
                handoff,
                paused,
            },
            created_by: by,
            created_at: at,
            updated_by,
            updated_at,
        });
    }
    Ok(out)
}

pub fn rules(conn: &Db) -> Result<Vec<RuleRow>> {
    Ok(auto_replies(conn)?
        .into_iter()
        .map(|a| RuleRow {
            id: a.id,
            phone_number_id: a.rule.phone_number_id.clone(),
            reply: a.rule.reply.clone(),
            handoff: a.rule.handoff,
            rule: a.rule,
        })
        .collect())
}

pub fn insert_auto_reply(conn: &Db, r: &NewAutoReply, actor: &str, now: i64) -> Result<AutoReply> {
    let id: i64 = conn.query_row(
        "INSERT INTO auto_reply_rules (phone_number_id, name, keywords, match_mode, whole_word, reply, priority, cooldown_ms, handoff, created_by, created_at, paused)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        params![
            r.phone_number_id,
            r.name,
            serde_json::to_string(&r.keywords)?,
            r.match_mode.as_str(),
            r.whole_word,
            serde_json::to_string(&r.reply)?,
            r.priority,
            r.cooldown_seconds.saturating_mul(1000),
            r.handoff,
            actor,
            now,
            r.paused
        ],
        |r| r.get(0),
    )?;
    Ok(AutoReply {
        id,
        rule: r.clone(),
        created_by: actor.into(),
        created_at: now,
        updated_by: None,
        updated_at: None,
    })
}

/// Replaces rule `id` (its cooldown log is kept: a customer just answered is not answered again
/// because the wording changed).
pub fn update_auto_reply(
    conn: &Db,
    id: i64,
    r: &NewAutoReply,
    actor: &str,
    now: i64,
) -> Result<AutoReply> {
    let changed = conn.execute(
        "UPDATE auto_reply_rules SET phone_number_id = ?2, name = ?3, keywords = ?4, match_mode = ?5, whole_word = ?6,
            reply = ?7, priority = ?8, cooldown_ms = ?9, handoff = ?10, paused = ?11, updated_by = ?12, updated_at = ?13
         WHERE id = ?1",
        params![
            id,
            r.phone_number_id,
            r.name,
            serde_json::to_string(&r.keywords)?,
            r.match_mode.as_str(),
            r.whole_word,
            serde_json::to_string(&r.reply)?,
            r.priority,
            r.cooldown_seconds.saturating_mul(1000),
            r.handoff,
            r.paused,
            actor,
            now
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("auto-reply rule {id}")));
    }
    auto_reply(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("auto-reply rule {id}")))
}

pub fn delete_auto_reply(conn: &Db, id: i64) -> Result<()> {
    if conn.execute("DELETE FROM auto_reply_rules WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound(format!("auto-reply rule {id}")));
    }
    conn.execute("DELETE FROM auto_reply_log WHERE rule_id = ?1", [id])?;
    Ok(())
}

pub fn rule_last_sent(conn: &Db, rule_id: i64, conversation_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT sent_at FROM auto_reply_log WHERE rule_id = ?1 AND conversation_id = ?2",
        )?
        .query_row(params![rule_id, conversation_id], |r| r.get(0))
        .optional()?)
}

pub fn note_rule_sent(conn: &Db, rule_id: i64, conversation_id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO auto_reply_log (rule_id, conversation_id, sent_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (rule_id, conversation_id) DO UPDATE SET sent_at = excluded.sent_at",
    )?
    .execute(params![rule_id, conversation_id, now])?;
    Ok(())
}

// ---------------------------------------------------------------- business hours

/// Every stored hours setting of one kind: `sql` selects (key, settings JSON).
fn hours_rows<K: super::db::FromDb>(conn: &Db, sql: &str) -> Result<Vec<(K, BusinessHours)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map((), |r| Ok((r.get::<K>(0)?, r.get::<String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, s) = row?;
        out.push((id, serde_json::from_str(&s)?));
    }
    Ok(out)
}

/// Everything the compiled policy snapshot is built from.
pub fn policy_inputs(conn: &Db) -> Result<crate::policy::Inputs> {
    Ok(crate::policy::Inputs {
        words: sensitive_word_rows(conn)?,
        rules: rules(conn)?,
        hours: all_business_hours(conn)?,
        team_hours: all_team_business_hours(conn)?,
    })
}

pub fn all_business_hours(conn: &Db) -> Result<Vec<(String, BusinessHours)>> {
    hours_rows(conn, "SELECT phone_number_id, settings FROM business_hours")
}

pub fn put_business_hours(conn: &Db, pnid: &str, h: &BusinessHours, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO business_hours (phone_number_id, settings, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (phone_number_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        params![pnid, serde_json::to_string(h)?, now],
    )?;
    Ok(())
}

pub fn delete_business_hours(conn: &Db, pnid: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM business_hours WHERE phone_number_id = ?1",
        [pnid],
    )? > 0)
}

pub fn all_team_business_hours(conn: &Db) -> Result<Vec<(i64, BusinessHours)>> {
    hours_rows(conn, "SELECT team_id, settings FROM team_business_hours")
}

pub fn team_business_hours(conn: &Db, team_id: i64) -> Result<Option<BusinessHours>> {
    let s: Option<String> = conn
        .prepare_cached("SELECT settings FROM team_business_hours WHERE team_id = ?1")?
        .query_row([team_id], |r| r.get(0))
        .optional()?;
    Ok(match s {
        Some(s) => Some(serde_json::from_str(&s)?),
        None => None,
    })
}

pub fn team_exists(conn: &Db, team_id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM teams WHERE id = ?1")?
        .query_row([team_id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn put_team_business_hours(conn: &Db, team_id: i64, h: &BusinessHours, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO team_business_hours (team_id, settings, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (team_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        params![team_id, serde_json::to_string(h)?, now],
    )?;
    Ok(())
}

pub fn delete_team_business_hours(conn: &Db, team_id: i64) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM team_business_hours WHERE team_id = ?1",
        [team_id],
    )? > 0)
}

/// The team a conversation belongs to for business hours: the team it was routed or
/// transferred within, else the team its number's routing policy routes to; only a team that
/// still exists.
pub fn conversation_team(conn: &Db, conversation_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.id FROM conversations c
             LEFT JOIN routing_policies p ON p.phone_number_id = c.phone_number_id
             JOIN teams t ON t.id = COALESCE(c.team_id, p.team_id)
             WHERE c.id = ?1",
        )?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?)
}

pub fn away_last_sent(conn: &Db, conversation_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT sent_at FROM away_log WHERE conversation_id = ?1")?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?)
}

pub fn note_away_sent(conn: &Db, conversation_id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO away_log (conversation_id, sent_at) VALUES (?1, ?2)
         ON CONFLICT (conversation_id) DO UPDATE SET sent_at = excluded.sent_at",
    )?
    .execute(params![conversation_id, now])?;
    Ok(())
}

// ---------------------------------------------------------------- rate limits

pub fn rate_limits(conn: &Db) -> Result<Vec<(String, RateSettings)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT phone_number_id, per_minute, burst, pair_interval_ms, pair_burst FROM rate_limits",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok((
            r.get::<String>(0)?,
            RateSettings {
                per_minute: r.get(1)?,
                burst: r.get(2)?,
                pair_interval_ms: r.get(3)?,
                pair_burst: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn put_rate_limit(conn: &Db, pnid: &str, s: &RateSettings, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO rate_limits (phone_number_id, per_minute, burst, pair_interval_ms, pair_burst, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (phone_number_id) DO UPDATE SET per_minute = excluded.per_minute, burst = excluded.burst,
            pair_interval_ms = excluded.pair_interval_ms, pair_burst = excluded.pair_burst, updated_at = excluded.updated_at",
        params![pnid, s.per_minute, s.burst, s.pair_interval_ms, s.pair_burst, now],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- templates

pub fn waba_of(conn: &Db, pnid: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT waba_id FROM phone_numbers WHERE phone_number_id = ?1")?
        .query_row([pnid], |r| r.get::<Option<String>>(0))
        .optional()?
        .flatten())
}

pub fn wabas(conn: &Db) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT waba_id FROM phone_numbers WHERE waba_id IS NOT NULL AND waba_id <> '' ORDER BY waba_id",
    )?;
    let rows = stmt.query_map((), |r| r.get(0))?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

pub fn replace_templates(
    conn: &Db,
    waba_id: &str,
    list: &[StoredTemplate],
    now: i64,
) -> Result<()> {
    conn.execute("DELETE FROM templates WHERE waba_id = ?1", [waba_id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO templates (waba_id, name, language, category, status, body_params, header_params, body, synced_at, header)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (waba_id, name, language) DO UPDATE SET category = excluded.category, status = excluded.status,
            body_params = excluded.body_params, header_params = excluded.header_params, body = excluded.body,
            synced_at = excluded.synced_at, header = excluded.header",
    )?;
    for t in list {
        stmt.execute(params![
            waba_id,
            t.name,
            t.language,
            t.category,
            t.status,
            t.body_params as i64,
            t.header_params as i64,
            t.body,
            now,
            t.header
        ])?;
    }
    Ok(())
}

pub fn templates(conn: &Db, waba_id: &str) -> Result<Vec<StoredTemplate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, language, category, status, body_params, header_params, body, header FROM templates WHERE waba_id = ?1 ORDER BY name, language",
    )?;
    let rows = stmt.query_map([waba_id], |r| {
        Ok(StoredTemplate {
            name: r.get(0)?,
            language: r.get(1)?,
            category: r.get(2)?,
            status: r.get(3)?,
            body_params: r.get::<i64>(4)? as usize,
            header_params: r.get::<i64>(5)? as usize,
            body: r.get(6)?,
            header: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

// ---------------------------------------------------------------- blocks

pub use switchboard_protocol::policy::Block;

#[allow(clippy::too_many_arguments)]
pub fn insert_block(
    conn: &Db,
    conversation_id: i64,
    user_id: Option<i64>,
    origin: &str,
    req: &SendRequest,
    code: &str,
    matched: &str,
    now: i64,
) -> Result<i64> {
    Ok(conn.query_row(
        "INSERT INTO policy_blocks (conversation_id, user_id, origin, request, code, matched, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        params![conversation_id, user_id, origin, serde_json::to_string(req)?, code, matched, now],
        |r| r.get(0),
    )?)
}

const BLOCK_COLS: &str = "id, conversation_id, user_id, origin, request, code, matched, created_at, allowed_by, allowed_at, message_id, rejected_by, rejected_at";

fn block_row(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<Block> {
    let req: String = r.get(4)?;
    Ok(Block {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        user_id: r.get(2)?,
        origin: r.get(3)?,
        request: serde_json::from_str(&req).unwrap_or(json!(null)),
        code: r.get(5)?,
        matched: r.get(6)?,
        created_at: r.get(7)?,
        allowed_by: r.get(8)?,
        allowed_at: r.get(9)?,
        message_id: r.get(10)?,
        rejected_by: r.get(11)?,
        rejected_at: r.get(12)?,
    })
}

pub fn block(conn: &Db, id: i64) -> Result<Block> {
    conn.query_row(
        &format!("SELECT {BLOCK_COLS} FROM policy_blocks WHERE id = ?1"),
        [id],
        block_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("blocked message {id}")))
}

pub fn blocks(conn: &Db, limit: usize) -> Result<Vec<Block>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {BLOCK_COLS} FROM policy_blocks ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], block_row)?;
    Ok(rows.collect::<crate::store::db::Result<_>>()?)
}

/// Records a supervisor's rejection: the message is never sent.
pub fn mark_block_rejected(conn: &Db, id: i64, by: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE policy_blocks SET rejected_by = ?2, rejected_at = ?3 WHERE id = ?1",
        params![id, by, now],
    )?;
    Ok(())
}

/// 409 unless the block still waits for a review.
pub fn check_pending(b: &Block) -> Result<()> {
    if b.allowed_by.is_some() {
        return Err(StoreError::Conflict(format!(
            "blocked message {} was already released",
            b.id
        )));
    }
    if b.rejected_by.is_some() {
        return Err(StoreError::Conflict(format!(
            "blocked message {} was already rejected",
            b.id
        )));
    }
    Ok(())
}

pub fn mark_block_allowed(conn: &Db, id: i64, by: i64, message_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE policy_blocks SET allowed_by = ?2, allowed_at = ?3, message_id = ?4 WHERE id = ?1",
        params![id, by, now, message_id],
    )?;
    Ok(())
}
