//! Data governance commands (permission `manage_data`, checked by the relay): retention per
//! business number, legal holds, erasing a customer. Each is one call of the sync engine's
//! client; the erasure reaches the local cache through the event log.

use switchboard_protocol::governance::{Erased, LegalHold, Retention};
use switchboard_sync::governance::HoldTarget;
use tauri::State;

use crate::error::{UiError, UiResult};
use crate::App;

fn target(contact_id: Option<i64>, conversation_id: Option<i64>) -> UiResult<HoldTarget> {
    match (contact_id, conversation_id) {
        (Some(c), None) => Ok(HoldTarget::Contact(c)),
        (None, Some(c)) => Ok(HoldTarget::Conversation(c)),
        _ => Err(UiError::new(
            "invalid",
            "a legal hold is on a customer or on a conversation",
        )),
    }
}

#[tauri::command]
pub async fn governance_retention(app: State<'_, App>) -> UiResult<Vec<Retention>> {
    Ok(app.engine()?.client().await.retention().await?)
}

#[tauri::command]
pub async fn governance_set_retention(
    app: State<'_, App>,
    phone_number_id: String,
    days: Option<i64>,
) -> UiResult<Retention> {
    Ok(app
        .engine()?
        .client()
        .await
        .set_retention(&phone_number_id, days)
        .await?)
}

#[tauri::command]
pub async fn governance_holds(app: State<'_, App>) -> UiResult<Vec<LegalHold>> {
    Ok(app.engine()?.client().await.legal_holds().await?)
}

#[tauri::command]
pub async fn governance_hold(
    app: State<'_, App>,
    contact_id: Option<i64>,
    conversation_id: Option<i64>,
    reason: String,
) -> UiResult<LegalHold> {
    let on = target(contact_id, conversation_id)?;
    Ok(app
        .engine()?
        .client()
        .await
        .set_legal_hold(on, &reason)
        .await?)
}

#[tauri::command]
pub async fn governance_release(
    app: State<'_, App>,
    contact_id: Option<i64>,
    conversation_id: Option<i64>,
) -> UiResult<()> {
    let on = target(contact_id, conversation_id)?;
    Ok(app.engine()?.client().await.release_legal_hold(on).await?)
}

#[tauri::command]
pub async fn governance_erase(app: State<'_, App>, contact_id: i64) -> UiResult<Erased> {
    let engine = app.engine()?;
    let erased = engine.client().await.erase_contact(contact_id).await?;
    // The live stream brings `contact.erased` too; a sync now empties the cache at once.
    if let Err(e) = engine.sync_once().await {
        tracing::warn!(error = %e, "sync after an erasure failed; the stream will bring it");
    }
    Ok(erased)
}
