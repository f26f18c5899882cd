//! Conversations, their messages, sending and mark-read.

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use switchboard_protocol::api::{
    Conversation, ConversationPage, MarkReadRequest, Message, MessagePage, PhoneNumber, SendRequest,
};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::outbox::{self, Actor, SendOptions};
use crate::store::queries;
use crate::AppState;

/// Business numbers (inboxes), including unconfigured ones seen in webhooks.
#[utoipa::path(get, path = "/api/v1/numbers", security(("bearer" = [])), responses((status = 200, body = [PhoneNumber])))]
pub async fn list_numbers(
    State(s): State<AppState>,
    _u: AuthUser,
) -> Result<Json<Vec<PhoneNumber>>, ApiError> {
    Ok(Json(s.store.read(queries::numbers).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `open` or `resolved`.
    #[param(pattern = "^(open|resolved)$")]
    status: Option<String>,
    /// A user id, `me`, or `none` (unassigned).
    #[param(pattern = "^(me|none|[0-9]{1,18})$")]
    assignee: Option<String>,
    phone_number_id: Option<String>,
    /// Cursor from the previous page's `next_before`.
    #[param(pattern = "^-?[0-9]{1,18}_-?[0-9]{1,18}$")]
    before: Option<String>,
    /// 1..=500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// Conversations the user may see, most recent activity first.
#[utoipa::path(get, path = "/api/v1/conversations", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ConversationPage), (status = 400, body = switchboard_protocol::api::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    if let Some(st) = &q.status {
        if st != "open" && st != "resolved" {
            return Err(ApiError::bad_request("status must be open or resolved"));
        }
    }
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some("me") => Some(Some(user.id)),
        Some(id) => Some(Some(
            super::params::strict_int(id)
                .filter(|_| !id.starts_with('-'))
                .ok_or_else(|| {
                    ApiError::bad_request("assignee must be a user id, me or none").at("assignee")
                })?,
        )),
    };
    let before = match q.before.as_deref() {
        None => None,
        Some(c) => Some(
            parse_cursor(c)
                .ok_or_else(|| ApiError::bad_request("before is not a cursor from next_before"))?,
        ),
    };
    let filter = queries::ConversationFilter {
        status: q.status,
        assignee,
        phone_number_id: q.phone_number_id,
        before,
        limit,
    };
    let items = s
        .store
        .read(move |c| queries::list_conversations(c, &user, &filter))
        .await?;
    let next_before = if items.len() == limit {
        items
            .last()
            .map(|c| format!("{}_{}", c.last_message_at, c.id))
    } else {
        None
    };
    Ok(Json(ConversationPage { items, next_before }))
}

fn parse_cursor(c: &str) -> Option<(i64, i64)> {
    let (a, b) = c.split_once('_')?;
    Some((super::params::strict_int(a)?, super::params::strict_int(b)?))
}

