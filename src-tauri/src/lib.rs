//! The Switchboard desktop app: a thin Tauri 2 shell over `switchboard-sync`.
//!
//! Commands are one-line wrappers over the engine; the engine's change feed becomes the `change`
//! event (see [`session`]); errors reach the UI as `{code, message}` ([`error::UiError`]). The
//! token lives in the OS keychain only ([`home`]).

mod error;
mod home;
mod session;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::Serialize;
use switchboard_protocol::api::{Conversation, SendRequest, TemplateSend, User};
use switchboard_sync::cache::outbox::PendingMessage;
use switchboard_sync::secret::SecretStore;
use switchboard_sync::{
    ConnectionState, ConversationFilter, Engine, RelayClient, SearchHit, Template, TimelineItem,
};
use tauri::{AppHandle, State};

use error::{UiError, UiResult};
use home::{Home, Prefs, Settings};
use session::{Notices, Session};

pub struct App {
    home: Home,
    session: Mutex<Option<Session>>,
    notices: Arc<Notices>,
    /// Why the keychain could not be read at start-up, if it could not.
    startup_error: Mutex<Option<UiError>>,
}

impl App {
    fn engine(&self) -> UiResult<Engine> {
        let s = self.session.lock().expect("session lock");
        s.as_ref()
            .map(|s| s.engine.clone())
            .ok_or_else(|| UiError::new("not_signed_in", "Not signed in."))
    }
}

#[derive(Serialize)]
struct AppInfo {
    user: Option<User>,
    relay_url: Option<String>,
    state: ConnectionState,
    muted: bool,
    /// Set when no keychain answers (signing in is then impossible, and the UI says so).
    keychain_error: Option<UiError>,
}

#[tauri::command]
async fn app_info(app: State<'_, App>) -> UiResult<AppInfo> {
    let (user, relay_url, state) = match app.engine() {
        Ok(e) => (
            e.user()?,
            Some(e.client().await.base().to_string()),
            e.state(),
        ),
        Err(_) => (
            None,
            app.home.settings()?.map(|s| s.relay_url),
            ConnectionState::Offline,
        ),
    };
    let keychain_error = app
        .home
        .keychain()
        .err()
        .or_else(|| app.startup_error.lock().expect("lock").take());
    Ok(AppInfo {
        user,
        relay_url,
        state,
        muted: app.notices.muted.load(Ordering::Relaxed),
        keychain_error,
    })
}

#[tauri::command]
async fn sign_in(
    handle: AppHandle,
    app: State<'_, App>,
    relay_url: String,
    email: String,
    password: String,
) -> UiResult<User> {
    let keychain = app.home.keychain()?;
    let client = RelayClient::new(relay_url.trim(), None)?;
    let answer = client.login(email.trim(), &password).await?;
    let settings = Settings {
        relay_url: client.base().to_string(),
        email: answer.user.email.clone(),
        user_id: answer.user.id,
    };
    keychain.set(&settings.account(), &answer.token)?;
    app.home.save_settings(&settings)?;
    let session = Session::start(&handle, &app.home, settings, answer.token)?;
    session.engine.cache().set_user(&answer.user)?;
    if let Some(old) = app.session.lock().expect("lock").replace(session) {
        old.stop();
    }
    Ok(answer.user)
}

/// Signs out: ends the relay session, removes the token from the keychain and, if asked, wipes
/// the local cache.
#[tauri::command]
async fn sign_out(app: State<'_, App>, wipe: bool) -> UiResult<()> {
    let session = app.session.lock().expect("lock").take();
    if let Some(s) = session {
        s.stop();
        let client = s.engine.client().await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), client.logout()).await;
        app.home.keychain()?.delete(&s.settings.account())?;
        if wipe {
            s.engine.cache().wipe()?;
        }
    }
    app.home.clear_settings()
}

#[tauri::command]
async fn conversations(
    app: State<'_, App>,
    filter: ConversationFilter,
) -> UiResult<Vec<Conversation>> {
    Ok(app.engine()?.cache().conversations(&filter)?)
}

#[tauri::command]
async fn conversation(app: State<'_, App>, id: i64) -> UiResult<Conversation> {
    Ok(app.engine()?.cache().conversation(id)?)
}

