//! Admin settings of the outbound policy and automations, the supervisors' view of blocked
//! messages and of the send queue, and templates. Every change is validated, audited, and
//! recompiles the shared policy snapshot (never per message).

use std::collections::BTreeMap;

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use switchboard_protocol::api::Message;
use switchboard_protocol::policy::{WordCheck, WordVerdict};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::metrics::QueueGauges;
use crate::policy::filter::{valid_language, SensitiveFilter};
use crate::policy::hours::{BusinessHours, Hours};
use crate::policy::ratelimit::{NumberRate, RateSettings};
use crate::policy::templates::StoredTemplate;
use crate::policy::Origin;
use crate::store::outbox::{self, Actor, QueueStats, SendOptions};
use crate::store::{now_ms, policy as sql, queries};
use crate::AppState;

type ErrorBody = switchboard_protocol::api::ErrorBody;

pub(super) async fn reload(s: &AppState) -> Result<(), ApiError> {
    s.policy.reload(&s.store).await.map_err(ApiError::from)
}

// ---------------------------------------------------------------- sensitive words

pub use switchboard_protocol::policy::SensitiveWords;

async fn current_words(s: &AppState) -> Result<SensitiveWords, ApiError> {
    Ok(s.store
        .read(|c| {
            Ok(SensitiveWords {
                entries: sql::sensitive_words(c)?,
                languages: Some(sql::sensitive_word_languages(c)?),
            })
        })
        .await?)
}

/// Trims a list and checks it compiles; `what` names it in errors (`entries`, `languages.de`).
fn checked_list(what: &str, list: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let e = e.trim();
        if e.is_empty() {
            return Err(ApiError::unprocessable(
                "invalid",
                format!("{what}[{i}] is empty; every entry needs a word or phrase"),
            ));
        }
        out.push(e.to_string());
    }
    // Compiling validates (an entry without letters or digits would match everywhere).
    SensitiveFilter::compile(&out)
        .map_err(|e| ApiError::unprocessable("invalid", format!("{what}: {e}")))?;
    Ok(out)
}

/// The sensitive-word lists: for every language, and per language (admins only).
#[utoipa::path(get, path = "/api/v1/admin/sensitive-words", security(("bearer" = [])),
    responses((status = 200, body = SensitiveWords), (status = 403, body = ErrorBody)))]
pub async fn get_sensitive_words(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<SensitiveWords>, ApiError> {
    Ok(Json(current_words(&s).await?))
}

/// Replaces the sensitive-word list for every language and, when `languages` is given, every
/// per-language list (admins only). A blank entry, an entry without letters or digits, or a
/// language key that is not a lower-case ISO 639 code is refused with 422 and nothing changes.
/// Answers the lists now in force. Audited as `policy.sensitive_words.replace`.
#[utoipa::path(put, path = "/api/v1/admin/sensitive-words", request_body = SensitiveWords, security(("bearer" = [])),
    responses((status = 200, body = SensitiveWords), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_sensitive_words(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<SensitiveWords>,
) -> Result<Json<SensitiveWords>, ApiError> {
    let total = req.entries.len()
        + req
            .languages
            .iter()
            .flat_map(|l| l.values())
            .map(Vec::len)
            .sum::<usize>();
    if total > 100_000 {
        return Err(ApiError::unprocessable(
            "invalid",
            "at most 100000 entries in all lists together",
        ));
    }
    let entries = checked_list("entries", &req.entries)?;
    let languages = match &req.languages {
        None => None,
        Some(map) => {
            let mut out = BTreeMap::new();
            for (lang, list) in map {
                if !valid_language(lang) {
                    return Err(ApiError::unprocessable(
                        "invalid",
                        format!(
                            "languages: {lang:?} is not a language code; use a lower-case ISO 639 code such as \"de\" or \"en\" (regions are not told apart)"
                        ),
                    ));
                }
                let list = checked_list(&format!("languages.{lang}"), list)?;
                if !list.is_empty() {
                    out.insert(lang.clone(), list);
                }
            }
            Some(out)
        }
    };
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            sql::replace_sensitive_words(ctx.conn, &entries, ctx.now)?;
            if let Some(l) = &languages {
                sql::replace_language_lists(ctx.conn, l, ctx.now)?;
            }
            let per_language: Option<BTreeMap<&String, usize>> = languages
                .as_ref()
                .map(|l| l.iter().map(|(k, v)| (k, v.len())).collect());
            queries::audit(
                ctx.conn,
                &actor,
                "policy.sensitive_words.replace",
                &json!({"count": entries.len(), "languages": per_language}),
                ctx.now,
            )
        })
        .await?;
    reload(&s).await?;
    Ok(Json(current_words(&s).await?))
}

