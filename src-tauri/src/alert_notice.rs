//! Escalation alerts as desktop notifications: a customer waiting too long for the agent's
//! reply, or overdue (supervisors). Alerts come from the cache ([`switchboard_sync::cache::alerts`]),
//! so one raised while the app was closed notifies at the next start; each notifies once. The
//! page shows the badge and the list itself (the `change` event of kind `alerts`).

use switchboard_sync::cache::alerts::Alert;
use switchboard_sync::Engine;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::notice_text::{notification_text, BODY_IS_MARKUP};

/// At most this many alerts notify one by one; the rest are summed up in one notification.
const ONE_BY_ONE: usize = 3;

/// The notification body of an alert, waiting `minutes` by `now`.
pub fn alert_body(kind: &str, minutes: i64, german: bool) -> String {
    match (kind, german) {
        ("overdue", true) => format!("Überfällig: wartet seit {minutes} Min. auf Antwort"),
        ("overdue", false) => format!("Overdue: waiting {minutes} min for a reply"),
        (_, true) => format!("Wartet seit {minutes} Min. auf Ihre Antwort"),
        (_, false) => format!("Waiting {minutes} min for your reply"),
    }
}

/// The summary of alerts beyond the first few.
pub fn more_body(n: usize, german: bool) -> String {
    if german {
        format!("{n} weitere Kunden warten zu lange")
    } else {
        format!("{n} more customers are waiting too long")
    }
}

/// Notifies the alerts that apply and never notified (unless notifications are muted; they are
/// then only counted on the badge).
pub fn notify_alerts(app: &AppHandle, engine: &Engine) {
    let due: Vec<Alert> = match engine.cache().take_alerts_to_notify() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "reading alerts failed");
            return;
        }
    };
    if due.is_empty() {
        return;
    }
    let notices = app.state::<crate::App>().notices.clone();
    if notices.muted.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let german = crate::tray::german();
    let now = switchboard_sync::cache::now_ms();
    for a in due.iter().rev().take(ONE_BY_ONE) {
        let who = engine
            .cache()
            .conversation(a.conversation_id)
            .ok()
            .and_then(|c| c.contact.name.or(c.contact.wa_id))
            .unwrap_or_else(|| "WhatsApp".into());
        let minutes = ((now - a.waiting_since).max(0) / 60_000).max(1);
        let body = notification_text(&alert_body(&a.kind, minutes, german), BODY_IS_MARKUP);
        let mut n = app
            .notification()
            .builder()
            .title(notification_text(&who, false))
            .body(body);
        // A click opens the conversation (see `session::on_notification_action`).
        if let Ok(id) = i32::try_from(a.conversation_id) {
            n = n.id(id);
        }
        if let Err(e) = n.show() {
            tracing::warn!(error = %e, "desktop notification failed");
        }
    }
    if due.len() > ONE_BY_ONE {
        let shown = app
            .notification()
            .builder()
            .title("Switchboard")
            .body(more_body(due.len() - ONE_BY_ONE, german))
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "desktop notification failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_speak_the_sessions_language() {
        assert_eq!(
            alert_body("waiting", 5, false),
            "Waiting 5 min for your reply"
        );
        assert_eq!(
            alert_body("overdue", 12, true),
            "Überfällig: wartet seit 12 Min. auf Antwort"
        );
        assert_eq!(more_body(4, true), "4 weitere Kunden warten zu lange");
    }
}