async fn visible(
    s: &AppState,
    user: &switchboard_protocol::api::User,
    id: i64,
) -> Result<(), ApiError> {
    let u = user.clone();
    if s.store.read(move |c| queries::may_see(c, &u, id)).await? {
        Ok(())
    } else {
        // Same answer as for a missing conversation: an agent learns nothing about others' work.
        Err(ApiError::not_found(format!(
            "conversation {id} does not exist or is not visible to you"
        )))
    }
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = switchboard_protocol::api::ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Conversation>, ApiError> {
    visible(&s, &user, id).await?;
    Ok(Json(
        s.store.read(move |c| queries::conversation(c, id)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MessagesQuery {
    /// Only messages with a smaller id (older).
    before: Option<i64>,
    /// 1..=500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// A page of a conversation's messages, oldest first; page backwards with `before`.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", params(("id" = i64, Path), MessagesQuery), security(("bearer" = [])),
    responses((status = 200, body = MessagePage), (status = 404, body = switchboard_protocol::api::ErrorBody)))]
pub async fn messages(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<MessagesQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    visible(&s, &user, id).await?;
    let items = s
        .store
        .read(move |c| queries::list_messages(c, id, q.before, limit))
        .await?;
    let next_before = if items.len() == limit {
        items.first().map(|m| m.id)
    } else {
        None
    };
    Ok(Json(MessagePage { items, next_before }))
}

/// Queues a message to the customer. With the same `Idempotency-Key` twice, the message is sent
/// once and the second call returns the first message (200 instead of 202).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", request_body = SendRequest,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "client-generated id, at most 200 characters")),
    security(("bearer" = [])),
    responses((status = 202, description = "queued", body = Message), (status = 200, description = "already queued with this Idempotency-Key", body = Message),
              (status = 404, body = switchboard_protocol::api::ErrorBody), (status = 409, description = "Idempotency-Key reused for a different message", body = switchboard_protocol::api::ErrorBody),
              (status = 422, description = "invalid, or refused by the outbound policy (`sensitive_word`, `window_closed`, `template_invalid`)", body = crate::policy::Refusal)))]
pub async fn send(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SendRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    req.validate()
        .map_err(|m| ApiError::unprocessable("invalid_message", m))?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be ASCII"))?;
            if !switchboard_protocol::rules::fits(switchboard_protocol::rules::IDEMPOTENCY_KEY, k) {
                return Err(ApiError::bad_request(
                    "Idempotency-Key must have 1 to 200 printable ASCII characters",
                )
                .at("Idempotency-Key"));
            }
            Some(k.to_string())
        }
    };
    // A template the store does not know yet may have been approved since the last sync.
    if let SendRequest::Template { template, .. } = &req {
        let (name, lang) = (template.name.clone(), template.language.clone());
        let known = s
            .store
            .read(move |c| {
                let pnid = queries::conversation(c, id).map(|c| c.phone_number_id).ok();
                let waba = match &pnid {
                    Some(p) => crate::store::policy::waba_of(c, p)?,
                    None => None,
                };
                let found = match &waba {
                    Some(w) => crate::store::policy::templates(c, w)?
                        .iter()
                        .any(|t| t.name == name && t.language == lang),
                    None => false,
                };
                Ok((pnid, found))
            })
            .await?;
        if let (Some(pnid), false) = known {
            s.templates.sync_for_number(&s.store, &s.graph, &pnid).await;
        }
    }
    let compiled = s.policy.current();
    let result = s
        .store
        .write(move |ctx| {
            outbox::enqueue(
                ctx,
                Actor::User(&user),
                id,
                &req,
                SendOptions {
                    idempotency_key: key.as_deref(),
                    skip_word_filter: false,
                },
                &compiled,
                |to, is_bsuid, reply| crate::graph::send_payload(&req, to, is_bsuid, reply),
            )
        })
        .await?;
    let result = match result {
        Ok(r) => r,
        Err(refusal) => {
            s.metrics.policy_refused(&refusal.code);
            return Err(ApiError::refused(refusal));
        }
    };
    if result.created {
        s.sender_wake.notify_one();
        Ok((StatusCode::ACCEPTED, Json(result.message)))
    } else {
        Ok((StatusCode::OK, Json(result.message)))
    }
}

/// Marks the conversation read (up to a message) and sends a read receipt to the customer.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", request_body = MarkReadRequest, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = switchboard_protocol::api::ErrorBody)))]
pub async fn mark_read(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    body: Option<JsonBody<MarkReadRequest>>,
) -> Result<StatusCode, ApiError> {
    visible(&s, &user, id).await?;
    let up_to = body.and_then(|b| b.0.up_to);
    let wamid = s
        .store
        .write(move |ctx| queries::mark_read(ctx, id, up_to))
        .await?;
    if let Some(wamid) = wamid {
        let pnid = s
            .store
            .read(move |c| queries::conversation(c, id))
            .await?
            .phone_number_id;
        let graph = s.graph.clone();
        tokio::spawn(async move {
            if let Err(e) = graph.mark_read(&pnid, &wamid).await {
                tracing::info!(error = %e, "read receipt not delivered");
            }
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
