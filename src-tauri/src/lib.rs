//! The Switchboard desktop app: a thin Tauri 2 shell over `switchboard-sync`.
//!
//! Commands are one-line wrappers over the engine; the engine's change feed becomes the `change`
//! event (see [`session`]); errors reach the UI as `{code, message}` ([`error::UiError`]). The
//! token lives in the OS keychain only ([`home`]).

mod admin;
mod alert_notice;
mod allocator;
mod credentials;
mod error;
mod files;
mod governance;
mod home;
mod idle;
mod notice_text;
mod rendering;
mod session;
mod supervise;
mod tray;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::Serialize;
use switchboard_protocol::api::{
    AgentPresence, AgentStatus, AssignRequest, Conversation, Directory, Monitor, Note, SendRequest,
    TemplateSend, User,
};
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
    /// The person's chosen status and the automatic away (see [`idle`]).
    auto: idle::Auto,
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
    /// The chosen status, whether the app set `away` itself, and the idle minutes.
    presence: idle::Presence,
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
        presence: app.auto.get(),
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
async fn sign_out(handle: AppHandle, app: State<'_, App>, wipe: bool) -> UiResult<()> {
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
    tray::show_unread(&handle, 0);
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
    let engine = app.engine()?;
    if before.is_none() {
        // Opening a conversation: bring in messages from before this user could see it (a
        // transfer); the change feed then refreshes the view. Offline it simply waits.
        let e = engine.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(err) = e.fetch_history(conversation_id).await {
                tracing::debug!(conversation_id, error = %err, "history not fetched");
            }
        });
    }
    Ok(engine.cache().timeline(conversation_id, before, limit)?)
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

/// Uploads a file the agent picked (base64 from the page) and sends it as an image or document
/// through the outbox. The upload needs the relay: offline it fails with a clear error and
/// nothing is queued.
#[tauri::command]
async fn send_attachment(
    app: State<'_, App>,
    conversation_id: i64,
    filename: String,
    mime: String,
    data: String,
    caption: Option<String>,
    reply_to: Option<i64>,
) -> UiResult<PendingMessage> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|_| switchboard_sync::SyncError::Invalid("the file could not be read".into()))?;
    let engine = app.engine()?;
    let up = engine
        .client()
        .await
        .upload_media(conversation_id, bytes, &mime, &filename)
        .await?;
    let caption = caption.filter(|c| !c.trim().is_empty());
    let request = if up.kind == "image" {
        SendRequest::Image {
            link: String::new(),
            media_id: Some(up.media_id),
            caption,
            reply_to,
        }
    } else {
        SendRequest::Document {
            link: String::new(),
            media_id: Some(up.media_id),
            filename: Some(up.filename),
            caption,
            reply_to,
        }
    };
    Ok(engine.send(conversation_id, request)?)
}

