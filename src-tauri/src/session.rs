//! A signed-in session: the engine, its sync loop, and the task that turns the engine's change
//! feed into Tauri events (and desktop notifications).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use switchboard_protocol::api::{Conversation, Direction, Message};
use switchboard_sync::cache::Cache;
use switchboard_sync::{Change, ConnectionState, Engine, RelayClient, TimelineItem};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::{broadcast, Notify};

use crate::error::UiResult;
use crate::home::{Home, Settings};
use crate::notice_text::{notification_text, BODY_IS_MARKUP};

pub struct Session {
    pub engine: Engine,
    pub settings: Settings,
    stop: Arc<Notify>,
}

impl Session {
    /// Opens the cache and starts syncing with `token`.
    pub fn start(
        app: &AppHandle,
        home: &Home,
        settings: Settings,
        token: String,
    ) -> UiResult<Session> {
        let cache = Cache::open(&home.cache_path(&settings))?;
        let engine = Engine::new(cache, RelayClient::new(&settings.relay_url, Some(token))?);
        let stop = Arc::new(Notify::new());
        let shutdown = {
            let stop = stop.clone();
            async move { stop.notified().await }
        };
        let rx = engine.changes();
        tauri::async_runtime::spawn({
            let engine = engine.clone();
            async move { engine.run(shutdown).await }
        });
        tauri::async_runtime::spawn(forward(app.clone(), engine.clone(), rx, stop.clone()));
        Ok(Session {
            engine,
            settings,
            stop,
        })
    }

    pub fn stop(&self) {
        // notify_waiters wakes both the sync loop and the forwarder.
        self.stop.notify_waiters();
        self.stop.notify_one();
    }
}

/// A click on a desktop notification (`tap`): bring the window forward and open the conversation
/// the notification was about (its id is the conversation id).
pub fn on_notification_action(
    app: &AppHandle,
    performed: &tauri_plugin_notification::ActionPerformed,
) {
    if performed.action_id() != "tap" {
        return;
    }
    let Some(id) = performed.notification().map(|n| n.id()) else {
        return;
    };
    tracing::debug!(conversation_id = id, "notification clicked");
    crate::tray::show_main(app);
    let _ = app.emit(
        "open-conversation",
        serde_json::json!({"conversation_id": id}),
    );
}

/// Whether new customer messages in this conversation deserve a desktop notification:
/// conversations assigned to me, and unassigned ones (nobody else is answering them).
pub fn notifies_me(conv: &Conversation, me: i64) -> bool {
    conv.status == "open" && conv.assignee_id.is_none_or(|a| a == me)
}

/// Global switches read by the forwarder.
pub struct Notices {
    pub muted: AtomicBool,
    /// Whether the main window has the focus (kept from window events: asking the window would
    /// wait for the UI thread).
    pub focused: AtomicBool,
    /// Highest inbound message id already considered, so each message notifies at most once.
    seen: AtomicI64,
    /// Messages older than this (ms) never notify: catch-up after a night offline is not news.
    since: AtomicI64,
}

impl Notices {
    pub fn new(muted: bool) -> Notices {
        Notices {
            muted: AtomicBool::new(muted),
            focused: AtomicBool::new(false),
            seen: AtomicI64::new(0),
            since: AtomicI64::new(switchboard_sync::cache::now_ms() - 60_000),
        }
    }
}

