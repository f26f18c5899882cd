//! The admin console's commands: users, roles, the audit log and the review of blocked messages, each one call of the sync engine's client.
//! The relay decides what the signed-in person may do; its refusals reach the form as
//! `{code, message}`.

use switchboard_protocol::access::{NewRole, PermissionInfo, RoleInfo, RolePatch};
use switchboard_protocol::admin::{Account, AuditEntry, AuditQuery, NewNumber, NewUser, UserPatch};
use switchboard_protocol::api::{Message, PhoneNumber, User};
use switchboard_protocol::policy::{
    AutoReply, AutoReplyTest, AutoReplyVerdict, Block, NewAutoReply, SensitiveWords, WordCheck,
    WordVerdict,
};
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

#[tauri::command]
pub async fn admin_audit(app: State<'_, App>, query: AuditQuery) -> UiResult<Vec<AuditEntry>> {
    Ok(app.engine()?.client().await.audit(&query).await?)
}

/// The filtered audit log as CSV into the Downloads folder; answers the path written.
#[tauri::command]
pub async fn admin_audit_export(
    handle: tauri::AppHandle,
    app: State<'_, App>,
    query: AuditQuery,
) -> UiResult<String> {
    let dir = crate::files::downloads_dir(&handle)?;
    let response = app.engine()?.client().await.audit_export(&query).await?;
    let path =
        switchboard_sync::download::save_response(response, &dir, "audit-log.csv", "audit-log.csv")
            .await?;
    Ok(path.display().to_string())
}

/// One customer's data (GDPR access requests) as JSON Lines into the Downloads folder.
#[tauri::command]
pub async fn export_contact(
    handle: tauri::AppHandle,
    app: State<'_, App>,
    contact_id: i64,
) -> UiResult<String> {
    let dir = crate::files::downloads_dir(&handle)?;
    let response = app
        .engine()?
        .client()
        .await
        .export_contact(contact_id)
        .await?;
    let name = format!("customer-{contact_id}.zip");
    let path = switchboard_sync::download::save_response(response, &dir, &name, &name).await?;
    Ok(path.display().to_string())
}

/// Everything as JSON Lines into the Downloads folder, streamed.
#[tauri::command]
pub async fn export_all(handle: tauri::AppHandle, app: State<'_, App>) -> UiResult<String> {
    let dir = crate::files::downloads_dir(&handle)?;
    let response = app.engine()?.client().await.export_all().await?;
    let name = "switchboard-export.jsonl";
    let path = switchboard_sync::download::save_response(response, &dir, name, name).await?;
    Ok(path.display().to_string())
}

#[tauri::command]
pub async fn review_blocks(app: State<'_, App>) -> UiResult<Vec<Block>> {
    Ok(app.engine()?.client().await.blocks().await?)
}

#[tauri::command]
pub async fn review_allow(app: State<'_, App>, id: i64) -> UiResult<Message> {
    Ok(app.engine()?.client().await.allow_block(id).await?)
}

#[tauri::command]
pub async fn review_reject(app: State<'_, App>, id: i64) -> UiResult<Block> {
    Ok(app.engine()?.client().await.reject_block(id).await?)
}

#[tauri::command]
pub async fn admin_add_number(app: State<'_, App>, number: NewNumber) -> UiResult<PhoneNumber> {
    Ok(app.engine()?.client().await.add_number(&number).await?)
}

#[tauri::command]
pub async fn admin_auto_replies(app: State<'_, App>) -> UiResult<Vec<AutoReply>> {
    Ok(app.engine()?.client().await.auto_replies().await?)
}

#[tauri::command]
pub async fn admin_create_auto_reply(
    app: State<'_, App>,
    rule: NewAutoReply,
) -> UiResult<AutoReply> {
    Ok(app
        .engine()?
        .client()
        .await
        .create_auto_reply(&rule)
        .await?)
}

#[tauri::command]
pub async fn admin_update_auto_reply(
    app: State<'_, App>,
    id: i64,
    rule: NewAutoReply,
) -> UiResult<AutoReply> {
    Ok(app
        .engine()?
        .client()
        .await
        .update_auto_reply(id, &rule)
        .await?)
}

#[tauri::command]
pub async fn admin_test_auto_reply(
    app: State<'_, App>,
    test: AutoReplyTest,
) -> UiResult<AutoReplyVerdict> {
    Ok(app.engine()?.client().await.test_auto_reply(&test).await?)
}

#[tauri::command]
pub async fn admin_delete_auto_reply(app: State<'_, App>, id: i64) -> UiResult<()> {
    Ok(app.engine()?.client().await.delete_auto_reply(id).await?)
}

#[tauri::command]
pub async fn admin_words(app: State<'_, App>) -> UiResult<SensitiveWords> {
    Ok(app.engine()?.client().await.sensitive_words().await?)
}

#[tauri::command]
pub async fn admin_set_words(
    app: State<'_, App>,
    words: SensitiveWords,
) -> UiResult<SensitiveWords> {
    Ok(app
        .engine()?
        .client()
        .await
        .set_sensitive_words(&words)
        .await?)
}

#[tauri::command]
pub async fn admin_check_words(app: State<'_, App>, check: WordCheck) -> UiResult<WordVerdict> {
    Ok(app.engine()?.client().await.check_words(&check).await?)
}