/// Checks a sample message against the sensitive-word lists in force, as a send would be
/// (nothing is stored or sent): the "try a message" of the admin console.
#[utoipa::path(post, path = "/api/v1/admin/sensitive-words/check", request_body = WordCheck, security(("bearer" = [])),
    responses((status = 200, body = WordVerdict), (status = 422, description = "the text is longer than 4,096 characters", body = ErrorBody)))]
pub async fn check_sensitive_words(
    State(s): State<AppState>,
    _user: AuthUser,
    JsonBody(req): JsonBody<WordCheck>,
) -> Result<Json<WordVerdict>, ApiError> {
    if req.text.chars().count() > 4096 {
        return Err(ApiError::unprocessable(
            "invalid",
            "text has at most 4096 characters",
        ));
    }
    if let Some(l) = &req.language {
        if !switchboard_protocol::rules::fits(switchboard_protocol::rules::LANGUAGE, l) {
            return Err(ApiError::bad_request(
                "language is a lower-case ISO 639 code such as de or en",
            )
            .at("language"));
        }
    }
    let hit = s
        .policy
        .current()
        .filter
        .check(&req.text, req.language.as_deref());
    Ok(Json(WordVerdict {
        blocked: hit.is_some(),
        matched: hit.as_ref().map(|h| h.entry.clone()),
        language: hit.and_then(|h| h.language),
    }))
}

// ---------------------------------------------------------------- business hours

/// A number's business hours (admins and supervisors).
#[utoipa::path(get, path = "/api/v1/admin/business-hours/{phone_number_id}", params(("phone_number_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BusinessHours), (status = 404, body = ErrorBody)))]
pub async fn get_business_hours(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(pnid): Path<String>,
) -> Result<Json<BusinessHours>, ApiError> {
    let all = s.store.read(sql::all_business_hours).await?;
    all.into_iter()
        .find(|(id, _)| *id == pnid)
        .map(|(_, h)| Json(h))
        .ok_or_else(|| ApiError::not_found(format!("no business hours are set for number {pnid}")))
}

/// Sets a number's business hours and away message (admins only). Outside the hours an away
/// message goes out once per conversation per `away_period_minutes`.
#[utoipa::path(put, path = "/api/v1/admin/business-hours/{phone_number_id}", params(("phone_number_id" = String, Path)), request_body = BusinessHours, security(("bearer" = [])),
    responses((status = 200, body = BusinessHours), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_business_hours(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(pnid): Path<String>,
    JsonBody(req): JsonBody<BusinessHours>,
) -> Result<Json<BusinessHours>, ApiError> {
    check_hours(&s, &req)?;
    let actor = admin.0.email.clone();
    let stored = req.clone();
    s.store
        .write(move |ctx| {
            sql::put_business_hours(ctx.conn, &pnid, &stored, ctx.now)?;
            queries::audit(
                ctx.conn,
                &actor,
                "policy.business_hours.put",
                &json!({"phone_number_id": pnid, "settings": stored}),
                ctx.now,
            )
        })
        .await?;
    reload(&s).await?;
    Ok(Json(req))
}

/// Removes a number's business hours: no away messages (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/business-hours/{phone_number_id}", params(("phone_number_id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_business_hours(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(pnid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    let found = s
        .store
        .write(move |ctx| {
            let found = sql::delete_business_hours(ctx.conn, &pnid)?;
            queries::audit(
                ctx.conn,
                &actor,
                "policy.business_hours.delete",
                &json!({"phone_number_id": pnid}),
                ctx.now,
            )?;
            Ok(found)
        })
        .await?;
    reload(&s).await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "no business hours were set for this number",
        ))
    }
}