#[tauri::command]
async fn send_template(
    app: State<'_, App>,
    conversation_id: i64,
    name: String,
    language: String,
    parameters: Vec<String>,
    header_parameters: Option<Vec<String>>,
) -> UiResult<PendingMessage> {
    let template = TemplateSend {
        name,
        language,
        parameters,
        header_parameters: header_parameters.unwrap_or_default(),
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
    app.home.save_prefs(&Prefs {
        muted,
        ..app.home.prefs()
    })
}

// ------------------------------------------------------------------ team work (through the relay)

/// Colleagues and teams to transfer to.
#[tauri::command]
async fn directory(app: State<'_, App>) -> UiResult<Directory> {
    Ok(app.engine()?.client().await.directory().await?)
}

/// Assign to me (`agent_id` = own id), transfer to a colleague (`agent_id`) or to a team
/// (`team_id`); `force` (supervisors) assigns even past capacity or presence.
#[tauri::command]
async fn assign(
    app: State<'_, App>,
    conversation_id: i64,
    agent_id: Option<i64>,
    team_id: Option<i64>,
    force: bool,
) -> UiResult<Conversation> {
    let req = AssignRequest {
        agent_id,
        team_id,
        force,
    };
    Ok(app
        .engine()?
        .client()
        .await
        .assign(conversation_id, &req)
        .await?)
}

#[tauri::command]
async fn resolve(app: State<'_, App>, conversation_id: i64) -> UiResult<Conversation> {
    Ok(app
        .engine()?
        .client()
        .await
        .resolve(conversation_id)
        .await?)
}

#[tauri::command]
async fn reopen(app: State<'_, App>, conversation_id: i64) -> UiResult<Conversation> {
    Ok(app.engine()?.client().await.reopen(conversation_id).await?)
}

/// The relay's business numbers with their names (the inbox names them, never Meta's ids).
#[tauri::command]
async fn numbers(app: State<'_, App>) -> UiResult<Vec<switchboard_protocol::api::PhoneNumber>> {
    Ok(app.engine()?.client().await.numbers().await?)
}

/// The supervisor snapshot (supervisors and admins; others get the relay's refusal).
#[tauri::command]
async fn monitor(app: State<'_, App>) -> UiResult<Monitor> {
    Ok(app.engine()?.client().await.monitor().await?)
}

/// The status the person chooses; the automatic away then follows this choice.
#[tauri::command]
async fn set_status(app: State<'_, App>, status: AgentStatus) -> UiResult<AgentPresence> {
    let answer = app.engine()?.client().await.set_status(status).await?;
    {
        let mut p = app.auto.presence.lock().expect("presence lock");
        p.chosen = status;
        p.auto_away = false;
    }
    app.home.save_prefs(&Prefs {
        status: Some(status),
        auto_away: false,
        ..app.home.prefs()
    })?;
    Ok(answer)
}

/// Idle minutes before the automatic away; 0 turns it off.
#[tauri::command]
async fn set_idle_minutes(app: State<'_, App>, minutes: u32) -> UiResult<()> {
    app.auto
        .presence
        .lock()
        .expect("presence lock")
        .idle_minutes = minutes;
    app.home.save_prefs(&Prefs {
        idle_minutes: minutes,
        ..app.home.prefs()
    })
}

/// Every tag in the cache with how many conversations carry it, most used first.
#[tauri::command]
async fn tags(app: State<'_, App>) -> UiResult<Vec<(String, i64)>> {
    Ok(app.engine()?.cache().tags()?)
}

/// Replaces a customer's tags on the relay; the caches follow through the event log.
#[tauri::command]
async fn set_tags(
    app: State<'_, App>,
    contact_id: i64,
    tags: Vec<String>,
) -> UiResult<Vec<String>> {
    Ok(app
        .engine()?
        .client()
        .await
        .set_tags(contact_id, &tags)
        .await?)
}

/// A customer's internal notes from the cache, oldest first.
#[tauri::command]
async fn notes(app: State<'_, App>, contact_id: i64) -> UiResult<Vec<Note>> {
    Ok(app.engine()?.cache().notes(contact_id)?)
}

#[tauri::command]
async fn add_note(app: State<'_, App>, contact_id: i64, text: String) -> UiResult<Note> {
    Ok(app
        .engine()?
        .client()
        .await
        .add_note(contact_id, &text)
        .await?)
}

/// Benchmarks only (`scripts/bench-desktop.sh`): the inbox calls this once it shows its first rows.
/// With `SWITCHBOARD_BENCH_READY` set it prints when (and exits if the value is `exit`); the
/// permission to call it is granted only then (see `run`).
#[tauri::command]
fn bench_ready(handle: AppHandle, rows: usize) {
    let Ok(mode) = std::env::var("SWITCHBOARD_BENCH_READY") else {
        return;
    };
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!("SWITCHBOARD_BENCH_READY unix_ms={ms:.1} rows={rows}");
    if mode == "exit" {
        handle.exit(0);
    }
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
    allocator::tune();
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
    // Before the webview (or any thread) starts: how WebKit paints on this machine.
    rendering::apply();
    let home = Home::locate();
    let prefs = home.prefs();
    let notices = Arc::new(Notices::new(prefs.muted));
    let auto = idle::Auto::new(
        prefs.status.unwrap_or(AgentStatus::Online),
        prefs.auto_away,
        prefs.idle_minutes,
    );
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(App {
            home,
            session: Mutex::new(None),
            notices,
            auto,
            startup_error: Mutex::new(None),
        })
        .setup(|a| {
            use tauri::Manager;
            let handle = a.handle().clone();
            let app = a.state::<App>();
            if std::env::var_os("SWITCHBOARD_BENCH_READY").is_some() {
                a.add_capability(
                    tauri::ipc::CapabilityBuilder::new("bench")
                        .window("main")
                        .permission("allow-bench-ready"),
                )?;
            }
            if let Err(e) = resume(&handle, &app) {
                tracing::warn!(code = %e.code, message = %e.message, "could not resume the session");
                *app.startup_error.lock().expect("lock") = Some(e);
            }
            // Clicks on desktop notifications open their conversation.
            {
                use tauri_plugin_notification::NotificationExt;
                let h = handle.clone();
                let _ = handle
                    .notification()
                    .on_action(move |p| session::on_notification_action(&h, p));
            }
            if let Err(e) = tray::create(&handle) {
                tracing::warn!(error = %e, "no tray icon");
            }
            idle::start(handle.clone());
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
            send_attachment,
            send_template,
            retry,
            discard,
            mark_read,
            templates,
            media,
            files::save_media,
            set_muted,
            bench_ready,
            directory,
            assign,
            resolve,
            reopen,
            monitor,
            numbers,
            set_status,
            set_idle_minutes,
            tags,
            set_tags,
            notes,
            add_note,
            supervise::waiting_queue,
            supervise::agent_report,
            supervise::alerts,
            supervise::mark_alerts_seen,
            supervise::routing_settings,
            supervise::put_routing_settings,
            supervise::skills,
            supervise::put_skills,
            supervise::teams,
            supervise::create_team,
            supervise::put_team,
            supervise::delete_team,
            supervise::agent_routing,
            supervise::put_agent_routing,
            supervise::number_policy,
            supervise::put_number_policy,
            supervise::business_hours,
            supervise::put_business_hours,
            supervise::delete_business_hours,
            supervise::rate_limit,
            supervise::put_rate_limit,
            supervise::sync_templates,
            admin::admin_update_auto_reply,
            admin::admin_test_auto_reply,
            admin::admin_users,
            credentials::admin_business_accounts,
            credentials::admin_update_business_account,
            credentials::admin_meta_apps,
            credentials::admin_history_imports,
            credentials::admin_media_archive,
            credentials::admin_set_meta_app_secret,
            admin::admin_create_user,
            admin::admin_update_user,
            admin::admin_reset_password,
            admin::admin_permissions,
            admin::admin_roles,
            admin::admin_create_role,
            admin::admin_update_role,
            admin::admin_delete_role,
            admin::admin_audit,
            admin::admin_audit_export,
            admin::export_contact,
            admin::export_all,
            governance::governance_retention,
            governance::governance_set_retention,
            governance::governance_holds,
            governance::governance_hold,
            governance::governance_release,
            governance::governance_erase,
            admin::review_blocks,
            admin::review_allow,
            admin::review_reject,
            admin::admin_add_number,
            admin::admin_auto_replies,
            admin::admin_create_auto_reply,
            admin::admin_delete_auto_reply,
            admin::admin_words,
            admin::admin_set_words,
            admin::admin_check_words
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Switchboard desktop app");
}
