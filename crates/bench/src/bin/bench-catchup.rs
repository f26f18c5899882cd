//! Catch-up benchmark: a fresh client syncs 100,000 messages in 5,000 conversations from the
//! real relay (HTTP, JSON, event log pages) into an empty on-disk cache.
//!
//! Baseline in the same run: a raw rusqlite bulk insert of the same rows (conversations,
//! contacts, messages with their JSON, FTS triggers included) into an empty cache file in one
//! transaction. The client runs in a child process so its peak memory (VmHWM) is its own.
//!
//! `cargo run --release -p switchboard-bench --bin bench-catchup -- --messages 100000 --conversations 5000`

use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use switchboard_bench::{arg, peak_rss_mib};
use switchboard_protocol::api::Role;
use switchboard_protocol::signature;
use switchboard_protocol::webhook::to_meta_json;
use switchboard_sync::{Cache, Engine, RelayClient};

const SECRET: &str = "bench-secret";

/// id, phone_number_id, contact_id, status, last_message_at, unread_count, preview, created_at
type ConvRow = (i64, String, i64, String, i64, i64, String, i64);
/// id, wa_id, bsuid, name, updated_at
type ContactRow = (i64, Option<String>, Option<String>, Option<String>, i64);

fn body(start: usize, n: usize, conversations: usize) -> Vec<u8> {
    let mut contacts = Vec::new();
    let mut messages = Vec::new();
    for i in start..start + n {
        let c = i % conversations;
        let wa = format!("4916{:08}", c);
        contacts.push(json!({"profile":{"name":format!("Kundin {c}")},"wa_id":wa,"user_id":format!("DE.{c}")}));
        messages.push(json!({"from":wa,"id":format!("wamid.cu{i}"),"timestamp":(1790000000 + i as i64).to_string(),"type":"text",
            "text":{"body":format!("Hallo, ich habe eine Frage zu meiner Bestellung {i}: wann kommt das Paket an?")}}));
    }
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":contacts,"messages":messages}}]}]}),
    )
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--client") {
        return client();
    }
    let messages: usize = arg("--messages", 100_000);
    let conversations: usize = arg("--conversations", 5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let relay = rt.block_on(switchboard_bench::start_relay(
        "http://127.0.0.1:9",
        SECRET,
        |_| {},
    ))?;
    let (store, base) = (relay.store.clone(), relay.base.clone());
    // Fill the relay through its webhook endpoint, 50 messages per body, 8 bodies in flight.
    let t = Instant::now();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let chunks: Vec<usize> = (0..messages).step_by(50).collect();
        for group in chunks.chunks(8) {
            let mut tasks = Vec::new();
            for &start in group {
                let b = body(start, 50.min(messages - start), conversations);
                let sig = signature::sign(SECRET.as_bytes(), &b);
                let req = http
                    .post(format!("{base}/webhooks/whatsapp"))
                    .header("x-hub-signature-256", sig)
                    .body(b);
                tasks.push(tokio::spawn(async move {
                    req.send().await.map(|r| r.status().as_u16())
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap().unwrap(), 200);
            }
        }
    });
    let hash =
        switchboard_relay::auth::hash_password("bench-password").map_err(anyhow::Error::msg)?;
    rt.block_on(store.write(move |ctx| {
        switchboard_relay::store::queries::create_user(
            ctx.conn,
            "sup@bench",
            "Sup",
            Role::Supervisor.as_str(),
            &hash,
            ctx.now,
        )
    }))?;
    let head: i64 = rt.block_on(store.read(switchboard_relay::store::events::head))?;
    println!("relay filled: {messages} messages in {conversations} conversations, {head} events, in {:.1} s", t.elapsed().as_secs_f64());

    let out = Command::new(std::env::current_exe()?)
        .args([
            "--client",
            "--relay",
            &base,
            "--dir",
            &dir.path().display().to_string(),
        ])
        .output()?;
    if !out.status.success() {
        anyhow::bail!("client failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let r: Value = serde_json::from_slice(&out.stdout)?;
    let catchup = r["catchup_s"].as_f64().unwrap();
    let bulk = r["bulk_insert_s"].as_f64().unwrap();
    println!(
        "catch-up: {:.2} s for {} messages ({} events) = {:.0} msg/s; raw bulk insert of the same rows: {:.2} s; ratio {:.2}; client peak RSS {:.0} MiB",
        catchup, r["messages"], head, messages as f64 / catchup, bulk, catchup / bulk, r["peak_rss_mib"].as_f64().unwrap()
    );
    println!(
        "{}",
        json!({
            "bench": "catchup", "messages": r["messages"], "conversations": r["conversations"], "events": head,
            "catchup_s": (catchup * 1000.0).round() / 1000.0, "bulk_insert_s": (bulk * 1000.0).round() / 1000.0,
            "ratio_to_bulk_insert": (catchup / bulk * 100.0).round() / 100.0,
            "client_peak_rss_mib": r["peak_rss_mib"], "target": "catchup < 5 s and ratio <= 2",
        })
    );
    Ok(())
}

/// The child: catch up into an empty cache, then bulk-insert the same rows as the baseline.
fn client() -> anyhow::Result<()> {
    let relay: String = arg("--relay", String::new());
    let dir: String = arg("--dir", String::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let login =
        rt.block_on(RelayClient::new(&relay, None)?.login("sup@bench", "bench-password"))?;
    let path = std::path::Path::new(&dir).join("client-cache.db");
    let cache = Cache::open(&path)?;
    cache.set_user(&login.user)?;
    let engine = Engine::new(cache, RelayClient::new(&relay, Some(login.token))?);
    let t = Instant::now();
    rt.block_on(engine.catch_up())?;
    let catchup = t.elapsed().as_secs_f64();
    let counts = engine.cache().counts()?;

    // The same rows, read back, inserted raw into a fresh cache file.
    let src = rusqlite::Connection::open(&path)?;
    let convs: Vec<ConvRow> = src
        .prepare("SELECT id, phone_number_id, contact_id, status, last_message_at, unread_count, preview, created_at FROM conversations")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))?
        .collect::<Result<_, _>>()?;
    let contacts: Vec<ContactRow> = src
        .prepare("SELECT id, wa_id, bsuid, name, updated_at FROM contacts")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let msgs: Vec<(i64, i64, String, String)> = src
        .prepare("SELECT id, conversation_id, text, data FROM messages")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    drop(src);
    let bulk_path = std::path::Path::new(&dir).join("bulk-cache.db");
    drop(Cache::open(&bulk_path)?); // same schema, triggers and pragmas
    let t = Instant::now();
    let mut conn = rusqlite::Connection::open(&bulk_path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let tx = conn.transaction()?;
    {
        let mut s = tx.prepare(
            "INSERT INTO contacts (id, wa_id, bsuid, name, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for c in &contacts {
            s.execute(rusqlite::params![c.0, c.1, c.2, c.3, c.4])?;
        }
        let mut s = tx.prepare("INSERT INTO conversations (id, phone_number_id, contact_id, status, last_message_at, unread_count, preview, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)")?;
        for c in &convs {
            s.execute(rusqlite::params![c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7])?;
        }
        let mut s = tx.prepare(
            "INSERT INTO messages (id, conversation_id, text, data) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for m in &msgs {
            s.execute(rusqlite::params![m.0, m.1, m.2, m.3])?;
        }
    }
    tx.commit()?;
    let bulk = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"catchup_s": catchup, "bulk_insert_s": bulk, "messages": counts.messages, "conversations": counts.conversations, "peak_rss_mib": peak_rss_mib().round()})
    );
    Ok(())
}