/// Validates business hours; an away message that the sensitive-word filter would refuse (the
/// list for every language and the list of the message's language) could never be sent.
fn check_hours(s: &AppState, req: &BusinessHours) -> Result<(), ApiError> {
    Hours::parse(req.clone()).map_err(|m| ApiError::unprocessable("invalid", m))?;
    let compiled = s.policy.current();
    for (lang, text) in &req.away_message {
        if let Some(hit) = compiled.filter.check(text, Some(lang)) {
            return Err(ApiError::unprocessable(
                "invalid",
                format!(
                    "away_message.{lang} contains {:?}, which is on the sensitive-word list",
                    hit.entry
                ),
            ));
        }
    }
    Ok(())
}

/// A team's business hours (admins and supervisors).
#[utoipa::path(get, path = "/api/v1/admin/teams/{id}/business-hours", params(("id" = i64, Path, description = "team id")), security(("bearer" = [])),
    responses((status = 200, body = BusinessHours), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_team_business_hours(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<BusinessHours>, ApiError> {
    s.store
        .read(move |c| sql::team_business_hours(c, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no business hours are set for team {id}")))
}

/// Sets a team's business hours and away message (admins only). For a conversation that
/// belongs to a team — the team it was routed or transferred within, else the team its
/// number's routing policy routes to — the team's hours take precedence over the number's;
/// a conversation outside any team, or of a team without hours, follows its number's hours.
/// Audited as `policy.team_business_hours.put`.
#[utoipa::path(put, path = "/api/v1/admin/teams/{id}/business-hours", params(("id" = i64, Path, description = "team id")), request_body = BusinessHours, security(("bearer" = [])),
    responses((status = 200, body = BusinessHours), (status = 403, body = ErrorBody), (status = 404, description = "no such team", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_team_business_hours(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<BusinessHours>,
) -> Result<Json<BusinessHours>, ApiError> {
    check_hours(&s, &req)?;
    let actor = admin.0.email.clone();
    let stored = req.clone();
    s.store
        .write(move |ctx| {
            if !sql::team_exists(ctx.conn, id)? {
                return Err(crate::store::StoreError::NotFound(format!("team {id}")));
            }
            sql::put_team_business_hours(ctx.conn, id, &stored, ctx.now)?;
            queries::audit(
                ctx.conn,
                &actor,
                "policy.team_business_hours.put",
                &json!({"team_id": id, "settings": stored}),
                ctx.now,
            )
        })
        .await?;
    reload(&s).await?;
    Ok(Json(req))
}

/// Removes a team's business hours: its conversations follow their numbers' hours again
/// (admins only). Audited as `policy.team_business_hours.delete`. Idempotent: a team without
/// hours of its own answers 204 too; 404 means no such team.
#[utoipa::path(delete, path = "/api/v1/admin/teams/{id}/business-hours", params(("id" = i64, Path, description = "team id")), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_team_business_hours(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    let found = s
        .store
        .write(move |ctx| {
            crate::store::routing::ensure_team(ctx.conn, id)
                .map_err(|_| crate::store::StoreError::NotFound(format!("team {id}")))?;
            let found = sql::delete_team_business_hours(ctx.conn, id)?;
            if found {
                queries::audit(
                    ctx.conn,
                    &actor,
                    "policy.team_business_hours.delete",
                    &json!({"team_id": id}),
                    ctx.now,
                )?;
            }
            Ok(found)
        })
        .await?;
    if found {
        reload(&s).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- rate limits

/// A number's send-rate settings and the rate in force (admins and supervisors).
#[utoipa::path(get, path = "/api/v1/admin/rate-limits/{phone_number_id}", params(("phone_number_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NumberRate), (status = 403, body = ErrorBody)))]
pub async fn get_rate_limit(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(pnid): Path<String>,
) -> Result<Json<NumberRate>, ApiError> {
    let now = now_ms();
    let l = s.limiter.lock().expect("limiter lock");
    let snap = l.snapshot(now);
    Ok(Json(
        snap.into_iter()
            .find(|n| n.phone_number_id == pnid)
            .unwrap_or(NumberRate {
                phone_number_id: pnid.clone(),
                settings: l.settings(&pnid),
                effective_per_minute: l.settings(&pnid).per_minute as f64,
                paused_until: None,
                throttled_total: 0,
            }),
    ))
}

/// Sets a number's send rate (20-120 per minute), burst and pair limit (admins only).
#[utoipa::path(put, path = "/api/v1/admin/rate-limits/{phone_number_id}", params(("phone_number_id" = String, Path)), request_body = RateSettings, security(("bearer" = [])),
    responses((status = 200, body = RateSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rate_limit(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(pnid): Path<String>,
    JsonBody(req): JsonBody<RateSettings>,
) -> Result<Json<RateSettings>, ApiError> {
    req.validate()
        .map_err(|m| ApiError::unprocessable("invalid", m))?;
    let actor = admin.0.email.clone();
    let p = pnid.clone();
    s.store
        .write(move |ctx| {
            sql::put_rate_limit(ctx.conn, &p, &req, ctx.now)?;
            queries::audit(
                ctx.conn,
                &actor,
                "policy.rate_limit.put",
                &json!({"phone_number_id": p, "settings": req}),
                ctx.now,
            )
        })
        .await?;
    s.limiter.lock().expect("limiter lock").set(&pnid, req);
    s.sender_wake.notify_one();
    Ok(Json(req))
}

// ---------------------------------------------------------------- templates

pub use switchboard_protocol::policy::SyncResult;

/// Syncs message templates from the Graph API for every known account now (admins only).
#[utoipa::path(post, path = "/api/v1/admin/templates/sync", security(("bearer" = [])),
    responses((status = 200, body = [SyncResult]), (status = 403, body = ErrorBody)))]
pub async fn sync_templates(
    State(s): State<AppState>,
    admin: AuthUser,
) -> Result<Json<Vec<SyncResult>>, ApiError> {
    let results = s.templates.sync_all(&s.store, &s.graph).await;
    let out: Vec<SyncResult> = results
        .into_iter()
        .map(|(w, r)| SyncResult {
            waba_id: w,
            templates: r.as_ref().ok().copied(),
            error: r.err(),
        })
        .collect();
    let actor = admin.0.email.clone();
    let details = serde_json::to_value(&out).unwrap_or_default();
    s.store
        .write(move |ctx| queries::audit(ctx.conn, &actor, "templates.sync", &details, ctx.now))
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TemplatesQuery {
    /// The business number whose account's templates to list.
    phone_number_id: String,
}

/// The synced templates of a number's account (every signed-in user: agents pick from these).
#[utoipa::path(get, path = "/api/v1/templates", params(TemplatesQuery), security(("bearer" = [])),
    responses((status = 200, body = [StoredTemplate])))]
pub async fn list_templates(
    State(s): State<AppState>,
    _u: AuthUser,
    Query(q): Query<TemplatesQuery>,
) -> Result<Json<Vec<StoredTemplate>>, ApiError> {
    let pnid = q.phone_number_id;
    Ok(Json(
        s.store
            .read(move |c| match sql::waba_of(c, &pnid)? {
                Some(w) => sql::templates(c, &w),
                None => Ok(Vec::new()),
            })
            .await?,
    ))
}

// ---------------------------------------------------------------- blocked messages

/// Rejects one blocked message: it is never sent. Audited as `policy.reject`.
#[utoipa::path(post, path = "/api/v1/policy/blocks/{id}/reject", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "rejected", body = sql::Block), (status = 404, body = ErrorBody),
              (status = 409, description = "already released or rejected", body = ErrorBody)))]
pub async fn reject_block(
    State(s): State<AppState>,
    AuthUser(sup): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<sql::Block>, ApiError> {
    let block = s
        .store
        .write(move |ctx| {
            let b = sql::block(ctx.conn, id)?;
            sql::check_pending(&b)?;
            sql::mark_block_rejected(ctx.conn, id, sup.id, ctx.now)?;
            queries::audit(
                ctx.conn,
                &sup.email,
                "policy.reject",
                &json!({"block_id": id, "conversation_id": b.conversation_id, "author_id": b.user_id, "matched": b.matched}),
                ctx.now,
            )?;
            sql::block(ctx.conn, id)
        })
        .await?;
    Ok(Json(block))
}

/// Outbound messages refused by the sensitive-word filter, newest first (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/policy/blocks", security(("bearer" = [])),
    responses((status = 200, body = [sql::Block]), (status = 403, body = ErrorBody)))]
pub async fn list_blocks(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<sql::Block>>, ApiError> {
    Ok(Json(s.store.read(|c| sql::blocks(c, 200)).await?))
}

/// Lets one blocked message through the sensitive-word filter (supervisors and admins). The
/// message is queued as its author wrote it; the 24-hour window and template rules still apply.
/// Audited as `policy.override`.
#[utoipa::path(post, path = "/api/v1/policy/blocks/{id}/allow", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 202, description = "queued", body = Message), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "already allowed", body = ErrorBody),
              (status = 422, description = "refused for another reason (e.g. the window closed)", body = crate::policy::Refusal)))]
