//! Idle or locked → away. Every few seconds the OS is asked how long the session has been idle
//! and whether it is locked; [`decide`] (pure, unit-tested) turns that into a status change, and
//! the relay is told with `PUT /api/v1/me/status`.
//!
//! Platforms: Linux over D-Bus (GNOME's `org.gnome.Mutter.IdleMonitor`, the
//! `org.freedesktop.ScreenSaver` idle time and active flag that KDE, Xfce and others offer, and
//! logind's `LockedHint`). Elsewhere no reading is taken, so nothing changes automatically.
//! Tests replace the OS reading with a file (`SWITCHBOARD_IDLE_FILE`: "<idle seconds> [locked]").

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use switchboard_protocol::api::AgentStatus;
use tauri::{AppHandle, Emitter, Manager};

/// How often the OS is asked.
pub const POLL: Duration = Duration::from_secs(5);
/// Idle below this many seconds counts as "back" (capped at half the threshold): away at the
/// threshold, online again only after fresh input, so a reading near the threshold cannot flap.
pub const BACK_SECS: u64 = 30;
pub const DEFAULT_MINUTES: u32 = 10;

/// One reading of the OS session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// Seconds since the last input, when the platform tells.
    pub idle_secs: Option<u64>,
    pub locked: bool,
}

/// What the app knows about the person's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Presence {
    /// What the person chose (the status menu); automatic changes never alter it.
    pub chosen: AgentStatus,
    /// Set while the app itself reported `away` because of idleness or a locked screen.
    pub auto_away: bool,
    /// Idle minutes before going away; 0 turns the automatic away off.
    pub idle_minutes: u32,
}

/// The status to report now, if any. Away when the session is locked or idle for the threshold,
/// but only for someone who chose `online` (a status set by hand is left alone); online again
/// once the app's own away no longer applies (unlocked and recent input, or the feature turned
/// off).
pub fn decide(p: &Presence, r: Reading) -> Option<AgentStatus> {
    if p.chosen != AgentStatus::Online {
        return None;
    }
    let threshold = u64::from(p.idle_minutes) * 60;
    if !p.auto_away {
        if threshold == 0 {
            return None;
        }
        let idle = r.idle_secs.is_some_and(|s| s >= threshold);
        return (r.locked || idle).then_some(AgentStatus::Away);
    }
    if threshold == 0 {
        return Some(AgentStatus::Online);
    }
    if r.locked {
        return None;
    }
    let back = BACK_SECS.min(threshold / 2);
    match r.idle_secs {
        Some(s) if s >= back => None,
        // Fresh input, or no idle reading at all (away came from the lock alone).
        _ => Some(AgentStatus::Online),
    }
}

/// Shared between the poller, the commands and `app_info`.
pub struct Auto {
    pub presence: Mutex<Presence>,
}

impl Auto {
    /// `auto_away` as the last run left it: an app that quit while it had set away reports
    /// online again once the person is back.
    pub fn new(chosen: AgentStatus, auto_away: bool, idle_minutes: u32) -> Auto {
        Auto {
            presence: Mutex::new(Presence {
                chosen,
                auto_away: auto_away && chosen == AgentStatus::Online,
                idle_minutes,
            }),
        }
    }

    pub fn get(&self) -> Presence {
        *self.presence.lock().expect("presence lock")
    }
}

