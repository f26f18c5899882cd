//! The admin console's commands: users and roles, each one call of the sync engine's client.
//! The relay decides what the signed-in person may do; its refusals reach the form as
//! `{code, message}`.

use switchboard_protocol::access::{NewRole, PermissionInfo, RoleInfo, RolePatch};
use switchboard_protocol::admin::{Account, NewUser, UserPatch};
use switchboard_protocol::api::User;
use tauri::State;

use crate::error::UiResult;
use crate::App;

#[tauri::command]
pub async fn admin_users(app: State<'_, App>) -> UiResult<Vec<Account>> {
    Ok(app.engine()?.client().await.accounts().await?)
}

#[tauri::command]
pub async fn admin_create_user(app: State<'_, App>, user: NewUser) -> UiResult<User> {
    Ok(app.engine()?.client().await.create_user(&user).await?)
}

#[tauri::command]
pub async fn admin_update_user(
    app: State<'_, App>,
    id: i64,
    patch: UserPatch,
) -> UiResult<Account> {
    Ok(app.engine()?.client().await.update_user(id, &patch).await?)
}

#[tauri::command]
pub async fn admin_reset_password(app: State<'_, App>, id: i64, password: String) -> UiResult<()> {
    Ok(app
        .engine()?
        .client()
        .await
        .reset_password(id, &password)
        .await?)
}

#[tauri::command]
pub async fn admin_permissions(app: State<'_, App>) -> UiResult<Vec<PermissionInfo>> {
    Ok(app.engine()?.client().await.permissions().await?)
}

#[tauri::command]
pub async fn admin_roles(app: State<'_, App>) -> UiResult<Vec<RoleInfo>> {
    Ok(app.engine()?.client().await.roles().await?)
}

#[tauri::command]
pub async fn admin_create_role(app: State<'_, App>, role: NewRole) -> UiResult<RoleInfo> {
    Ok(app.engine()?.client().await.create_role(&role).await?)
}

#[tauri::command]
pub async fn admin_update_role(
    app: State<'_, App>,
    id: i64,
    patch: RolePatch,
) -> UiResult<RoleInfo> {
    Ok(app.engine()?.client().await.update_role(id, &patch).await?)
}

#[tauri::command]
pub async fn admin_delete_role(app: State<'_, App>, id: i64) -> UiResult<()> {
    Ok(app.engine()?.client().await.delete_role(id).await?)
}
