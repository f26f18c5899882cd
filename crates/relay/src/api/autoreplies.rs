//! Keyword auto-reply rules on the admin API: list, create, edit (also pause and resume),
//! delete, and try a sample message against the rules in force. Every change is validated as on
//! creation, audited, and recompiles the shared policy snapshot.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::policy::{AutoReplyTest, AutoReplyVerdict, RuleHit};

use super::policy::reload;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::policy::autoreply;
use crate::store::db::Db;
use crate::store::{policy as sql, queries, StoreError};
use crate::AppState;

type ErrorBody = switchboard_protocol::api::ErrorBody;

/// Keyword auto-reply rules, by number and priority (admins only).
#[utoipa::path(get, path = "/api/v1/admin/auto-replies", security(("bearer" = [])),
    responses((status = 200, body = [sql::AutoReply]), (status = 403, body = ErrorBody)))]
pub async fn list_auto_replies(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<sql::AutoReply>>, ApiError> {
    Ok(Json(s.store.read(sql::auto_replies).await?))
}

/// One rule (admins only).
#[utoipa::path(get, path = "/api/v1/admin/auto-replies/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = sql::AutoReply)))]
pub async fn get_auto_reply(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<sql::AutoReply>, ApiError> {
    let rules = s.store.read(sql::auto_replies).await?;
    rules
        .into_iter()
        .find(|r| r.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::from(StoreError::NotFound(format!("auto-reply {id}"))))
}

/// The checks a rule passes before it is stored (on creation and on every edit): a numeric
/// number id, a valid rule (e.g. a compiling regular expression), a valid reply, and a reply the
/// sensitive-word filter would let through.
fn check_rule(s: &AppState, req: &sql::NewAutoReply) -> Result<(), ApiError> {
    let label = if req.name.is_empty() {
        format!("for {:?}", req.keywords)
    } else {
        req.name.clone()
    };
    if req.phone_number_id.is_empty() || !req.phone_number_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::unprocessable(
            "invalid_rule",
            format!("rule {label:?}: phone_number_id must be Meta's numeric phone number id"),
        ));
    }
    autoreply::validate(&sql::to_rule(0, req))
        .map_err(|e| ApiError::unprocessable("invalid_rule", rule_error(&e, &label)))?;
    let reply = req
        .reply
        .validated()
        .map_err(|m| ApiError::unprocessable("invalid_rule", format!("rule {label:?}: {m}")))?;
    // A reply that the filter would refuse could never be sent: say so now.
    let compiled = s.policy.current();
    for text in crate::policy::outbound_texts(&reply) {
        if let Some(hit) = compiled.filter.check(text, None) {
            return Err(ApiError::unprocessable(
                "invalid_rule",
                format!(
                    "rule {label:?}: the reply contains {:?}, which is on the sensitive-word list",
                    hit.entry
                ),
            ));
        }
    }
    Ok(())
}

/// Stores a rule with `save` (given the actor and the time), audits it as `action` with the
/// stored rule, and recompiles the policy snapshot.
async fn save_audited(
    s: &AppState,
    actor: String,
    action: &'static str,
    save: impl FnOnce(&Db, &str, i64) -> Result<sql::AutoReply, StoreError> + Send + 'static,
) -> Result<sql::AutoReply, ApiError> {
    let rule = s
        .store
        .write(move |ctx| {
            let r = save(ctx.conn, &actor, ctx.now)?;
            queries::audit(
                ctx.conn,
                &actor,
                action,
                &serde_json::to_value(&r)?,
                ctx.now,
            )?;
            Ok(r)
        })
        .await?;
    reload(s).await?;
    Ok(rule)
}

/// Creates a keyword auto-reply rule (admins only). A bad rule (e.g. an invalid regular
/// expression) is refused with 422 naming the rule.
#[utoipa::path(post, path = "/api/v1/admin/auto-replies", request_body = sql::NewAutoReply, security(("bearer" = [])),
    responses((status = 201, body = sql::AutoReply), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_auto_reply(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<sql::NewAutoReply>,
) -> Result<(StatusCode, Json<sql::AutoReply>), ApiError> {
    check_rule(&s, &req)?;
    let rule = save_audited(
        &s,
        admin.0.email.clone(),
        "policy.auto_reply.create",
        move |conn, actor, now| sql::insert_auto_reply(conn, &req, actor, now),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replaces a rule (admins only), with the same checks as on creation; `"paused": true` pauses
/// it (it answers nobody until saved with `false`).
#[utoipa::path(put, path = "/api/v1/admin/auto-replies/{id}", params(("id" = i64, Path)), request_body = sql::NewAutoReply, security(("bearer" = [])),
    responses((status = 200, body = sql::AutoReply), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_auto_reply(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<sql::NewAutoReply>,
) -> Result<Json<sql::AutoReply>, ApiError> {
    check_rule(&s, &req)?;
    let rule = save_audited(
        &s,
        admin.0.email.clone(),
        "policy.auto_reply.update",
        move |conn, actor, now| sql::update_auto_reply(conn, id, &req, actor, now),
    )
    .await?;
    Ok(Json(rule))
}

/// Which active rule of the number would answer a sample message, and with what (admins only).
/// Nothing is sent and nothing is stored.
#[utoipa::path(post, path = "/api/v1/admin/auto-replies/test", request_body = AutoReplyTest, security(("bearer" = [])),
    responses((status = 200, body = AutoReplyVerdict), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn test_auto_reply(
    State(s): State<AppState>,
    _admin: AuthUser,
    JsonBody(req): JsonBody<AutoReplyTest>,
) -> Result<Json<AutoReplyVerdict>, ApiError> {
    if req.text.chars().count() > 4096 {
        return Err(ApiError::bad_request("text is longer than 4096 characters"));
    }
    if !switchboard_protocol::rules::fits(
        switchboard_protocol::rules::META_ID,
        &req.phone_number_id,
    ) {
        return Err(ApiError::bad_request(
            "phone_number_id must be Meta's numeric phone number id",
        )
        .at("phone_number_id"));
    }
    let compiled = s.policy.current();
    let Some(rules) = compiled.rules.get(&req.phone_number_id) else {
        return Ok(Json(AutoReplyVerdict {
            matched: Vec::new(),
            reply: None,
            handoff: None,
        }));
    };
    let matched: Vec<RuleHit> = rules
        .compiled
        .matching(&req.text)
        .into_iter()
        .map(|r| RuleHit {
            id: r.id,
            name: r.name.clone(),
        })
        .collect();
    let stored = match matched.first() {
        Some(best) => {
            let id = best.id;
            s.store.read(move |c| sql::auto_reply(c, id)).await?
        }
        None => None,
    };
    Ok(Json(AutoReplyVerdict {
        matched,
        handoff: stored.as_ref().map(|a| a.rule.handoff),
        reply: stored.map(|a| a.rule.reply),
    }))
}

fn rule_error(e: &autoreply::RuleError, label: &str) -> String {
    match e {
        autoreply::RuleError::Invalid { reason, .. } => format!("rule {label:?}: {reason}"),
    }
}

/// Removes a rule (admins only).
#[utoipa::path(delete, path = "/api/v1/admin/auto-replies/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_auto_reply(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            sql::delete_auto_reply(ctx.conn, id)?;
            queries::audit(
                ctx.conn,
                &actor,
                "policy.auto_reply.delete",
                &json!({"id": id}),
                ctx.now,
            )
        })
        .await?;
    reload(&s).await?;
    Ok(StatusCode::NO_CONTENT)
}
