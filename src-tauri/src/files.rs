//! Files the app writes for the person: a message's document and the audit log's CSV, into the
//! Downloads folder, streamed, under a cleaned name that never replaces a file
//! (`switchboard_sync::download`). Documents are downloads, never pages shown in the webview.

use std::path::PathBuf;

use tauri::{AppHandle, Manager, State};

use crate::error::{UiError, UiResult};
use crate::App;

/// The user's Downloads folder (`~/Downloads` where the desktop names none).
pub fn downloads_dir(handle: &AppHandle) -> UiResult<PathBuf> {
    handle
        .path()
        .download_dir()
        .or_else(|_| handle.path().home_dir().map(|h| h.join("Downloads")))
        .map_err(|e| {
            UiError::new(
                "no_downloads_folder",
                format!("There is no Downloads folder to save into: {e}"),
            )
        })
}

/// Saves a message's file (a document) into the Downloads folder; answers the path written.
#[tauri::command]
pub async fn save_media(
    handle: AppHandle,
    app: State<'_, App>,
    message_id: i64,
    filename: String,
) -> UiResult<String> {
    let dir = downloads_dir(&handle)?;
    let client = app.engine()?.client().await;
    let path = switchboard_sync::download::save_media(&client, message_id, &dir, &filename).await?;
    Ok(path.display().to_string())
}
