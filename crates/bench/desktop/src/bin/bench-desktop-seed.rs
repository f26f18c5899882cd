//! Prepares a `SWITCHBOARD_HOME` for the desktop benchmark (`scripts/bench-desktop.sh`): the
//! settings of a signed-in agent, a sync cache holding `--conversations` conversations with
//! `--messages` messages each (written through the sync engine's own `Cache::apply_page`, as a
//! catch-up would), and a token in the OS keychain, so the app resumes the session at start.
//! The relay URL should not answer (the default is a closed loopback port): the app then starts
//! offline and shows the inbox from the cache alone.
//!
//! `bench-desktop-seed --home DIR [--conversations 10000] [--messages 3] [--relay-url URL]`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use switchboard_protocol::api::{event_kind, Event, Role, User};
use switchboard_sync::cache::{cache_path, now_ms};
use switchboard_sync::secret::{KeyringStore, SecretStore};
use switchboard_sync::Cache;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> anyhow::Result<()> {
    let home = PathBuf::from(arg("--home").context("--home DIR is required")?);
    let conversations: i64 = arg("--conversations").map_or(Ok(10_000), |v| v.parse())?;
    let per_conversation: i64 = arg("--messages").map_or(Ok(3), |v| v.parse())?;
    let relay_url = arg("--relay-url").unwrap_or_else(|| "http://127.0.0.1:9".into());
    let me = User {
        id: 7,
        email: "bench.agent@example.com".into(),
        name: "Bench Agent".into(),
        role: Role::Agent.as_str().into(),
        permissions: Role::Agent.default_permissions(),
    };
    let t = Instant::now();

    // What the app's sign-in leaves behind (src-tauri/src/home.rs `Settings`).
    std::fs::create_dir_all(&home)?;
    std::fs::write(
        home.join("settings.json"),
        serde_json::to_vec_pretty(&json!({
            "relay_url": relay_url, "email": me.email, "user_id": me.id
        }))?,
    )?;
    KeyringStore
        .set(&format!("{relay_url}|{}", me.email), "bench-token")
        .context("storing the token in the OS keychain (run inside a D-Bus session with an unlocked keyring)")?;

    let cache = Cache::open(&cache_path(&home.join("cache"), &relay_url, me.id))?;
    cache.set_user(&me)?;
    let now = now_ms();
    let mut seq = 0i64;
    let mut batch = Vec::with_capacity(10_000);
    for c in 1..=conversations {
        // Spread over the last 30 days; a third mine, the rest unassigned; one in ten resolved.
        let at = now - (c * 2_592_000_000 / conversations.max(1));
        let assignee = if c % 3 == 0 {
            json!(me.id)
        } else {
            json!(null)
        };
        let status = if c % 10 == 0 { "resolved" } else { "open" };
        seq += 1;
        batch.push(Event { seq, kind: event_kind::CONVERSATION_UPDATED.into(), conversation_id: Some(c), at, data: json!({
            "id": c, "phone_number_id": if c % 2 == 0 { "200000000000002" } else { "200000000000003" },
            "status": status, "assignee_id": assignee, "last_inbound_at": at, "last_message_at": at,
            "last_message_preview": format!("Wo ist meine Bestellung {c}?"), "unread_count": c % 4,
            "created_at": at - 3_600_000, "updated_at": at,
            "contact": {"id": c, "wa_id": format!("4917{c:08}"), "bsuid": null, "username": null,
                        "name": format!("Kunde {c}"), "updated_at": 0}})});
        for m in 0..per_conversation {
            let id = (c - 1) * per_conversation + m + 1;
            let inbound = m % 2 == 0;
            let created = at - (per_conversation - m) * 60_000;
            seq += 1;
            batch.push(Event { seq, kind: event_kind::MESSAGE_CREATED.into(), conversation_id: Some(c), at: created, data: json!({
                "id": id, "conversation_id": c, "direction": if inbound { "inbound" } else { "outbound" },
                "wamid": format!("wamid.bench{id}"), "type": "text",
                "text": if inbound { format!("Wo ist meine Bestellung {c}?") } else { "Sie ist unterwegs, Lieferung morgen.".to_string() },
                "content": {"type": "text"}, "unsupported": false,
                "status": if inbound { json!(null) } else { json!("read") }, "error": null,
                "reply_to": null, "reply_to_wamid": null, "sender_id": if inbound { json!(null) } else { json!(me.id) },
                "client_id": null, "raw": null, "created_at": created, "updated_at": created})});
        }
        if batch.len() >= 10_000 {
            cache.apply_page(&batch, seq)?;
            batch.clear();
        }
    }
    cache.apply_page(&batch, seq)?;
    let counts = cache.counts()?;
    println!(
        "seeded {} conversations and {} messages in {:.1} s ({})",
        counts.conversations,
        counts.messages,
        t.elapsed().as_secs_f64(),
        cache_path(&home.join("cache"), &relay_url, me.id).display()
    );
    Ok(())
}
