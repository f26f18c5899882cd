//! Roles and permissions as admins manage them: `GET /api/v1/admin/permissions`, and
//! `GET|POST /api/v1/admin/roles`, `PATCH|DELETE /api/v1/admin/roles/{id}` (permission
//! `manage_users`). A change takes effect on the next request of everyone holding the role (open
//! streams follow within `api::events::SESSION_CHECK`); no one is signed out. Every change is
//! audited.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_protocol::access::{NewRole, Permission, PermissionInfo, RoleInfo, RolePatch};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::{queries, roles};
use crate::AppState;

type ErrorBody = switchboard_protocol::api::ErrorBody;

/// Every permission a role can grant, with what it allows.
#[utoipa::path(get, path = "/api/v1/admin/permissions", security(("bearer" = [])),
    responses((status = 200, body = [PermissionInfo])))]
pub async fn permissions(_user: AuthUser) -> Result<Json<Vec<PermissionInfo>>, ApiError> {
    Ok(Json(
        Permission::ALL
            .into_iter()
            .map(|p| PermissionInfo {
                name: p,
                description: p.description().into(),
            })
            .collect(),
    ))
}

/// Every role: the predefined ones first, with how many users hold each.
#[utoipa::path(get, path = "/api/v1/admin/roles", security(("bearer" = [])),
    responses((status = 200, body = [RoleInfo])))]
pub async fn list_roles(
    State(s): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    Ok(Json(s.store.read(roles::list).await?))
}

/// Creates a role. Names are unique regardless of case.
#[utoipa::path(post, path = "/api/v1/admin/roles", request_body = NewRole, security(("bearer" = [])),
    responses((status = 201, body = RoleInfo), (status = 409, description = "the name is taken", body = ErrorBody),
              (status = 422, description = "the name is not valid", body = ErrorBody)))]
pub async fn create_role(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<NewRole>,
) -> Result<(StatusCode, Json<RoleInfo>), ApiError> {
    let actor = admin.0.email.clone();
    let role = s
        .store
        .write(move |ctx| {
            let role = roles::create(ctx.conn, &req.name, &req.permissions, ctx.now)?;
            queries::audit(
                ctx.conn,
                &actor,
                "role.create",
                &json!({"role_id": role.id, "name": role.name, "permissions": role.permissions}),
                ctx.now,
            )?;
            Ok(role)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(role)))
}

/// One role with its permissions and how many users hold it.
#[utoipa::path(get, path = "/api/v1/admin/roles/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = RoleInfo)))]
pub async fn get_role(
    State(s): State<AppState>,
    _user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<RoleInfo>, ApiError> {
    Ok(Json(s.store.read(move |c| roles::get(c, id)).await?))
}

/// Renames a role (not a predefined one) or sets its permissions. Refused (409) when no active
/// user would be allowed to manage users any more.
#[utoipa::path(patch, path = "/api/v1/admin/roles/{id}", request_body = RolePatch, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = RoleInfo), (status = 404, body = ErrorBody),
              (status = 409, description = "the name is taken, or no one could manage users any more", body = ErrorBody),
              (status = 409, description = "the name is taken, a predefined role's name would change, or no one could manage users any more", body = ErrorBody),
              (status = 422, description = "the name is not valid", body = ErrorBody)))]
pub async fn update_role(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
    JsonBody(patch): JsonBody<RolePatch>,
) -> Result<Json<RoleInfo>, ApiError> {
    let actor = admin.0.email.clone();
    let role = s
        .store
        .write(move |ctx| {
            let before = roles::get(ctx.conn, id)?;
            let role = roles::update(
                ctx.conn,
                id,
                patch.name.as_deref(),
                patch.permissions.as_deref(),
            )?;
            queries::audit(
                ctx.conn,
                &actor,
                "role.update",
                &json!({"role_id": id, "before": {"name": before.name, "permissions": before.permissions},
                        "after": {"name": role.name, "permissions": role.permissions}}),
                ctx.now,
            )?;
            Ok(role)
        })
        .await?;
    Ok(Json(role))
}

/// Deletes a role no user holds (not a predefined one).
#[utoipa::path(delete, path = "/api/v1/admin/roles/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 409, description = "users hold the role, or it is a predefined one", body = ErrorBody)))]
pub async fn delete_role(
    State(s): State<AppState>,
    admin: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = admin.0.email.clone();
    s.store
        .write(move |ctx| {
            let role = roles::delete(ctx.conn, id)?;
            queries::audit(
                ctx.conn,
                &actor,
                "role.delete",
                &json!({"role_id": id, "name": role.name}),
                ctx.now,
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
