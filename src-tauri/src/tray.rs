//! The unread count outside the window: the tray icon (tooltip, and the label beside the icon
//! where the tray shows one: macOS, Linux app indicators), the dock or launcher badge (macOS;
//! Linux launchers that speak the Unity launcher API), and the window title (everywhere).

use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

const TRAY: &str = "main";

/// German when the OS session speaks German (the tray lives outside the page and its language
/// setting).
pub(crate) fn german() -> bool {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .is_some_and(|v| v.to_lowercase().starts_with("de"))
}

/// Brings the main window forward.
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Creates the tray icon. `SWITCHBOARD_NO_TRAY` leaves it out.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    if std::env::var_os("SWITCHBOARD_NO_TRAY").is_some() {
        return Ok(());
    }
    let (open, quit) = if german() {
        ("Switchboard öffnen", "Beenden")
    } else {
        ("Open Switchboard", "Quit")
    };
    let open = MenuItem::with_id(app, "open", open, true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", quit, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut b = TrayIconBuilder::with_id(TRAY)
        .tooltip("Switchboard")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, e| match e.id().as_ref() {
            "open" => show_main(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, e| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = e
            {
                show_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        b = b.icon(icon.clone());
    }
    b.build(app)?;
    Ok(())
}

/// The text for `n` unread conversations (tooltip and title).
pub fn label(n: i64, german: bool) -> String {
    match (n, german) {
        (0, _) => "Switchboard".to_string(),
        (n, true) => format!("Switchboard ({n} ungelesen)"),
        (n, false) => format!("Switchboard ({n} unread)"),
    }
}

/// Shows the unread count on the window title, the badge and the tray.
pub fn show_unread(app: &AppHandle, n: i64) {
    if let Some(w) = app.get_webview_window("main") {
        let title = match n {
            0 => "Switchboard".to_string(),
            n => format!("Switchboard ({n})"),
        };
        let _ = w.set_title(&title);
        // Not on Windows (no badge there); elsewhere a launcher without badges ignores it.
        #[cfg(not(target_os = "windows"))]
        let _ = w.set_badge_count((n > 0).then_some(n));
    }
    if let Some(tray) = app.tray_by_id(TRAY) {
        let _ = tray.set_tooltip(Some(label(n, german())));
        let _ = tray.set_title((n > 0).then(|| n.to_string()));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels() {
        assert_eq!(super::label(0, false), "Switchboard");
        assert_eq!(super::label(3, false), "Switchboard (3 unread)");
        assert_eq!(super::label(1, true), "Switchboard (1 ungelesen)");
    }
}