async fn forward(
    app: AppHandle,
    engine: Engine,
    mut rx: broadcast::Receiver<Change>,
    stop: Arc<Notify>,
) {
    loop {
        let change = tokio::select! {
            _ = stop.notified() => return,
            c = rx.recv() => c,
        };
        match change {
            Ok(change) => {
                tracing::debug!(?change, "change");
                let _ = app.emit("change", &change);
                match &change {
                    Change::Timeline { conversation_id } => {
                        notify_new(&app, &engine, *conversation_id)
                    }
                    // New alerts; and on (re)connection, those a catch-up page brought.
                    Change::Alerts
                    | Change::State {
                        state: ConnectionState::Online,
                    } => crate::alert_notice::notify_alerts(&app, &engine),
                    Change::Conversations { ids } => {
                        show_unread(&app, &engine);
                        // A message can arrive before its conversation: look again once the
                        // conversation is there (live traffic only; catch-up pages are large).
                        if ids.len() <= 20 {
                            for id in ids {
                                notify_new(&app, &engine, *id);
                            }
                        }
                    }
                    _ => {}
                }
            }
            // Fell behind: the UI reloads everything.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let _ = app.emit("change", serde_json::json!({"type": "resync"}));
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The unread count in the window title, the badge and the tray.
pub fn show_unread(app: &AppHandle, engine: &Engine) {
    let Ok(counts) = engine.cache().counts() else {
        return;
    };
    crate::tray::show_unread(app, counts.unread_conversations);
}

fn notify_new(app: &AppHandle, engine: &Engine, conversation_id: i64) {
    let notices = app.state::<crate::App>().notices.clone();
    let Ok(Some(me)) = engine.user() else { return };
    let Ok(conv) = engine.cache().conversation(conversation_id) else {
        return;
    };
    let Ok(items) = engine.cache().timeline(conversation_id, None, 5) else {
        return;
    };
    let since = notices.since.load(Ordering::Relaxed);
    let fresh: Vec<&Message> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Message(m) => Some(m.as_ref()),
            _ => None,
        })
        .filter(|m| m.direction == Direction::Inbound && m.created_at >= since)
        .filter(|m| notices.seen.fetch_max(m.id, Ordering::Relaxed) < m.id)
        .collect();
    let Some(last) = fresh.last() else { return };
    if notices.muted.load(Ordering::Relaxed) || !notifies_me(&conv, me.id) {
        return;
    }
    let focused = notices.focused.load(Ordering::Relaxed);
    tracing::debug!(
        conversation_id,
        focused,
        message = last.id,
        "new customer message"
    );
    if focused && std::env::var_os("SWITCHBOARD_NOTIFY_WHEN_FOCUSED").is_none() {
        return;
    }
    // Customer text: never markup, never control characters (see `notice_text`).
    let who = notification_text(
        conv.contact
            .name
            .as_deref()
            .or(conv.contact.wa_id.as_deref())
            .unwrap_or("WhatsApp"),
        false,
    );
    let body = if last.text.is_empty() {
        format!("[{}]", last.type_name)
    } else {
        last.text.clone()
    };
    let body = notification_text(&body, BODY_IS_MARKUP);
    // The conversation id is the notification's id: a click on it (see `on_notification_action`)
    // opens that conversation.
    let shown = match i32::try_from(conversation_id) {
        Ok(id) => app
            .notification()
            .builder()
            .id(id)
            .title(&who)
            .body(&body)
            .show(),
        Err(_) => app.notification().builder().title(&who).body(&body).show(),
    };
    if let Err(e) = shown {
        tracing::warn!(error = %e, "desktop notification failed");
    }
    // Where the notification server does not report clicks, the UI opens this conversation when
    // the window is next focused.
    let _ = app.emit(
        "notified",
        serde_json::json!({"conversation_id": conversation_id}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::api::Contact;

    fn conv(status: &str, assignee_id: Option<i64>) -> Conversation {
        Conversation {
            id: 1,
            phone_number_id: "pn".into(),
            contact: Contact {
                id: 1,
                wa_id: Some("49".into()),
                bsuid: None,
                username: None,
                name: None,
                updated_at: 0,
                tags: Vec::new(),
                marketing: None,
                app_name: None,
            },
            status: status.into(),
            assignee_id,
            last_inbound_at: None,
            last_message_at: 0,
            last_message_preview: String::new(),
            unread_count: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn notifies_for_my_and_unassigned_open_conversations_only() {
        assert!(notifies_me(&conv("open", Some(7)), 7));
        assert!(notifies_me(&conv("open", None), 7));
        assert!(!notifies_me(&conv("open", Some(8)), 7));
        assert!(!notifies_me(&conv("resolved", Some(7)), 7));
    }
}