/// Starts the poller thread (once per app run; it idles while nobody is signed in).
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("idle".into())
        .spawn(move || {
            let probe = match std::env::var_os("SWITCHBOARD_IDLE_FILE") {
                Some(path) => Source::File(path.into()),
                None => Source::Os(platform::Probe::new()),
            };
            loop {
                std::thread::sleep(POLL);
                tick(&app, &probe);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the idle watcher");
    }
}

/// Where readings come from: the OS, or a file the end-to-end tests write.
enum Source {
    Os(platform::Probe),
    File(std::path::PathBuf),
}

impl Source {
    fn read(&self) -> Reading {
        match self {
            Source::Os(p) => p.read(),
            Source::File(path) => parse_reading(&std::fs::read_to_string(path).unwrap_or_default()),
        }
    }
}

/// "<idle seconds> [locked]"; anything unreadable is no reading.
pub fn parse_reading(s: &str) -> Reading {
    let mut words = s.split_whitespace();
    Reading {
        idle_secs: words.next().and_then(|w| w.parse().ok()),
        locked: words.any(|w| w == "locked"),
    }
}

fn tick(app: &AppHandle, probe: &Source) {
    let state = app.state::<crate::App>();
    let Ok(engine) = state.engine() else { return };
    let p = state.auto.get();
    if p.chosen != AgentStatus::Online || (p.idle_minutes == 0 && !p.auto_away) {
        return;
    }
    let reading = probe.read();
    let Some(status) = decide(&p, reading) else {
        return;
    };
    tracing::info!(?reading, ?status, "session idle state changed");
    let client = tauri::async_runtime::block_on(engine.client());
    match tauri::async_runtime::block_on(client.set_status(status)) {
        Ok(_) => {
            let now = {
                let mut cur = state.auto.presence.lock().expect("presence lock");
                // The person may have chosen a status meanwhile: theirs wins.
                if cur.chosen == AgentStatus::Online {
                    cur.auto_away = status == AgentStatus::Away;
                }
                *cur
            };
            let _ = state.home.save_prefs(&crate::home::Prefs {
                auto_away: now.auto_away,
                ..state.home.prefs()
            });
            let _ = app.emit("presence", now);
        }
        // Offline or refused: the next reading tries again.
        Err(e) => tracing::debug!(error = %e, "could not report the idle status"),
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::Reading;
    use zbus::blocking::Connection;
    use zbus::zvariant::OwnedValue;

    pub struct Probe {
        session: Option<Connection>,
        system: Option<Connection>,
    }

    impl Probe {
        pub fn new() -> Probe {
            Probe {
                session: Connection::session().ok(),
                system: Connection::system().ok(),
            }
        }

        pub fn read(&self) -> Reading {
            let saver_active = self.screensaver_active();
            Reading {
                idle_secs: self.idle_secs(),
                locked: saver_active || self.logind_locked(),
            }
        }

        fn idle_secs(&self) -> Option<u64> {
            let c = self.session.as_ref()?;
            // GNOME (Wayland and X11): milliseconds.
            if let Ok(m) = c.call_method(
                Some("org.gnome.Mutter.IdleMonitor"),
                "/org/gnome/Mutter/IdleMonitor/Core",
                Some("org.gnome.Mutter.IdleMonitor"),
                "GetIdletime",
                &(),
            ) {
                if let Ok(ms) = m.body().deserialize::<u64>() {
                    return Some(ms / 1000);
                }
            }
            // KDE, Xfce and others: seconds.
            for path in ["/org/freedesktop/ScreenSaver", "/ScreenSaver"] {
                if let Ok(m) = c.call_method(
                    Some("org.freedesktop.ScreenSaver"),
                    path,
                    Some("org.freedesktop.ScreenSaver"),
                    "GetSessionIdleTime",
                    &(),
                ) {
                    if let Ok(s) = m.body().deserialize::<u32>() {
                        return Some(u64::from(s));
                    }
                }
            }
            None
        }

        fn screensaver_active(&self) -> bool {
            let Some(c) = self.session.as_ref() else {
                return false;
            };
            c.call_method(
                Some("org.freedesktop.ScreenSaver"),
                "/org/freedesktop/ScreenSaver",
                Some("org.freedesktop.ScreenSaver"),
                "GetActive",
                &(),
            )
            .ok()
            .and_then(|m| m.body().deserialize::<bool>().ok())
            .unwrap_or(false)
        }

        /// logind's `LockedHint` of this process's session.
        fn logind_locked(&self) -> bool {
            let Some(c) = self.system.as_ref() else {
                return false;
            };
            c.call_method(
                Some("org.freedesktop.login1"),
                "/org/freedesktop/login1/session/auto",
                Some("org.freedesktop.DBus.Properties"),
                "Get",
                &("org.freedesktop.login1.Session", "LockedHint"),
            )
            .ok()
            .and_then(|m| m.body().deserialize::<OwnedValue>().ok())
            .and_then(|v| bool::try_from(v).ok())
            .unwrap_or(false)
        }
    }
}

/// The D-Bus probe against a stand-in `org.freedesktop.ScreenSaver` on a private session bus.
#[cfg(all(test, target_os = "linux"))]
mod dbus_tests {
    use super::{platform::Probe, Reading};

    struct Saver {
        idle: u32,
        active: bool,
    }

    struct Mutter {
        idle_ms: u64,
    }

    #[zbus::interface(name = "org.gnome.Mutter.IdleMonitor")]
    impl Mutter {
        fn get_idletime(&self) -> u64 {
            self.idle_ms
        }
    }

    #[zbus::interface(name = "org.freedesktop.ScreenSaver")]
    impl Saver {
        fn get_session_idle_time(&self) -> u32 {
            self.idle
        }
        fn get_active(&self) -> bool {
            self.active
        }
    }

    #[test]
    #[ignore = "needs a D-Bus session: dbus-run-session -- cargo test -p switchboard-desktop -- --ignored"]
    fn reads_idle_time_and_lock_from_the_session_bus() {
        let before = Probe::new().read();
        assert_eq!(
            before.idle_secs, None,
            "a screensaver service already runs here"
        );
        let _service = zbus::blocking::connection::Builder::session()
            .expect("session bus")
            .name("org.freedesktop.ScreenSaver")
            .expect("name")
            .serve_at(
                "/org/freedesktop/ScreenSaver",
                Saver {
                    idle: 700,
                    active: true,
                },
            )
            .expect("serve")
            .build()
            .expect("connect");
        assert_eq!(
            Probe::new().read(),
            Reading {
                idle_secs: Some(700),
                locked: true
            }
        );
        // GNOME's idle monitor, where it runs, is asked first.
        let _mutter = zbus::blocking::connection::Builder::session()
            .expect("session bus")
            .name("org.gnome.Mutter.IdleMonitor")
            .expect("name")
            .serve_at(
                "/org/gnome/Mutter/IdleMonitor/Core",
                Mutter { idle_ms: 42_900 },
            )
            .expect("serve")
            .build()
            .expect("connect");
        assert_eq!(Probe::new().read().idle_secs, Some(42));
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::Reading;

    /// No reading on this OS yet: the automatic away never triggers.
    pub struct Probe;

    impl Probe {
        pub fn new() -> Probe {
            Probe
        }
        pub fn read(&self) -> Reading {
            Reading::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentStatus::{Away, Offline, Online};

    fn p(chosen: AgentStatus, auto_away: bool, idle_minutes: u32) -> Presence {
        Presence {
            chosen,
            auto_away,
            idle_minutes,
        }
    }
    fn r(idle_secs: Option<u64>, locked: bool) -> Reading {
        Reading { idle_secs, locked }
    }

    #[test]
    fn away_at_the_threshold_or_when_locked() {
        let on = p(Online, false, 10);
        assert_eq!(decide(&on, r(Some(599), false)), None);
        assert_eq!(decide(&on, r(Some(600), false)), Some(Away));
        assert_eq!(decide(&on, r(Some(5), true)), Some(Away));
        assert_eq!(decide(&on, r(None, true)), Some(Away));
        assert_eq!(decide(&on, r(None, false)), None);
    }

    #[test]
    fn back_only_after_fresh_input_and_unlock() {
        let away = p(Online, true, 10);
        // Still idle, or idle just under the threshold: no flapping back.
        assert_eq!(decide(&away, r(Some(900), false)), None);
        assert_eq!(decide(&away, r(Some(599), false)), None);
        assert_eq!(decide(&away, r(Some(30), false)), None);
        // Input again.
        assert_eq!(decide(&away, r(Some(29), false)), Some(Online));
        assert_eq!(decide(&away, r(Some(0), false)), Some(Online));
        // Locked: stays away whatever the idle clock says.
        assert_eq!(decide(&away, r(Some(0), true)), None);
        // Away from the lock alone on a platform without idle time: back once unlocked.
        assert_eq!(decide(&away, r(None, false)), Some(Online));
    }

    #[test]
    fn hysteresis_never_flaps_over_a_sequence() {
        // One reading every 5 s: idle grows to 11 minutes, then input.
        let mut pres = p(Online, false, 10);
        let mut changes = Vec::new();
        let mut readings: Vec<u64> = (0..=132).map(|i| i * 5).collect();
        readings.extend([2, 7, 12]);
        for s in readings {
            if let Some(st) = decide(&pres, r(Some(s), false)) {
                pres.auto_away = st == Away;
                changes.push((s, st));
            }
        }
        assert_eq!(changes, vec![(600, Away), (2, Online)]);
    }

    #[test]
    fn short_thresholds_keep_a_gap() {
        let away = p(Online, true, 1);
        assert_eq!(decide(&away, r(Some(30), false)), None);
        assert_eq!(decide(&away, r(Some(29), false)), Some(Online));
    }

    #[test]
    fn a_status_chosen_by_hand_is_left_alone() {
        assert_eq!(decide(&p(Away, false, 10), r(Some(9999), true)), None);
        assert_eq!(decide(&p(Offline, false, 10), r(Some(0), false)), None);
        assert_eq!(decide(&p(Away, true, 10), r(Some(0), false)), None);
    }

    #[test]
    fn test_readings_parse() {
        assert_eq!(parse_reading("120\n"), r(Some(120), false));
        assert_eq!(parse_reading("0 locked"), r(Some(0), true));
        assert_eq!(parse_reading(""), r(None, false));
    }

    #[test]
    fn turned_off() {
        assert_eq!(decide(&p(Online, false, 0), r(Some(9999), true)), None);
        // Turned off while away: back online.
        assert_eq!(
            decide(&p(Online, true, 0), r(Some(9999), false)),
            Some(Online)
        );
    }
}
