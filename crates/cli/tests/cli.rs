//! The `switchboard` binary against the real relay and simulator on loopback.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard_protocol::api::Role;
use switchboard_testkit::{Relay, World};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn cli(home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env("SWITCHBOARD_HOME", home)
        .env("SWITCHBOARD_SECRET_STORE", "file")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn blocking(
    home: std::path::PathBuf,
    args: Vec<&'static str>,
    stdin: Option<&'static str>,
) -> Output {
    tokio::task::spawn_blocking(move || cli(&home, &args, stdin))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_inbox_show_send_search_status_and_offline_queue() {
    let mut world = World::start().await;
    world.relay.user("agent@example.com", Role::Agent).await;
    world
        .sim
        .customer("4915155555555")
        .named("Grete")
        .says("Wo ist meine Bestellung 4711?")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_path_buf();
    let relay_url: &'static str = Box::leak(world.relay.base.clone().into_boxed_str());

    // Wrong password: one clear line, non-zero exit, nothing saved.
    let bad = blocking(
        h.clone(),
        vec![
            "login",
            "--relay",
            relay_url,
            "--email",
            "agent@example.com",
            "--password-stdin",
        ],
        Some("nope\n"),
    )
    .await;
    assert!(!bad.status.success());
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim(),
        "switchboard: wrong email or password"
    );

    let out = blocking(
        h.clone(),
        vec![
            "login",
            "--relay",
            relay_url,
            "--email",
            "agent@example.com",
            "--password-stdin",
        ],
        Some("password123\n"),
    )
    .await;
    let stdout = ok(&out);
    assert!(stdout.contains("signed in as"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no OS keychain"),
        "says where the token went"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.join("token.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "token file readable only by its user");
    }

    let inbox: Value =
        serde_json::from_str(&ok(
            &blocking(h.clone(), vec!["--json", "inbox"], None).await
        ))
        .unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["contact"]["name"], "Grete");
    let conv: &'static str = Box::leak(inbox[0]["id"].to_string().into_boxed_str());

    let shown = ok(&blocking(h.clone(), vec!["show", conv], None).await);
    assert!(shown.contains("< Wo ist meine Bestellung 4711?"), "{shown}");

    let sent = ok(&blocking(h.clone(), vec!["send", conv, "Sie kommt morgen."], None).await);
    assert!(sent.starts_with("sent"), "{sent}");

    let hits: Value = serde_json::from_str(&ok(&blocking(
        h.clone(),
        vec!["--json", "search", "bestellung"],
        None,
    )
    .await))
    .unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1);
    // Plain text and character ranges, no markers or control characters.
    let text = hits[0]["text"].as_str().unwrap();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    let [start, end] = [
        hits[0]["highlights"][0][0].as_u64().unwrap() as usize,
        hits[0]["highlights"][0][1].as_u64().unwrap() as usize,
    ];
    let hit: String = text.chars().skip(start).take(end - start).collect();
    assert_eq!(hit, "Bestellung", "{hits}");
    assert!(hits[0].get("snippet").is_none());
    let human = ok(&blocking(h.clone(), vec!["search", "4711"], None).await);
    assert!(human.contains("«4711»"), "{human}");

    let status: Value =
        serde_json::from_str(&ok(
            &blocking(h.clone(), vec!["--json", "status"], None).await
        ))
        .unwrap();
    assert_eq!(status["connection"], "online");
    assert_eq!(status["outbox"]["pending"], 0);

    // The relay goes away: sending queues and says so; reading still works from the cache.
    let addr = world.relay.addr();
    let dir = world.relay.pause().await;
    let queued = ok(&blocking(h.clone(), vec!["send", conv, "Offline geschrieben"], None).await);
    assert!(queued.starts_with("queued"), "{queued}");
    let status: Value =
        serde_json::from_str(&ok(
            &blocking(h.clone(), vec!["--json", "status"], None).await
        ))
        .unwrap();
    assert_eq!(status["connection"], "offline");
    assert_eq!(status["outbox"]["pending"], 1);
    let offline_show = blocking(h.clone(), vec!["show", conv], None).await;
    assert!(ok(&offline_show).contains("> Offline geschrieben [pending]"));
    assert!(String::from_utf8_lossy(&offline_show.stderr).contains("offline"));

    // Back online: the next command that reaches the relay flushes the outbox.
    world.relay = Relay::start_at(dir, &addr, &world.sim.base_url(), |c| {
        c.graph_timeout = Duration::from_millis(700)
    })
    .await;
    let synced = ok(&blocking(h.clone(), vec!["sync"], None).await);
    assert!(synced.contains("sent 1 queued"), "{synced}");
    for _ in 0..100 {
        if world.sim.sent().await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bodies: Vec<String> = world
        .sim
        .sent()
        .await
        .iter()
        .map(|s| s.payload["text"]["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, ["Sie kommt morgen.", "Offline geschrieben"]);

    // Errors are one line with a non-zero exit.
    let missing = blocking(h.clone(), vec!["show", "999999"], None).await;
    assert!(!missing.status.success());
    assert_eq!(String::from_utf8_lossy(&missing.stderr).lines().count(), 1);
    let out = ok(&blocking(h.clone(), vec!["logout", "--wipe"], None).await);
    assert!(out.contains("signed out"));
    let after = blocking(h.clone(), vec!["inbox"], None).await;
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("not signed in"));
}

/// A customer's message full of terminal escapes (clear screen, a window title, colours, a C1
/// cursor report request) is shown as its plain words: nothing that drives a terminal gets out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_never_passes_terminal_escapes_from_customers() {
    let world = World::start().await;
    world.relay.user("agent@example.com", Role::Agent).await;
    world
        .sim
        .customer("4915166666666")
        .named("Eve\x1b[8m")
        .says("\x1b[2J\x1b]0;pwned\x07Hallo \x1b[31mrot\x1b[0m \u{9b}6n")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_path_buf();
    let relay_url: &'static str = Box::leak(world.relay.base.clone().into_boxed_str());
    ok(&blocking(
        h.clone(),
        vec![
            "login",
            "--relay",
            relay_url,
            "--email",
            "agent@example.com",
            "--password-stdin",
        ],
        Some("password123\n"),
    )
    .await);

    // --json stays exact: the escapes are there, escaped by JSON.
    let inbox: Value =
        serde_json::from_str(&ok(
            &blocking(h.clone(), vec!["--json", "inbox"], None).await
        ))
        .unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    let conv: &'static str = Box::leak(inbox[0]["id"].to_string().into_boxed_str());
    let exact: Value = serde_json::from_str(&ok(&blocking(
        h.clone(),
        vec!["--json", "show", conv],
        None,
    )
    .await))
    .unwrap();
    assert!(
        exact["timeline"].to_string().contains("\\u001b[31mrot"),
        "{exact}"
    );

    let out = blocking(h.clone(), vec!["show", conv], None).await;
    let shown = ok(&out);
    assert!(shown.contains("Hallo"), "{shown}");
    assert!(shown.contains("rot"), "{shown}");
    assert!(shown.contains("< Hallo rot"), "{shown:?}");
    assert!(!out.stdout.contains(&0x1b), "no ESC: {shown:?}");
    assert!(!out.stdout.contains(&0x07), "no BEL: {shown:?}");
    assert!(!shown.contains('\u{9b}'), "no C1 CSI: {shown:?}");
    assert!(!shown.contains("pwned"), "the title is gone: {shown:?}");
    assert!(shown.contains("Eve"), "{shown}");
}

/// `switchboard admin ...` as an admin: users (create, role, deactivate), numbers (add by name),
/// the audit log (filtered, exported as CSV into a new file only); as an agent: refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_scripts_users_numbers_and_the_audit_log() {
    let relay = Relay::start("http://127.0.0.1:9").await;
    relay.user("ada@example.com", Role::Admin).await;
    relay.user("agent@example.com", Role::Agent).await;
    let relay_url: &'static str = Box::leak(relay.base.clone().into_boxed_str());
    let login = |home: std::path::PathBuf, email: &'static str| async move {
        ok(&blocking(
            home,
            vec![
                "login",
                "--relay",
                relay_url,
                "--email",
                email,
                "--password-stdin",
            ],
            Some("password123\n"),
        )
        .await);
    };
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_path_buf();
    login(h.clone(), "ada@example.com").await;

    let created: Value = serde_json::from_str(&ok(&blocking(
        h.clone(),
        vec![
            "--json",
            "admin",
            "create-user",
            "--email",
            "cleo@example.com",
            "--name",
            "Cleo",
            "--role",
            "agent",
            "--password-stdin",
        ],
        Some("Cleo-kommt-2026\n"),
    )
    .await))
    .unwrap();
    let id: &'static str = Box::leak(created["id"].to_string().into_boxed_str());
    let weak = blocking(
        h.clone(),
        vec![
            "admin",
            "create-user",
            "--email",
            "dora@example.com",
            "--name",
            "Dora",
            "--role",
            "agent",
            "--password-stdin",
        ],
        Some("password\n"),
    )
    .await;
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too common"));

    let set = ok(&blocking(h.clone(), vec!["admin", "set-role", id, "supervisor"], None).await);
    assert!(set.contains("supervisor, active"), "{set}");
    let off = ok(&blocking(h.clone(), vec!["admin", "deactivate", id], None).await);
    assert!(off.contains("deactivated"), "{off}");
    let users = ok(&blocking(h.clone(), vec!["admin", "users"], None).await);
    assert!(
        users
            .lines()
            .any(|l| l.contains("cleo@example.com") && l.contains("supervisor\tdeactivated")),
        "{users}"
    );

    let added = ok(&blocking(
        h.clone(),
        vec![
            "admin",
            "add-number",
            "--phone-number-id",
            "200000000000009",
            "--display-phone-number",
            "4930123456",
            "--name",
            "Vertrieb",
        ],
        None,
    )
    .await);
    assert!(added.contains("Vertrieb"), "{added}");
    let numbers = ok(&blocking(h.clone(), vec!["admin", "numbers"], None).await);
    assert!(
        numbers.contains("200000000000009\t+4930123456\tVertrieb\tconfigured"),
        "{numbers}"
    );

    let audit = ok(&blocking(h.clone(), vec!["admin", "audit", "--action", "user."], None).await);
    let actions: Vec<&str> = audit
        .lines()
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(
        actions,
        ["user.update", "user.update", "user.create"],
        "{audit}"
    );
    let csv = home.path().join("audit.csv");
    let csv_arg: &'static str = Box::leak(csv.to_string_lossy().into_owned().into_boxed_str());
    ok(&blocking(
        h.clone(),
        vec!["admin", "audit", "--since", "2020-01-01", "--csv", csv_arg],
        None,
    )
    .await);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("id,at,actor,action,details\n"), "{text}");
    assert!(
        text.contains("ada@example.com,number.add") || text.contains("ada@example.com,user.create"),
        "{text}"
    );
    let again = blocking(h.clone(), vec!["admin", "audit", "--csv", csv_arg], None).await;
    assert!(
        !again.status.success(),
        "an existing file is never replaced"
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);
    let bad_day = blocking(
        h.clone(),
        vec!["admin", "audit", "--since", "29.11.2026"],
        None,
    )
    .await;
    assert!(String::from_utf8_lossy(&bad_day.stderr).contains("not a day"));

    // An agent may not.
    let agent_home = tempfile::tempdir().unwrap();
    let a = agent_home.path().to_path_buf();
    login(a.clone(), "agent@example.com").await;
    let refused = blocking(a.clone(), vec!["admin", "users"], None).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("manage_users"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
