//! Data governance through the real relay, the real simulator and real cache files (issue 16),
//! on both back-ends (`SWITCHBOARD_TEST_BACKEND`): retention purges exactly what is past it on
//! the relay and in every cache (also one closed during the purge), a legal hold suspends it;
//! erasing a customer leaves none of their text or identifiers in the relay's data directory,
//! its database or a cache that synced since (checked by scanning the files' bytes).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_protocol::webhook::to_meta_json;
use switchboard_relay::store::db::{contains_sql, params};
use switchboard_sync::{Cache, Engine, RelayClient};
use switchboard_testkit::{Relay, World};

const NUMBER: &str = "200000000000002";
const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An engine on a cache file of its own.
async fn engine_at(relay: &Relay, email: &str, role: Role, path: &Path) -> Engine {
    relay.user(email, role).await;
    let login = relay.login(email, "password123").await;
    reopen(relay, path, &login.token, &login.user)
}

fn reopen(
    relay: &Relay,
    path: &Path,
    token: &str,
    user: &switchboard_protocol::api::User,
) -> Engine {
    let cache = Cache::open(path).unwrap();
    cache.set_user(user).unwrap();
    Engine::new(
        cache,
        RelayClient::new(&relay.base, Some(token.to_string())).unwrap(),
    )
}

/// A customer's text message written `days_ago` days ago.
fn text_at(wa: &str, wamid: &str, text: &str, days_ago: i64) -> Vec<u8> {
    let ts = (now_ms() - days_ago * DAY_MS) / 1000;
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":NUMBER},
        "contacts":[{"profile":{"name":format!("Kunde {wa}")},"wa_id":wa}],
        "messages":[{"from":wa,"id":wamid,"timestamp":ts.to_string(),"type":"text","text":{"body":text}}]}}]}]}),
    )
}

async fn count(relay: &Relay, sql: String) -> i64 {
    relay
        .store
        .read(move |c| Ok(c.query_row(&sql, (), |r| r.get::<i64>(0))?))
        .await
        .unwrap()
}

async fn conversation_of(relay: &Relay, admin: &str, wa: &str) -> (i64, i64) {
    let (_, list) = relay.get(admin, "/api/v1/conversations?limit=500").await;
    let c = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["wa_id"] == wa)
        .unwrap_or_else(|| panic!("no conversation of {wa}: {list}"))
        .clone();
    (
        c["id"].as_i64().unwrap(),
        c["contact"]["id"].as_i64().unwrap(),
    )
}