pub async fn allow_block(
    State(s): State<AppState>,
    supervisor: AuthUser,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let compiled = s.policy.current();
    let sup = supervisor.0.clone();
    let message = s
        .store
        .write(move |ctx| {
            let b = sql::block(ctx.conn, id)?;
            sql::check_pending(&b)?;
            let req: switchboard_protocol::api::SendRequest =
                serde_json::from_value(b.request.clone())?;
            let author = match b.user_id {
                Some(uid) => queries::users(ctx.conn)?.into_iter().find(|u| u.id == uid),
                None => None,
            };
            let actor = match &author {
                Some(u) => Actor::User(u),
                None => Actor::System(Origin::AutoReply),
            };
            let out = outbox::enqueue(
                ctx,
                actor,
                b.conversation_id,
                &req,
                SendOptions {
                    idempotency_key: None,
                    skip_word_filter: true,
                },
                &compiled,
                |to, is_bsuid, reply| crate::graph::send_payload(&req, to, is_bsuid, reply),
            )?;
            let queued = out.map_err(|r| crate::store::StoreError::Refused(Box::new(r)))?;
            sql::mark_block_allowed(ctx.conn, id, sup.id, queued.message.id, ctx.now)?;
            queries::audit(
                ctx.conn,
                &sup.email,
                "policy.override",
                &json!({"block_id": id, "conversation_id": b.conversation_id, "matched": b.matched,
                        "author_id": b.user_id, "message_id": queued.message.id}),
                ctx.now,
            )?;
            Ok(queued.message)
        })
        .await?;
    s.sender_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(message)))
}

