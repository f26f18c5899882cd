//! Assignment and presence over HTTP: assign / transfer, resolve, reopen, an agent's status, the
//! supervisors' monitor, and the admins' routing settings (teams, skills, capacities, policies),
//! validated and audited. The decisions themselves are in `crate::routing`, applied atomically
//! by `store::routing` inside write jobs.

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::api::{
    AgentPresence, AssignRequest, Conversation, Monitor, StatusRequest, User,
};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routing::Policy;
use crate::store::routing::{
    self as sql, AgentReport, AgentSettings, Period, QueuedConversation, Settings, Team,
};
use crate::store::{now_ms, queries, StoreError, WriteCtx};
use crate::AppState;
use switchboard_protocol::routing::ReportQuery;

type ErrorBody = switchboard_protocol::api::ErrorBody;

fn check_visible(ctx: &WriteCtx<'_>, user: &User, id: i64) -> Result<(), StoreError> {
    if queries::may_see(ctx.conn, user, id)? {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("conversation {id}")))
    }
}

/// Runs `act` on conversation `id` in one write job, after checking that `user` may see it.
async fn on_visible_conversation(
    s: &AppState,
    user: User,
    id: i64,
    act: impl FnOnce(&mut WriteCtx<'_>, &User) -> Result<Conversation, StoreError> + Send + 'static,
) -> Result<Json<Conversation>, ApiError> {
    let c = s
        .store
        .write(move |ctx| {
            check_visible(ctx, &user, id)?;
            act(ctx, &user)
        })
        .await?;
    Ok(Json(c))
}

// ---------------------------------------------------------------- conversations

/// Assigns the conversation to an agent or a team. Supervisors and admins: any conversation.
/// Anyone: a conversation of theirs (a transfer) or an unassigned one; a colleague's needs the
/// permission `reassign`. The target agent must be online with room unless someone with
/// `reassign` sets `force`. A team routes within its members and waits
/// in the queue for them when nobody qualifies.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", request_body = AssignRequest, params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody),
              (status = 403, description = "a colleague's conversation or `force` without the permission `reassign`", body = ErrorBody),
              (status = 409, description = "the agent is not online or at capacity, or the conversation's number is not configured (held)", body = ErrorBody),
              (status = 422, description = "unknown agent or team, or not exactly one of them", body = ErrorBody)))]
pub async fn assign(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AssignRequest>,
) -> Result<Json<Conversation>, ApiError> {
    on_visible_conversation(&s, user, id, move |ctx, user| {
        sql::assign(ctx, id, user, &req)
    })
    .await
}

/// Resolves the conversation: it leaves its agent's load and the queue moves on.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/resolve", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn resolve(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Conversation>, ApiError> {
    on_visible_conversation(&s, user, id, move |ctx, user| {
        sql::resolve(ctx, id, user.id)
    })
    .await
}

/// Reopens a resolved conversation; it is routed again (sticky first).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/reopen", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
pub async fn reopen(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Conversation>, ApiError> {
    on_visible_conversation(&s, user, id, move |ctx, user| sql::reopen(ctx, id, user.id)).await
}

/// The conversation's measures, one entry per time it was open: time to assignment, first
/// response time (customer's first message to the first human reply) and resolution time.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/measures", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Period]), (status = 404, body = ErrorBody)))]
pub async fn measures(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Period>>, ApiError> {
    let p = s
        .store
        .read(move |c| {
            if !queries::may_see(c, &user, id)? {
                return Err(StoreError::NotFound(format!("conversation {id}")));
            }
            sql::periods(c, id)
        })
        .await?;
    Ok(Json(p))
}

// ---------------------------------------------------------------- presence

/// Sets your status. `online`: you get conversations while a stream of yours is open (or within
/// the grace period after it closed); `away`: you keep yours but get no new ones; `offline`:
/// your open conversations return to the queue (unless a team of yours keeps them).
#[utoipa::path(put, path = "/api/v1/me/status", request_body = StatusRequest, security(("bearer" = [])),
    responses((status = 200, body = AgentPresence), (status = 400, body = ErrorBody)))]
pub async fn put_status(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(req): JsonBody<StatusRequest>,
) -> Result<Json<AgentPresence>, ApiError> {
    let p = s
        .store
        .write(move |ctx| sql::set_status(ctx, user.id, req.status))
        .await?;
    Ok(Json(p))
}

/// Your status, effective presence, open conversations and capacity.
#[utoipa::path(get, path = "/api/v1/me/status", security(("bearer" = [])),
    responses((status = 200, body = AgentPresence)))]