fn hits(engine: &Engine, text: &str) -> usize {
    engine.cache().search(text, 50).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_purges_what_is_past_it_on_the_relay_and_in_every_cache() {
    let world = World::start_with(|c| c.retention_every = Duration::from_millis(300)).await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let agent = relay.login_as("otto@example.com", Role::Agent).await;
    for (wa, wamid, text, days) in [
        (
            "4915100000001",
            "wamid.ret-a-old",
            "Uralte Anfrage Anna",
            200,
        ),
        (
            "4915100000001",
            "wamid.ret-a-new",
            "Frische Anfrage Anna",
            10,
        ),
        (
            "4915100000002",
            "wamid.ret-b-old",
            "Uralte Anfrage Bert",
            200,
        ),
        (
            "4915100000003",
            "wamid.ret-c-old",
            "Uralte Anfrage Carl",
            300,
        ),
    ] {
        let r = relay.post_webhook(&text_at(wa, wamid, text, days)).await;
        assert!(r.status().is_success());
    }
    let files = tempfile::tempdir().unwrap();
    let online = engine_at(
        relay,
        "sue@example.com",
        Role::Supervisor,
        &files.path().join("sue.db"),
    )
    .await;
    online.sync_once().await.unwrap();
    // Olga's app syncs, then is closed while the purge runs.
    let olga_path = files.path().join("olga.db");
    relay.user("olga@example.com", Role::Supervisor).await;
    let olga = relay.login("olga@example.com", "password123").await;
    {
        let e = reopen(relay, &olga_path, &olga.token, &olga.user);
        e.sync_once().await.unwrap();
        assert_eq!(hits(&e, "Uralte"), 3);
    }
    let (anna, _) = conversation_of(relay, &admin, "4915100000001").await;
    let (bert_conv, bert) = conversation_of(relay, &admin, "4915100000002").await;
    let (carl, _) = conversation_of(relay, &admin, "4915100000003").await;

    // Holds: Bert as a customer, Carl's conversation. Bad input changes nothing.
    let (s, h) = relay
        .put_json(
            &admin,
            &format!("/api/v1/contacts/{bert}/legal-hold"),
            json!({"reason": "Az. 7 O 123/26"}),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["contact_id"], bert);
    let (s, _) = relay
        .put_json(
            &admin,
            &format!("/api/v1/conversations/{carl}/legal-hold"),
            json!({"reason": "Prüfung"}),
        )
        .await;
    assert_eq!(s, 200);
    let path = format!("/api/v1/admin/numbers/{NUMBER}/retention");
    for bad in [
        json!({"days": 30}),
        json!({"days": 4000}),
        json!({"days": "neunzig"}),
        json!({}),
    ] {
        let (s, e) = relay.put_json(&admin, &path, bad.clone()).await;
        assert!(s == 422 || s == 400, "{bad} -> {s} {e}");
    }
    let (s, _) = relay
        .put_json(
            &admin,
            "/api/v1/admin/numbers/999/retention",
            json!({"days": 90}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = relay.put_json(&agent, &path, json!({"days": 90})).await;
    assert_eq!(s, 403);
    let (s, _) = relay
        .put_json(
            &agent,
            &format!("/api/v1/contacts/{bert}/legal-hold"),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        count(relay, "SELECT COUNT(*) FROM messages".into()).await,
        4
    );

    // Carl's conversation goes to Sue: the agent Otto must not learn that it is on hold.
    let sue_id = online.cache().user().unwrap().unwrap().id;
    let (s, _) = relay
        .post(
            &admin,
            &format!("/api/v1/conversations/{carl}/assign"),
            json!({"agent_id": sue_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, r) = relay.put_json(&admin, &path, json!({"days": 90})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["days"], 90);
    relay
        .eventually(Duration::from_secs(20), "the purge", || async {
            let (_, list) = relay.get(&admin, "/api/v1/admin/retention").await;
            let one = list
                .as_array()?
                .iter()
                .find(|r| r["phone_number_id"] == NUMBER)?
                .clone();
            one["purged_before"].as_i64()
        })
        .await;
    // Exactly Anna's old message went; the held ones stayed.
    let left = |conv: i64| {
        count(
            relay,
            format!("SELECT COUNT(*) FROM messages WHERE conversation_id = {conv}"),
        )
    };
    assert_eq!(left(anna).await, 1);
    assert_eq!(left(carl).await, 1);
    assert_eq!(
        count(relay, "SELECT COUNT(*) FROM messages".into()).await,
        3
    );
    assert_eq!(
        count(relay, format!("SELECT COUNT(*) FROM conversation_tombstones WHERE conversation_id = {anna} AND messages_in = 1")).await,
        1
    );
    let (_, msgs) = relay
        .get(&admin, &format!("/api/v1/conversations/{anna}/messages"))
        .await;
    let texts: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, vec!["Frische Anfrage Anna"], "{msgs}");

    let held_seen_by = |token: String| async move {
        let (_, page) = relay.get(&token, "/api/v1/events?after=0&limit=1000").await;
        let ev = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["kind"] == "retention.purged")
            .unwrap_or_else(|| panic!("no retention.purged in {page}"))
            .clone();
        ev["data"]["held"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held_seen_by(admin.clone()).await,
        vec![bert_conv, carl]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        held_seen_by(agent.clone()).await,
        vec![bert_conv],
        "Otto sees only the held conversation he may see"
    );
    // The open app drops the same at its next sync, the closed one when it starts again.
    online.sync_once().await.unwrap();
    assert_eq!(hits(&online, "Anna"), 1, "only the fresh message");
    assert_eq!(hits(&online, "Uralte"), 2);
    assert_eq!(hits(&online, "Frische"), 1);
    let olga_engine = reopen(relay, &olga_path, &olga.token, &olga.user);
    olga_engine.sync_once().await.unwrap();
    assert_eq!(hits(&olga_engine, "Uralte"), 2);
    assert_eq!(
        online.cache().dump().unwrap(),
        olga_engine.cache().dump().unwrap()
    );

    // Releasing Bert's hold lets the purge take his old message too.
    let (s, _) = relay
        .call(
            reqwest::Method::DELETE,
            &admin,
            &format!("/api/v1/contacts/{bert}/legal-hold"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    relay
        .eventually(Duration::from_secs(20), "Bert's purge", || async {
            (count(relay, "SELECT COUNT(*) FROM messages".into()).await == 2).then_some(())
        })
        .await;
    assert_eq!(left(carl).await, 1, "Carl's conversation is still on hold");
    online.sync_once().await.unwrap();
    assert_eq!(hits(&online, "Uralte"), 1);
    let (_, holds) = relay.get(&admin, "/api/v1/admin/legal-holds").await;
    assert_eq!(holds.as_array().unwrap().len(), 1, "{holds}");
    let (_, audit) = relay.get(&admin, "/api/v1/admin/audit?limit=50").await;
    let actions: Vec<String> = audit
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["action"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    for a in ["retention.set", "legal_hold.set", "legal_hold.released"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_takes_the_events_and_webhook_bodies_past_the_period_too() {
    let world = World::start().await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let bodies = [
        text_at("4915200000001", "wamid.ev-a", "Ereignis Anna", 1),
        text_at("4915200000002", "wamid.ev-b", "Ereignis Bert", 1),
    ];
    for b in &bodies {
        assert!(relay.post_webhook(b).await.status().is_success());
    }
    // More conversations than one window of a purge step looks at.
    for i in 0..230 {
        let wa = format!("49153{i:08}");
        let body = text_at(&wa, &format!("wamid.many-{i}"), "Eine von vielen", 1);
        assert!(relay.post_webhook(&body).await.status().is_success());
    }
    let (anna, _) = conversation_of(relay, &admin, "4915200000001").await;
    let (bert_conv, bert) = conversation_of(relay, &admin, "4915200000002").await;
    let (s, _) = relay
        .put_json(
            &admin,
            &format!("/api/v1/contacts/{bert}/legal-hold"),
            json!({"reason": "Fall 9"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = relay
        .put_json(
            &admin,
            &format!("/api/v1/admin/numbers/{NUMBER}/retention"),
            json!({"days": 90}),
        )
        .await;
    assert_eq!(s, 200);
    // A year from now, with three-row steps: events and bodies are past the period as well.
    let report =
        switchboard_relay::retention::purge_all(&relay.store, &[], now_ms() + 365 * DAY_MS, 3)
            .await
            .unwrap();
    assert_eq!(report.messages, 1 + 230, "{report:?}");
    assert_eq!(
        count(relay, "SELECT COUNT(*) FROM messages".into()).await,
        1,
        "only Bert's message is left"
    );
    assert!(
        report.events >= 2 * 231 && report.bodies == 232,
        "{report:?}"
    );
    let events = |conv: i64| {
        count(
            relay,
            format!("SELECT COUNT(*) FROM events WHERE conversation_id = {conv}"),
        )
    };
    // Of Anna's events only her conversation's fresh snapshot is left (no message, no preview).
    assert_eq!(events(anna).await, 1);
    assert_eq!(
        count(
            relay,
            format!("SELECT COUNT(*) FROM events WHERE conversation_id = {anna} AND kind = 'conversation.updated' AND data NOT LIKE '%Ereignis%'"),
        )
        .await,
        1
    );
    assert!(events(bert_conv).await > 0, "the hold keeps Bert's events");
    assert_eq!(
        count(
            relay,
            "SELECT COUNT(*) FROM webhook_inbox WHERE state = 'purged'".into()
        )
        .await,
        232
    );
    // A replay of a purged body is still recognised (its hash stays) and not applied again.
    assert!(relay.post_webhook(&bodies[0]).await.status().is_success());
    assert_eq!(
        count(
            relay,
            format!("SELECT COUNT(*) FROM messages WHERE conversation_id = {anna}")
        )
        .await,
        0
    );
    // A client starting now gets Bert's conversation with his message, and Anna's (it stays, as a
    // tombstone) without hers: its snapshot was logged afresh, with an empty preview.
    let files = tempfile::tempdir().unwrap();
    let fresh = engine_at(
        relay,
        "neu@example.com",
        Role::Supervisor,
        &files.path().join("neu.db"),
    )
    .await;
    fresh.sync_once().await.unwrap();
    assert_eq!(hits(&fresh, "Ereignis"), 1);
    let anna_now = fresh.cache().conversation(anna).unwrap();
    assert_eq!(anna_now.last_message_preview, "");
    assert!(fresh.cache().timeline(anna, None, 50).unwrap().is_empty());
    assert_eq!(
        fresh.cache().timeline(bert_conv, None, 50).unwrap().len(),
        1
    );
}

/// Every file under `dir` holding one of `needles`: `(file, needle)`.
fn scan(dir: &Path, needles: &[&str]) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push((p.clone(), n.to_string()));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_customer_leaves_no_trace_in_the_relay_or_a_synced_cache() {
    let world = World::start().await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let xaver = world
        .sim
        .customer("4915712345678")
        .named("Xaver Geheimname");
    xaver
        .says("Geheimnis-XYZ-4711 bitte löschen")
        .await
        .unwrap();
    xaver
        .sends_image("Bildunterschrift-Vertraulich")
        .await
        .unwrap();
    let bsuid = xaver.bsuid().expect("2026 webhooks carry a BSUID");
    world
        .sim
        .customer("4915799999999")
        .named("Yvonne Bleibt")
        .says("Andere-Kundin-Text")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let (conv, contact) = conversation_of(relay, &admin, "4915712345678").await;
    let (s, _) = relay
        .post(
            &admin,
            &format!("/api/v1/contacts/{contact}/notes"),
            json!({"text": "Notiz-Vertraulich-0815"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = relay
        .put_json(
            &admin,
            &format!("/api/v1/contacts/{contact}/tags"),
            json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(s, 200);
    relay.a_file_archived("the archived image").await;
    let files = tempfile::tempdir().unwrap();
    let sue = engine_at(
        relay,
        "sue@example.com",
        Role::Supervisor,
        &files.path().join("sue.db"),
    )
    .await;
    sue.sync_once().await.unwrap();
    assert_eq!(hits(&sue, "Geheimnis"), 1);
    let needles = [
        "Geheimnis-XYZ-4711",
        "Bildunterschrift-Vertraulich",
        "Notiz-Vertraulich-0815",
        "Xaver Geheimname",
        "4915712345678",
        bsuid.as_str(),
    ];
    // The scan finds what is there: before the erasure, in the relay's files (SQLite) and the
    // cache.
    assert!(!scan(files.path(), &needles).is_empty());

    // A hold refuses the erasure; agents may not erase.
    let agent = relay.login_as("otto@example.com", Role::Agent).await;
    let erase = format!("/api/v1/contacts/{contact}");
    assert_eq!(
        relay
            .call(reqwest::Method::DELETE, &agent, &erase, None)
            .await
            .0,
        403
    );
    let (s, _) = relay
        .put_json(
            &admin,
            &format!("/api/v1/conversations/{conv}/legal-hold"),
            json!({"reason": "Klage"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = relay
        .call(reqwest::Method::DELETE, &admin, &erase, None)
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(
        count(
            relay,
            format!("SELECT COUNT(*) FROM messages WHERE conversation_id = {conv}")
        )
        .await,
        2
    );
    let (s, _) = relay
        .call(
            reqwest::Method::DELETE,
            &admin,
            &format!("/api/v1/conversations/{conv}/legal-hold"),
            None,
        )
        .await;
    assert_eq!(s, 204);

    let (s, report) = relay
        .call(reqwest::Method::DELETE, &admin, &erase, None)
        .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["messages"], 2);
    assert_eq!(report["notes"], 1);
    assert_eq!(report["media_files"], 1);
    assert!(report["webhook_bodies"].as_i64().unwrap() >= 2, "{report}");
    assert_eq!(
        relay
            .call(reqwest::Method::DELETE, &admin, &erase, None)
            .await
            .0,
        404
    );
    sue.sync_once().await.unwrap();
    assert_eq!(hits(&sue, "Geheimnis"), 0);
    assert!(sue.cache().conversation(conv).is_err());
    assert_eq!(
        sue.cache()
            .conversations(&Default::default())
            .unwrap()
            .len(),
        1
    );

    // No byte of them in the relay's data directory (its SQLite database, write-ahead log and
    // media archive) or the cache's files; the other customer is still there.
    // The relay empties its write-ahead log right after answering.
    let mut left = scan(relay.dir.path(), &needles);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = scan(relay.dir.path(), &needles);
    }
    assert!(left.is_empty(), "relay files still hold {left:?}");
    let left = scan(files.path(), &needles);
    assert!(left.is_empty(), "cache files still hold {left:?}");
    assert_eq!(hits(&sue, "Andere-Kundin-Text"), 1);
    if relay.store.backend() == switchboard_relay::store::db::Backend::Sqlite {
        assert!(!scan(relay.dir.path(), &["Andere-Kundin-Text"]).is_empty());
    }
    // And none in the database, whichever it is.
    for n in needles {
        let needle = n.to_string();
        let rows = relay
            .store
            .read(move |c| {
                let b = c.backend();
                let mut total = 0i64;
                for (table, col, bytes) in [
                    ("messages", "text", false),
                    ("messages", "raw", false),
                    ("events", "data", false),
                    ("contacts", "name", false),
                    ("contacts", "wa_id", false),
                    ("contact_notes", "text", false),
                    ("audit_log", "details", false),
                    ("account_events", "payload", false),
                    ("orphan_statuses", "raw", false),
                    ("webhook_inbox", "body", true),
                ] {
                    let sql = format!(
                        "SELECT COUNT(*) FROM {table} WHERE {}",
                        contains_sql(b, col, 1, bytes)
                    );
                    total += if bytes {
                        c.query_row(&sql, params![needle.as_bytes().to_vec()], |r| {
                            r.get::<i64>(0)
                        })?
                    } else {
                        c.query_row(&sql, params![needle], |r| r.get::<i64>(0))?
                    };
                }
                Ok(total)
            })
            .await
            .unwrap();
        assert_eq!(rows, 0, "{n} is still in the database");
    }
    let (_, audit) = relay
        .get(&admin, "/api/v1/admin/audit?action=contact.erased")
        .await;
    let entry: &Value = &audit.as_array().unwrap()[0];
    assert_eq!(entry["details"]["contact_id"], contact);
}
