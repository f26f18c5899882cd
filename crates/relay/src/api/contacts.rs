//! Customers as colleagues annotate them (tags and internal notes), and the directory of
//! colleagues and teams a conversation can be transferred to. Agents reach a customer only
//! through a conversation they may see; supervisors and admins reach every customer.

use crate::extract::Path;
use crate::store::db::Db;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::api::{
    AgentStatus, Directory, DirectoryAgent, DirectoryTeam, Note, NoteRequest, Tags,
};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::{contacts, queries, routing as routing_sql, StoreError};
use crate::AppState;

type ErrorBody = switchboard_protocol::api::ErrorBody;

/// A customer's tags (e.g. `vip`): list filters, skill rules and queue priority use them.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/tags", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Tags), (status = 404, body = ErrorBody)))]
pub async fn get_tags(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Tags>, ApiError> {
    let user = user.0;
    let tags = s
        .store
        .read(move |c| {
            contacts::check_visible(c, &user, id)?;
            routing_sql::contact_tags(c, id)
        })
        .await?;
    Ok(Json(Tags { tags }))
}

/// Replaces a customer's tags (lower-cased, at most 30 of at most 40 characters). Agents may
/// tag the customers of their own and of unassigned conversations. Every change is recorded in
/// the audit log and reaches every client through the event log (`contact.updated`).
#[utoipa::path(put, path = "/api/v1/contacts/{id}/tags", request_body = Tags, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Tags), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_tags(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<Tags>,
) -> Result<Json<Tags>, ApiError> {
    let user = user.0;
    let tags = s
        .store
        .write(move |ctx| {
            contacts::check_visible(ctx.conn, &user, id)?;
            routing_sql::put_contact_tags(ctx, id, &req.tags)?;
            let tags = routing_sql::contact_tags(ctx.conn, id)?;
            queries::audit(
                ctx.conn,
                &user.email,
                "contact.tags",
                &json!({"contact_id": id, "tags": tags}),
                ctx.now,
            )?;
            Ok(tags)
        })
        .await?;
    Ok(Json(Tags { tags }))
}

/// A customer's internal notes, oldest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/notes", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Note]), (status = 404, body = ErrorBody)))]
pub async fn list_notes(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Note>>, ApiError> {
    let user = user.0;
    let notes = s
        .store
        .read(move |c| {
            contacts::check_visible(c, &user, id)?;
            contacts::notes(c, id)
        })
        .await?;
    Ok(Json(notes))
}

/// Writes an internal note on a customer (never sent to them); it reaches everyone who sees the
/// customer through the event log (`note.created`).
#[utoipa::path(post, path = "/api/v1/contacts/{id}/notes", request_body = NoteRequest, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = Note), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_note(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<NoteRequest>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let user = user.0;
    let note = s
        .store
        .write(move |ctx| {
            contacts::check_visible(ctx.conn, &user, id)?;
            contacts::add_note(ctx, id, &user, &req.text)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

fn directory(conn: &Db) -> Result<Directory, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.name, u.role, COALESCE(a.presence, 'offline') FROM users u
         LEFT JOIN agent_routing a ON a.user_id = u.id ORDER BY u.name, u.id",
    )?;
    let agents = stmt
        .query_map((), |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
            ))
        })?
        .collect::<crate::store::db::Result<Vec<_>>>()?
        .into_iter()
        .map(|(id, name, role, presence)| DirectoryAgent {
            id,
            name,
            role,
            presence: match presence.as_str() {
                "online" => AgentStatus::Online,
                "away" => AgentStatus::Away,
                _ => AgentStatus::Offline,
            },
        })
        .collect();
    let mut stmt = conn.prepare_cached("SELECT id, name FROM teams ORDER BY name")?;
    let teams = stmt
        .query_map((), |r| {
            Ok(DirectoryTeam {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?
        .collect::<crate::store::db::Result<Vec<_>>>()?;
    Ok(Directory { agents, teams })
}

/// Colleagues (name, role, presence; no e-mail addresses) and teams, for transfers. Any
/// signed-in user.
#[utoipa::path(get, path = "/api/v1/directory", security(("bearer" = [])),
    responses((status = 200, body = Directory), (status = 401, body = ErrorBody)))]
pub async fn get_directory(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Directory>, ApiError> {
    Ok(Json(s.store.read(directory).await?))
}