pub async fn get_status(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<AgentPresence>, ApiError> {
    Ok(Json(
        s.store
            .read(move |c| sql::agent_presence(c, user.id))
            .await?,
    ))
}

// ---------------------------------------------------------------- monitor

/// The floor (supervisors and admins): per agent status, open conversations and capacity, first
/// response times (last 24 hours), resolved in the last hour, overdue conversations; per team
/// the same plus queue length and longest wait. Live updates follow on the stream after `head`.
#[utoipa::path(get, path = "/api/v1/monitor", security(("bearer" = [])),
    responses((status = 200, body = Monitor), (status = 403, body = ErrorBody)))]
pub async fn monitor(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Monitor>, ApiError> {
    Ok(Json(
        s.store.read(move |c| sql::monitor(c, now_ms())).await?,
    ))
}

/// An agent's conversations of the last 30 days, most recent activity first (supervisors and
/// admins; read them with the conversation routes).
#[utoipa::path(get, path = "/api/v1/monitor/agents/{id}/conversations", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Conversation]), (status = 403, body = ErrorBody)))]
pub async fn agent_conversations(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    Ok(Json(
        s.store
            .read(move |c| sql::agent_conversations(c, id, now_ms()))
            .await?,
    ))
}

/// Conversations waiting for an agent, in queue order (priority first, then the longest wait),
/// each with why nobody has it yet: nobody online, the team offline, missing skills, or everyone
/// busy. Assign one with `POST /api/v1/conversations/{id}/assign`.
#[utoipa::path(get, path = "/api/v1/monitor/queue", security(("bearer" = [])),
    responses((status = 200, body = [QueuedConversation]), (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<QueuedConversation>>, ApiError> {
    Ok(Json(s.store.read(move |c| sql::queue(c, now_ms())).await?))
}

/// How an agent did over the last `days` days (default 30): conversations held, resolved,
/// first response and resolution times as median, 90th percentile and average.
#[utoipa::path(get, path = "/api/v1/monitor/agents/{id}/report", params(("id" = i64, Path), ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = AgentReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn agent_report(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<AgentReport>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request("days must be between 1 and 365"));
    }
    Ok(Json(
        s.store
            .read(move |c| sql::agent_report(c, id, days, now_ms()))
            .await?,
    ))
}

// ---------------------------------------------------------------- admin settings

fn audit(
    ctx: &WriteCtx<'_>,
    actor: &str,
    action: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    queries::audit(ctx.conn, actor, action, &details, ctx.now)
}

/// Global routing settings: grace period, waiting alert and overdue thresholds (admins).
#[utoipa::path(get, path = "/api/v1/admin/routing", security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody)))]
pub async fn get_settings(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(s.store.read(sql::settings).await?))
}

#[utoipa::path(put, path = "/api/v1/admin/routing", request_body = Settings, security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<Settings>,
) -> Result<Json<Settings>, ApiError> {
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            sql::put_settings(ctx, &req)?;
            audit(ctx, &actor, "routing.settings", serde_json::to_value(req)?)
        })
        .await?;
    Ok(Json(req))
}

pub use switchboard_protocol::routing::Skills;

#[utoipa::path(get, path = "/api/v1/admin/skills", security(("bearer" = [])),
    responses((status = 200, body = Skills), (status = 403, body = ErrorBody)))]
pub async fn get_skills(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Skills>, ApiError> {
    Ok(Json(Skills {
        skills: s.store.read(sql::skills).await?,
    }))
}

/// Replaces the list of skills (admins). Removing one still held or required is a 409.
#[utoipa::path(put, path = "/api/v1/admin/skills", request_body = Skills, security(("bearer" = [])),
    responses((status = 200, body = Skills), (status = 403, body = ErrorBody), (status = 409, description = "a skill left out is still held by an agent or named by a routing policy", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_skills(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<Skills>,
) -> Result<Json<Skills>, ApiError> {
    let actor = admin.0.email.clone();
    let names: Vec<String> = req.skills.iter().map(|x| x.trim().to_string()).collect();
    let stored = s
        .store
        .write(move |ctx| {
            sql::put_skills(ctx, &names)?;
            audit(ctx, &actor, "routing.skills", json!({"skills": names}))?;
            sql::skills(ctx.conn)
        })
        .await?;
    Ok(Json(Skills { skills: stored }))
}

#[utoipa::path(get, path = "/api/v1/admin/teams", security(("bearer" = [])),
    responses((status = 200, body = [Team]), (status = 403, body = ErrorBody)))]
pub async fn list_teams(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(s.store.read(sql::teams).await?))
}

