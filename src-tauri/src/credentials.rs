//! Credentials per business account (admins with `manage_numbers`): one call of the sync
//! engine's client each. A token or secret typed in the form goes to the relay and nowhere else
//! (never logged, never stored on this machine).

use switchboard_protocol::admin::{
    ArchiveSummary, BusinessAccount, BusinessAccountUpdate, HistoryImport, MetaApp,
};
use tauri::State;

use crate::error::UiResult;
use crate::App;

#[tauri::command]
pub async fn admin_business_accounts(app: State<'_, App>) -> UiResult<Vec<BusinessAccount>> {
    Ok(app.engine()?.client().await.business_accounts().await?)
}

#[tauri::command]
pub async fn admin_update_business_account(
    app: State<'_, App>,
    waba_id: String,
    update: BusinessAccountUpdate,
) -> UiResult<BusinessAccount> {
    Ok(app
        .engine()?
        .client()
        .await
        .update_business_account(&waba_id, &update)
        .await?)
}

#[tauri::command]
pub async fn admin_history_imports(app: State<'_, App>) -> UiResult<Vec<HistoryImport>> {
    Ok(app.engine()?.client().await.history_imports().await?)
}

#[tauri::command]
pub async fn admin_media_archive(app: State<'_, App>) -> UiResult<ArchiveSummary> {
    Ok(app.engine()?.client().await.media_archive().await?)
}

#[tauri::command]
pub async fn admin_meta_apps(app: State<'_, App>) -> UiResult<Vec<MetaApp>> {
    Ok(app.engine()?.client().await.meta_apps().await?)
}

#[tauri::command]
pub async fn admin_set_meta_app_secret(
    app: State<'_, App>,
    app_id: String,
    secret: String,
) -> UiResult<()> {
    Ok(app
        .engine()?
        .client()
        .await
        .set_meta_app_secret(&app_id, &secret)
        .await?)
}