// ---------------------------------------------------------------- the send queue

pub use switchboard_protocol::policy::QueueView;

/// The outbound queue: depth, waits and send rates (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/queue", security(("bearer" = [])),
    responses((status = 200, body = QueueView), (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<QueueView>, ApiError> {
    let queues = s.store.read(outbox::queue_stats).await?;
    let now = now_ms();
    let numbers = s.limiter.lock().expect("limiter lock").snapshot(now);
    Ok(Json(QueueView {
        depth: queues.iter().map(|q| q.depth).sum(),
        oldest_wait_ms: queues
            .iter()
            .filter_map(|q| q.oldest_enqueued_at)
            .min()
            .map(|t| (now - t).max(0)),
        queues,
        numbers,
    }))
}

/// The queue gauges for `/metrics`.
pub async fn queue_gauges(s: &AppState) -> QueueGauges {
    let now = now_ms();
    let stats = s.store.read(outbox::queue_stats).await.unwrap_or_default();
    let mut by_priority: Vec<(i64, i64, i64)> = Vec::new();
    for p in [2, 1, 0] {
        let rows: Vec<&QueueStats> = stats.iter().filter(|q| q.priority == p).collect();
        let depth = rows.iter().map(|q| q.depth).sum();
        let oldest = rows
            .iter()
            .filter_map(|q| q.oldest_enqueued_at)
            .min()
            .map_or(0, |t| (now - t).max(0));
        by_priority.push((p, depth, oldest));
    }
    let numbers = s
        .limiter
        .lock()
        .expect("limiter lock")
        .snapshot(now)
        .into_iter()
        .map(|n| {
            (
                n.phone_number_id,
                n.effective_per_minute,
                n.paused_until.is_some(),
            )
        })
        .collect();
    QueueGauges {
        by_priority,
        numbers,
    }
}