#[tauri::command]
async fn timeline(
    app: State<'_, App>,
    conversation_id: i64,
    before: Option<i64>,
    limit: usize,
) -> UiResult<Vec<TimelineItem>> {
    Ok(app
        .engine()?
        .cache()
        .timeline(conversation_id, before, limit)?)
}

#[tauri::command]
async fn search(app: State<'_, App>, query: String, limit: usize) -> UiResult<Vec<SearchHit>> {
    Ok(app.engine()?.cache().search(&query, limit)?)
}

#[tauri::command]
async fn send_text(
    app: State<'_, App>,
    conversation_id: i64,
    text: String,
    reply_to: Option<i64>,
) -> UiResult<PendingMessage> {
    Ok(app.engine()?.send(
        conversation_id,
        SendRequest::Text {
            text,
            preview_url: false,
            reply_to,
        },
    )?)
}

#[tauri::command]
async fn send_template(
    app: State<'_, App>,
    conversation_id: i64,
    name: String,
    language: String,
    parameters: Vec<String>,
) -> UiResult<PendingMessage> {
    let template = TemplateSend {
        name,
        language,
        parameters,
    };
    Ok(app.engine()?.send(
        conversation_id,
        SendRequest::Template {
            template,
            reply_to: None,
        },
    )?)
}

#[tauri::command]
async fn retry(app: State<'_, App>, client_id: String) -> UiResult<()> {
    Ok(app.engine()?.retry(&client_id)?)
}

#[tauri::command]
async fn discard(app: State<'_, App>, client_id: String) -> UiResult<()> {
    Ok(app.engine()?.discard(&client_id)?)
}

#[tauri::command]
async fn mark_read(app: State<'_, App>, conversation_id: i64) -> UiResult<()> {
    Ok(app.engine()?.mark_read(conversation_id).await?)
}

#[tauri::command]
async fn templates(app: State<'_, App>, phone_number_id: String) -> UiResult<Vec<Template>> {
    Ok(app
        .engine()?
        .client()
        .await
        .templates(&phone_number_id)
        .await?)
}

/// An inbound message's media as a `data:` URL (the page has no network access of its own).
#[tauri::command]
async fn media(app: State<'_, App>, message_id: i64) -> UiResult<String> {
    let (mime, bytes) = app.engine()?.client().await.media(message_id).await?;
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[tauri::command]
async fn set_muted(app: State<'_, App>, muted: bool) -> UiResult<()> {
    app.notices.muted.store(muted, Ordering::Relaxed);
    app.home.save_prefs(&Prefs { muted })
}

/// Resumes the last session: settings from disk, the token from the keychain.
fn resume(handle: &AppHandle, app: &App) -> UiResult<()> {
    let Some(settings) = app.home.settings()? else {
        return Ok(());
    };
    let Some(token) = app.home.token(&settings)? else {
        return Ok(());
    };
    let session = Session::start(handle, &app.home, settings, token)?;
    *app.session.lock().expect("lock") = Some(session);
    Ok(())
}

pub fn run() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| "warn".into());
    // SWITCHBOARD_LOG_FILE: where a launcher (WebDriver, a desktop entry) drops stderr.
    let file = std::env::var_os("SWITCHBOARD_LOG_FILE").and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let _ = match file {
        Some(f) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(Mutex::new(f))
            .try_init(),
        None => tracing_subscriber::fmt().with_env_filter(filter).try_init(),
    };
    let home = Home::locate();
    let notices = Arc::new(Notices::new(home.prefs().muted));
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(App {
            home,
            session: Mutex::new(None),
            notices,
            startup_error: Mutex::new(None),
        })
        .setup(|a| {
            use tauri::Manager;
            let handle = a.handle().clone();
            let app = a.state::<App>();
            if let Err(e) = resume(&handle, &app) {
                tracing::warn!(code = %e.code, message = %e.message, "could not resume the session");
                *app.startup_error.lock().expect("lock") = Some(e);
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(focused) = event {
                use tauri::Manager;
                let app = window.state::<App>();
                app.notices.focused.store(*focused, Ordering::Relaxed);
            }
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            sign_in,
            sign_out,
            conversations,
            conversation,
            timeline,
            search,
            send_text,
            send_template,
            retry,
            discard,
            mark_read,
            templates,
            media,
            set_muted
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Switchboard desktop app");
}