pub use switchboard_protocol::routing::NewTeam;

/// One team and its members (admins and supervisors).
#[utoipa::path(get, path = "/api/v1/admin/teams/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Team)))]
pub async fn get_team(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Team>, ApiError> {
    let teams = s.store.read(sql::teams).await?;
    teams
        .into_iter()
        .find(|t| t.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::from(StoreError::NotFound(format!("team {id}"))))
}

/// Creates a team (admins).
#[utoipa::path(post, path = "/api/v1/admin/teams", request_body = NewTeam, security(("bearer" = [])),
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_team(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<NewTeam>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let actor = admin.0.email.clone();
    let team = s
        .store
        .write(move |ctx| {
            let t = sql::put_team(
                ctx,
                None,
                &req.name,
                &req.members,
                req.requeue_on_offline.unwrap_or(true),
            )?;
            audit(
                ctx,
                &actor,
                "routing.team.create",
                serde_json::to_value(&t)?,
            )?;
            Ok(t)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// Replaces a team's name, members and offline rule (admins).
#[utoipa::path(put, path = "/api/v1/admin/teams/{id}", request_body = NewTeam, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "another team has the name", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_team(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<NewTeam>,
) -> Result<Json<Team>, ApiError> {
    let actor = admin.0.email.clone();
    let team = s
        .store
        .write(move |ctx| {
            let t = sql::put_team(
                ctx,
                Some(id),
                &req.name,
                &req.members,
                req.requeue_on_offline.unwrap_or(true),
            )?;
            audit(
                ctx,
                &actor,
                "routing.team.update",
                serde_json::to_value(&t)?,
            )?;
            Ok(t)
        })
        .await?;
    Ok(Json(team))
}

/// Deletes a team (admins); refused while a number's policy routes to it.
#[utoipa::path(delete, path = "/api/v1/admin/teams/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "a number's routing policy routes to the team", body = ErrorBody)))]
pub async fn delete_team(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            sql::delete_team(ctx, id)?;
            audit(ctx, &actor, "routing.team.delete", json!({"team_id": id}))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent's capacity, skills and teams.
#[utoipa::path(get, path = "/api/v1/admin/agents/{id}/routing", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AgentSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_agent(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<AgentSettings>, ApiError> {
    Ok(Json(
        s.store.read(move |c| sql::agent_settings(c, id)).await?,
    ))
}

/// Sets an agent's capacity, skills and teams (admins). Unknown skills or teams are a 422; more
/// capacity serves the queue at once.
#[utoipa::path(put, path = "/api/v1/admin/agents/{id}/routing", request_body = AgentSettings, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AgentSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_agent(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AgentSettings>,
) -> Result<Json<AgentSettings>, ApiError> {
    let actor = admin.0.email.clone();
    let out = s
        .store
        .write(move |ctx| {
            sql::put_agent_settings(ctx, id, &req)?;
            audit(
                ctx,
                &actor,
                "routing.agent",
                json!({"user_id": id, "settings": req}),
            )?;
            sql::agent_settings(ctx.conn, id)
        })
        .await?;
    Ok(Json(out))
}

/// A number's routing policy (the default, least-loaded, when none was set).
#[utoipa::path(get, path = "/api/v1/admin/numbers/{phone_number_id}/routing", params(("phone_number_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Policy), (status = 403, body = ErrorBody)))]
pub async fn get_policy(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(pnid): Path<String>,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(
        s.store.read(move |c| Ok(sql::policy(c, &pnid)?.0)).await?,
    ))
}

/// Sets a number's routing policy (admins). A policy naming an unknown team or skill is a 422
/// that names it.
#[utoipa::path(put, path = "/api/v1/admin/numbers/{phone_number_id}/routing", request_body = Policy, params(("phone_number_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Policy), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(pnid): Path<String>,
    JsonBody(req): JsonBody<Policy>,
) -> Result<Json<Policy>, ApiError> {
    let actor = admin.0.email.clone();
    let out = req.clone();
    s.store
        .write(move |ctx| {
            let known: i64 = ctx.conn.query_row(
                "SELECT COUNT(*) FROM phone_numbers WHERE phone_number_id = ?1",
                [&pnid],
                |r| r.get(0),
            )?;
            if known == 0 {
                return Err(StoreError::NotFound(format!("number {pnid}")));
            }
            sql::put_policy(ctx, &pnid, &req)?;
            audit(
                ctx,
                &actor,
                "routing.policy",
                json!({"phone_number_id": pnid, "policy": req}),
            )
        })
        .await?;
    Ok(Json(out))
}
