//! Assignment and presence. Store-level tests drive the real write path (webhook ingest, resolve,
//! presence) with an injected clock (`ctx.now`); HTTP tests run the real relay, concurrently, and
//! end to end with the simulator and an agent's WebSocket stream.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use switchboard_protocol::api::{AgentStatus, PhoneNumber, Role};
use switchboard_relay::routing::{Mode, Policy, SkillRules};
use switchboard_relay::store::routing::{self as r, AgentSettings, Settings};
use switchboard_relay::store::{ingest, queries, Store, WriteCtx};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PNID: &str = "200000000000002";
const SEC: i64 = 1000;
/// The injected clock's epoch (any fixed instant).
const T0: i64 = 1_790_000_000_000;

/// A store whose business number is configured, as a deployment's is (a conversation on an
/// unconfigured number is held out of routing: `unconfigured_numbers.rs`).
async fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = switchboard_testkit::open_store(dir.path());
    store
        .write(|ctx| {
            let pn = PhoneNumber {
                phone_number_id: PNID.into(),
                display_phone_number: "15550001111".into(),
                name: "Support".into(),
                configured: true,
            };
            switchboard_relay::store::numbers::add_number(ctx, &pn, None).map(|_| ())
        })
        .await
        .unwrap();
    (dir, store)
}

/// Runs `f` in a write job at `now` on the injected clock.
async fn at<R: Send + 'static>(
    store: &Store,
    now: i64,
    f: impl FnOnce(&mut WriteCtx<'_>) -> switchboard_relay::store::Result<R> + Send + 'static,
) -> R {
    store
        .write(move |ctx| {
            ctx.now = now;
            f(ctx)
        })
        .await
        .unwrap()
}

async fn agent(store: &Store, name: &str) -> i64 {
    let email = format!("{name}@example.com");
    at(store, T0, move |ctx| {
        Ok(queries::create_user(
            ctx.conn,
            &email,
            "Agent",
            Role::Agent.as_str(),
            "x",
            ctx.now,
        )?
        .id)
    })
    .await
}

/// A customer's first message; returns the conversation id.
async fn customer_writes(store: &Store, now: i64, wa: &str, wamid: &str, text: &str) -> i64 {
    let body = text_body(wa, wamid, text);
    let wa = wa.to_string();
    at(store, now, move |ctx| {
        ingest::ingest(ctx, &body)?;
        Ok(ctx.conn.query_row(
            "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE k.wa_id = ?1",
            [wa],
            |r| r.get(0),
        )?)
    })
    .await
}

async fn assignee(store: &Store, conv: i64) -> Option<i64> {
    store
        .read(move |c| Ok(queries::conversation(c, conv)?.assignee_id))
        .await
        .unwrap()
}

async fn loads(store: &Store) -> HashMap<i64, (i64, i64)> {
    store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT a.user_id, a.load, a.capacity, (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = a.user_id AND c.status = 'open')
                 FROM agent_routing a",
            )?;
            let rows = stmt.query_map((), |r| {
                let (id, load, cap, actual): (i64, i64, i64, i64) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                assert_eq!(load, actual, "trigger-kept load of {id} matches the conversations");
                Ok((id, (load, cap)))
            })?;
            Ok(rows.collect::<switchboard_relay::store::db::Result<_>>()?)
        })
        .await
        .unwrap()
}

fn settings(cap: i64) -> AgentSettings {
    AgentSettings {
        capacity: cap,
        skills: vec![],
        teams: vec![],
    }
}

#[tokio::test]
async fn the_queue_drains_vip_first_then_by_waiting_time_when_capacity_frees() {
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    at(&store, T0, move |ctx| {
        r::put_agent_settings(ctx, a, &settings(2))?;
        r::connected(ctx, "test", a)
    })
    .await;
    let mut convs = Vec::new();
    for i in 0..5 {
        let wa = format!("4477000000{i:02}");
        convs.push(
            customer_writes(&store, T0 + i * SEC, &wa, &format!("wamid.q{i}"), "hello").await,
        );
    }
    assert_eq!(assignee(&store, convs[0]).await, Some(a));
    assert_eq!(assignee(&store, convs[1]).await, Some(a));
    for c in &convs[2..] {
        assert_eq!(assignee(&store, *c).await, None, "full: waits in the queue");
    }
    assert_eq!(loads(&store).await[&a], (2, 2));
    // The last customer turns out to be a VIP: they go first.
    let vip_contact: i64 = store
        .read({
            let c = convs[4];
            move |x| Ok(queries::conversation(x, c)?.contact.id)
        })
        .await
        .unwrap();
    at(&store, T0 + 10 * SEC, move |ctx| {
        r::put_contact_tags(ctx, vip_contact, &["VIP".into()])
    })
    .await;
    let c0 = convs[0];
    at(&store, T0 + 20 * SEC, move |ctx| r::resolve(ctx, c0, a)).await;
    assert_eq!(assignee(&store, convs[4]).await, Some(a), "VIP first");
    assert_eq!(assignee(&store, convs[2]).await, None);
    let c1 = convs[1];
    at(&store, T0 + 30 * SEC, move |ctx| r::resolve(ctx, c1, a)).await;
    assert_eq!(
        assignee(&store, convs[2]).await,
        Some(a),
        "then the longest wait"
    );
    assert_eq!(assignee(&store, convs[3]).await, None);
    // More capacity serves the queue at once.
    at(&store, T0 + 40 * SEC, move |ctx| {
        r::put_agent_settings(ctx, a, &settings(3))
    })
    .await;
    assert_eq!(assignee(&store, convs[3]).await, Some(a));
    assert_eq!(loads(&store).await[&a], (3, 3));
    // Time to assignment is measured from opening: the third waited 29 s.
    let p = store
        .read({
            let c = convs[2];
            move |x| r::periods(x, c)
        })
        .await
        .unwrap();
    assert_eq!(p[0].time_to_assignment_ms, Some(28 * SEC));
}

#[tokio::test]
async fn an_agent_offline_past_the_grace_period_loses_their_conversations_to_the_queue() {
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    let b = agent(&store, "b").await;
    at(&store, T0, move |ctx| {
        r::put_settings(
            ctx,
            &Settings {
                grace_period_s: 60,
                alert_after_s: 300,
                overdue_after_s: 900,
            },
        )?;
        r::connected(ctx, "test", a)?;
        r::connected(ctx, "test", b)
    })
    .await;
    let c1 = customer_writes(&store, T0 + SEC, "491700000001", "wamid.g1", "Hallo").await;
    let c2 = customer_writes(&store, T0 + 2 * SEC, "491700000002", "wamid.g2", "Hallo").await;
    assert_eq!(
        (assignee(&store, c1).await, assignee(&store, c2).await),
        (Some(a), Some(b))
    );
    // B's only stream closes; a short network blip is covered by the grace period.
    at(&store, T0 + 10 * SEC, move |ctx| {
        r::disconnected(ctx, "test", b)
    })
    .await;
    at(&store, T0 + 69 * SEC, r::tick).await;
    assert_eq!(
        assignee(&store, c2).await,
        Some(b),
        "within the grace period"
    );
    at(&store, T0 + 71 * SEC, r::tick).await;
    assert_eq!(
        assignee(&store, c2).await,
        Some(a),
        "requeued and taken by A"
    );
    let presence = store.read(move |c| r::agent_presence(c, b)).await.unwrap();
    assert_eq!(presence.presence, AgentStatus::Offline);
    let reasons: Vec<(Option<i64>, Option<i64>, String)> = store
        .read(move |c| {
            let mut s = c.prepare(
                "SELECT from_user, to_user, reason FROM assignments WHERE conversation_id = ?1 ORDER BY id",
            )?;
            let rows = s.query_map([c2], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<switchboard_relay::store::db::Result<_>>()?)
        })
        .await
        .unwrap();
    assert_eq!(
        reasons,
        vec![
            (None, Some(b), "least_loaded".to_string()),
            (Some(b), None, "agent_offline".to_string()),
            (None, Some(a), "least_loaded".to_string()),
        ]
    );
    // B comes back within nobody's grace and reconnects; a team that keeps conversations on
    // offline does not requeue them.
    at(&store, T0 + 80 * SEC, move |ctx| {
        let t = r::put_team(ctx, None, "Night", &[b], false)?;
        r::connected(ctx, "test", b)?;
        let _ = t;
        Ok(())
    })
    .await;
    let c3 = customer_writes(&store, T0 + 81 * SEC, "491700000003", "wamid.g3", "Hallo").await;
    assert_eq!(assignee(&store, c3).await, Some(b));
    at(&store, T0 + 90 * SEC, move |ctx| {
        r::disconnected(ctx, "test", b)
    })
    .await;
    at(&store, T0 + 200 * SEC, r::tick).await;
    assert_eq!(assignee(&store, c3).await, Some(b), "team keeps them");
    // An explicit offline with requeueing, and away keeps conversations but takes no new ones.
    at(&store, T0 + 210 * SEC, move |ctx| {
        r::set_status(ctx, a, AgentStatus::Away).map(|_| ())
    })
    .await;
    let c4 = customer_writes(&store, T0 + 211 * SEC, "491700000004", "wamid.g4", "Hallo").await;
    assert_eq!(assignee(&store, c4).await, None, "nobody online: queued");
    assert_eq!(assignee(&store, c1).await, Some(a), "away keeps");
    at(&store, T0 + 220 * SEC, move |ctx| {
        r::set_status(ctx, a, AgentStatus::Online).map(|_| ())
    })
    .await;
    assert_eq!(assignee(&store, c4).await, Some(a), "online again: drained");
}

#[tokio::test]
async fn sticky_and_skill_rules_route_as_configured() {
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    let b = agent(&store, "b").await;
    at(&store, T0, move |ctx| {
        queries::note_number_seen(ctx.conn, PNID, "15550001111", "1", ctx.now)?;
        r::put_skills(ctx, &["german".into()])?;
        r::put_policy(
            ctx,
            PNID,
            &Policy {
                sticky_days: 7,
                ..Policy::default()
            },
        )?;
        r::connected(ctx, "test", a)?;
        r::connected(ctx, "test", b)
    })
    .await;
    let x = customer_writes(&store, T0 + SEC, "447700000001", "wamid.s1", "hello").await;
    assert_eq!(assignee(&store, x).await, Some(a));
    at(&store, T0 + 2 * SEC, move |ctx| r::resolve(ctx, x, a)).await;
    // A gets busier than B...
    for i in 0..2 {
        let c = customer_writes(
            &store,
            T0 + (3 + i) * SEC,
            &format!("44770000010{i}"),
            &format!("wamid.s2{i}"),
            "hello",
        )
        .await;
        let req = switchboard_protocol::api::AssignRequest {
            agent_id: Some(a),
            team_id: None,
            force: true,
        };
        let sup = switchboard_protocol::api::User {
            id: 0,
            email: "s".into(),
            name: "s".into(),
            role: Role::Supervisor.as_str().into(),
            permissions: Role::Supervisor.default_permissions(),
        };
        at(&store, T0 + (3 + i) * SEC, move |ctx| {
            r::assign(ctx, c, &sup, &req).map(|_| ())
        })
        .await;
    }
    let l = loads(&store).await;
    assert!(l[&a].0 > l[&b].0);
    // ...yet the returning customer goes back to A within 7 days.
    let day = 24 * 3600 * SEC;
    customer_writes(&store, T0 + 3 * day, "447700000001", "wamid.s3", "me again").await;
    assert_eq!(assignee(&store, x).await, Some(a), "sticky");
    at(&store, T0 + 3 * day + SEC, move |ctx| r::resolve(ctx, x, a)).await;
    // After the window, the load rule decides.
    customer_writes(&store, T0 + 11 * day, "447700000001", "wamid.s4", "later").await;
    assert_eq!(assignee(&store, x).await, Some(b), "sticky window over");

    // Skills: German-speaking customers need the german skill; only B has it.
    at(&store, T0 + 12 * day, move |ctx| {
        r::put_agent_settings(
            ctx,
            b,
            &AgentSettings {
                capacity: 6,
                skills: vec!["german".into()],
                teams: vec![],
            },
        )?;
        let mut languages = std::collections::BTreeMap::new();
        languages.insert("de".to_string(), vec!["german".to_string()]);
        r::put_policy(
            ctx,
            PNID,
            &Policy {
                mode: Mode::RoundRobin,
                skills: SkillRules {
                    languages,
                    ..SkillRules::default()
                },
                ..Policy::default()
            },
        )
    })
    .await;
    for i in 0..3 {
        let c = customer_writes(
            &store,
            T0 + 12 * day + i * SEC,
            &format!("49151000000{i}"),
            &format!("wamid.de{i}"),
            "Guten Tag",
        )
        .await;
        assert_eq!(assignee(&store, c).await, Some(b), "German goes to B");
    }
    // A policy naming an unknown skill or team is refused by name.
    let err = store
        .write(|ctx| {
            r::put_policy(
                ctx,
                PNID,
                &Policy {
                    skills: SkillRules {
                        number: vec!["klingon".into()],
                        ..SkillRules::default()
                    },
                    ..Policy::default()
                },
            )
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown skill \"klingon\""),
        "{err}"
    );
    let err = store
        .write(|ctx| {
            r::put_policy(
                ctx,
                PNID,
                &Policy {
                    team_id: Some(99),
                    ..Policy::default()
                },
            )
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown team 99"), "{err}");
}

#[tokio::test]
async fn waiting_customers_re_alert_the_agent_then_show_as_overdue() {
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    at(&store, T0, move |ctx| {
        r::put_settings(
            ctx,
            &Settings {
                grace_period_s: 3600,
                alert_after_s: 60,
                overdue_after_s: 300,
            },
        )?;
        r::connected(ctx, "test", a)
    })
    .await;
    let mut live = store.subscribe();
    // The message timestamp (1790000000 s) is when the customer started waiting.
    let c = customer_writes(&store, T0, "447700000009", "wamid.w1", "anyone?").await;
    at(&store, T0 + 61 * SEC, r::tick).await;
    at(&store, T0 + 62 * SEC, r::tick).await;
    at(&store, T0 + 301 * SEC, r::tick).await;
    let mut kinds = Vec::new();
    while let Ok(e) = live.try_recv() {
        if e.event.kind.starts_with("conversation.waiting")
            || e.event.kind.starts_with("conversation.overdue")
        {
            kinds.push((e.event.kind.clone(), e.audience.users.clone()));
        }
    }
    assert_eq!(
        kinds,
        vec![
            ("conversation.waiting".to_string(), vec![a]),
            ("conversation.overdue".to_string(), vec![]),
        ],
        "each alert once per wait; overdue to supervisors only"
    );
    let m = store
        .read(move |x| r::monitor(x, T0 + 302 * SEC))
        .await
        .unwrap();
    assert_eq!(m.overdue.len(), 1);
    assert_eq!(m.agents.iter().find(|x| x.id == a).unwrap().overdue, 1);
    let _ = c;
}

/// Many simultaneous first messages over real HTTP: each conversation is assigned once, no
/// agent ever holds more than their capacity, and resolving drains the queue to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_messages_are_assigned_once_and_never_over_capacity() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let mut agents = Vec::new();
    for i in 0..8 {
        let id = relay
            .user(&format!("agent{i}@example.com"), Role::Agent)
            .await;
        relay
            .store
            .write(move |ctx| {
                r::put_agent_settings(ctx, id, &settings(3))?;
                r::connected(ctx, "test", id)
            })
            .await
            .unwrap();
        agents.push(id);
    }
    let n = 150;
    let posts = (0..n).map(|i| {
        let body = text_body(&format!("4917{i:08}"), &format!("wamid.c{i}"), "Hallo");
        let relay = &relay;
        async move { relay.post_webhook(&body).await.status() }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let l = loads(&relay.store).await;
    for a in &agents {
        assert_eq!(l[a], (3, 3), "everyone full");
    }
    // Resolve whatever is assigned, concurrently, until every conversation went through.
    loop {
        let (_, page) = relay
            .get(&sup, "/api/v1/conversations?status=open&limit=500")
            .await;
        let open: Vec<(i64, Option<i64>)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_i64().unwrap(), c["assignee_id"].as_i64()))
            .collect();
        if open.is_empty() {
            break;
        }
        let assigned: Vec<i64> = open.iter().filter(|c| c.1.is_some()).map(|c| c.0).collect();
        assert!(!assigned.is_empty(), "the queue stalled: {open:?}");
        let resolves = assigned.iter().map(|id| {
            let (relay, sup) = (&relay, &sup);
            async move {
                relay
                    .post(
                        sup,
                        &format!("/api/v1/conversations/{id}/resolve"),
                        json!({}),
                    )
                    .await
                    .0
            }
        });
        assert!(futures_util::future::join_all(resolves)
            .await
            .iter()
            .all(|s| *s == 200));
    }
    // Replaying the assignment log in order: nobody ever exceeded 3, each conversation was
    // assigned exactly once.
    let log: Vec<(i64, Option<i64>, Option<i64>, String)> = relay
        .store
        .read(|c| {
            let mut s = c.prepare(
                "SELECT conversation_id, from_user, to_user, reason FROM assignments ORDER BY id",
            )?;
            let rows = s.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<switchboard_relay::store::db::Result<_>>()?)
        })
        .await
        .unwrap();
    let mut open: HashMap<i64, i64> = HashMap::new();
    let mut times_assigned: HashMap<i64, usize> = HashMap::new();
    for (conv, from, to, reason) in &log {
        if reason == "resolved" {
            *open.get_mut(&from.unwrap()).unwrap() -= 1;
            continue;
        }
        if let Some(f) = from {
            *open.get_mut(f).unwrap() -= 1;
        }
        if let Some(t) = to {
            let o = open.entry(*t).or_default();
            *o += 1;
            assert!(*o <= 3, "agent {t} over capacity");
            *times_assigned.entry(*conv).or_default() += 1;
        }
    }
    assert_eq!(times_assigned.len(), n);
    assert!(
        times_assigned.values().all(|t| *t == 1),
        "no double assignment"
    );
    assert!(open.values().all(|o| *o == 0));
}

fn ws_request(
    relay: &Relay,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = relay.url("/api/v1/stream").replace("http://", "ws://");
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// A customer writes through the simulator, the relay assigns, and the agent's stream (which
/// is what makes them online) receives the assignment; the supervisor's monitor shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_writes_and_the_agents_stream_receives_the_assignment() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = switchboard_sim::Simulator::start(
        switchboard_sim::SimConfig::new("", APP_SECRET),
        listener,
    )
    .await
    .unwrap();
    let relay = Relay::start_with(&sim.base_url(), |c| {
        c.graph_timeout = Duration::from_millis(700)
    })
    .await;
    sim.set_webhook_url(&relay.url("/webhooks/whatsapp"));
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let login = {
        relay.user("anna@example.com", Role::Agent).await;
        relay.login("anna@example.com", "password123").await
    };
    let anna = login.id;
    let (_, m) = relay.get(&sup, "/api/v1/monitor").await;
    let row = |m: &Value| {
        m["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == anna)
            .unwrap()
            .clone()
    };
    assert_eq!(row(&m)["presence"], "offline", "no stream yet");

    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&relay, &login.token))
        .await
        .unwrap();
    relay
        .eventually(Duration::from_secs(5), "anna online", || async {
            let (_, m) = relay.get(&sup, "/api/v1/monitor").await;
            (row(&m)["presence"] == "online").then_some(())
        })
        .await;
    let sent = std::time::Instant::now();
    sim.customer("4915166666666")
        .named("Lena")
        .says("Hallo, ich brauche Hilfe")
        .await
        .unwrap();
    let assignment = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("assignment within 5 s")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let e: Value = serde_json::from_str(&t).unwrap();
            if e["kind"] == "conversation.assigned" {
                break e;
            }
        }
    };
    assert!(sent.elapsed() < Duration::from_secs(2));
    assert_eq!(assignment["data"]["assignee_id"], anna);
    assert_eq!(assignment["data"]["reason"], "least_loaded");
    assert_eq!(assignment["data"]["by"], Value::Null);
    let conv = assignment["conversation_id"].as_i64().unwrap();
    let (_, c) = relay
        .get(&login.token, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(
        (c["assignee_id"].as_i64(), c["status"].as_str()),
        (Some(anna), Some("open"))
    );

    // Anna replies and resolves: first response and resolution are measured; the monitor
    // shows it.
    let (st, _) = relay
        .post(
            &login.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"type":"text","text":"Gern!"}),
        )
        .await;
    assert_eq!(st, 202);
    let (st, c) = relay
        .post(
            &login.token,
            &format!("/api/v1/conversations/{conv}/resolve"),
            json!({}),
        )
        .await;
    assert_eq!((st, c["status"].as_str()), (200, Some("resolved")));
    let (_, periods) = relay
        .get(
            &login.token,
            &format!("/api/v1/conversations/{conv}/measures"),
        )
        .await;
    let p = &periods[0];
    assert!(p["time_to_assignment_ms"].as_i64().unwrap() >= 0);
    assert!(p["first_response_ms"].as_i64().is_some(), "{p}");
    assert!(p["resolution_ms"].as_i64().is_some(), "{p}");
    let (_, m) = relay.get(&sup, "/api/v1/monitor").await;
    let a = row(&m);
    assert_eq!(a["open"], 0);
    assert_eq!(a["capacity"], 6, "default capacity");
    assert_eq!(a["resolved_last_hour"], 1);
    assert_eq!(a["first_response"]["count"], 1);
    let (_, theirs) = relay
        .get(
            &sup,
            &format!("/api/v1/monitor/agents/{anna}/conversations"),
        )
        .await;
    assert_eq!(theirs[0]["id"], conv);

    // The stream closing starts the grace period; an explicit offline takes effect at once.
    let (st, p) = relay
        .put_json(&login.token, "/api/v1/me/status", json!({"status":"away"}))
        .await;
    assert_eq!((st, p["presence"].as_str()), (200, Some("away")));
    drop(ws);
    let (st, p) = relay
        .put_json(
            &login.token,
            "/api/v1/me/status",
            json!({"status":"offline"}),
        )
        .await;
    assert_eq!((st, p["presence"].as_str()), (200, Some("offline")));
    assert_eq!(
        relay
            .put_json(&login.token, "/api/v1/me/status", json!({"status":"busy"}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn assignment_routes_roles_validation_and_audit() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    let anna = relay.login("anna@example.com", "password123");
    relay.user("anna@example.com", Role::Agent).await;
    let anna = anna.await;
    let ben_id = relay.user("ben@example.com", Role::Agent).await;
    let ben = relay.login("ben@example.com", "password123").await.token;
    relay
        .post_webhook(&text_body("447700000001", "wamid.r1", "hi"))
        .await;
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        list["items"][0]["assignee_id"],
        Value::Null,
        "nobody online: queued"
    );
    let path = format!("/api/v1/conversations/{conv}/assign");
    // The supervisor's queue view lists it with its reason; the report checks its period.
    let (st, q) = relay.get(&sup, "/api/v1/monitor/queue").await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(q[0]["conversation_id"].as_i64(), Some(conv));
    assert_eq!(q[0]["reason"], "nobody_online");
    let report = format!("/api/v1/monitor/agents/{ben_id}/report");
    let (st, r) = relay.get(&sup, &report).await;
    assert_eq!(
        (st, r["days"].as_i64(), r["conversations"].as_i64()),
        (200, Some(30), Some(0))
    );
    let (st, e) = relay.get(&sup, &format!("{report}?days=0")).await;
    assert_eq!((st, e["code"].as_str()), (400, Some("bad_request")), "{e}");
    assert_eq!(
        relay
            .get(&sup, "/api/v1/monitor/agents/999999/report")
            .await
            .0,
        404
    );
    assert_eq!(relay.get(&anna.token, "/api/v1/monitor/queue").await.0, 403);

    // Agents may not see the monitor or change settings.
    assert_eq!(relay.get(&anna.token, "/api/v1/monitor").await.0, 403);
    assert_eq!(
        relay
            .put_json(&anna.token, "/api/v1/admin/skills", json!({"skills":["x"]}))
            .await
            .0,
        403
    );
    // Offline agent: refused unless forced by a supervisor.
    let (st, e) = relay.post(&sup, &path, json!({"agent_id": anna.id})).await;
    assert_eq!(st, 409, "{e}");
    let (st, c) = relay
        .post(&sup, &path, json!({"agent_id": anna.id, "force": true}))
        .await;
    assert_eq!((st, c["assignee_id"].as_i64()), (200, Some(anna.id)));
    // Ben may not touch Anna's conversation; Anna may transfer it, to a team too.
    assert_eq!(
        relay.post(&ben, &path, json!({"agent_id": ben_id})).await.0,
        404
    );
    assert_eq!(
        relay
            .post(
                &anna.token,
                &path,
                json!({"agent_id": ben_id, "force": true})
            )
            .await
            .0,
        403,
        "forcing needs the permission reassign"
    );
    assert_eq!(relay.post(&anna.token, &path, json!({})).await.0, 422);
    // Teams, skills and policies, validated.
    let (st, team) = relay
        .post(
            &admin,
            "/api/v1/admin/teams",
            json!({"name":"Support","members":[ben_id]}),
        )
        .await;
    assert_eq!(st, 201, "{team}");
    let team_id = team["id"].as_i64().unwrap();
    let (st, c) = relay
        .post(&anna.token, &path, json!({"team_id": team_id}))
        .await;
    assert_eq!(
        (st, c["assignee_id"].clone()),
        (200, Value::Null),
        "Ben is offline: waits for the team"
    );
    let (_, m) = relay.get(&sup, "/api/v1/monitor").await;
    let t = &m["teams"][0];
    assert_eq!(
        (t["name"].as_str(), t["queue_length"].as_i64()),
        (Some("Support"), Some(1))
    );
    assert_eq!(m["queue_length"], 1);
    // Ben comes online (explicit status alone is not presence: his stream is).
    relay
        .store
        .write(move |ctx| r::connected(ctx, "test", ben_id))
        .await
        .unwrap();
    let (_, c) = relay
        .get(&sup, &format!("/api/v1/conversations/{conv}"))
        .await;
    assert_eq!(
        c["assignee_id"].as_i64(),
        Some(ben_id),
        "drained to the team's agent"
    );

    relay
        .post_webhook(&text_body("447700000002", "wamid.r2", "hi"))
        .await;
    let (relay_ref, admin_ref) = (&relay, &admin);
    let put = move |path: String, body: Value| async move {
        relay_ref.put_json(admin_ref, &path, body).await
    };
    let (st, e) = put(
        format!("/api/v1/admin/agents/{ben_id}/routing"),
        json!({"capacity": 4, "skills": ["billing"], "teams": []}),
    )
    .await;
    assert_eq!(st, 422);
    assert!(e["message"].as_str().unwrap().contains("billing"), "{e}");
    assert_eq!(
        put("/api/v1/admin/skills".into(), json!({"skills":["billing"]}))
            .await
            .0,
        200
    );
    let (st, e) = put(
        format!("/api/v1/admin/agents/{ben_id}/routing"),
        json!({"capacity": 4, "skills": ["billing"], "teams": [999]}),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    assert!(e["message"].as_str().unwrap().contains("unknown team 999"));
    assert_eq!(
        put(
            format!("/api/v1/admin/agents/{ben_id}/routing"),
            json!({"capacity": 4, "skills": ["billing"], "teams": [team_id]}),
        )
        .await
        .0,
        200
    );
    let (st, e) = put(
        format!("/api/v1/admin/numbers/{PNID}/routing"),
        json!({"mode":"round_robin","team_id":null,"sticky_days":3,"skills":{"number":["sales"]},"priority_tags":["vip"]}),
    )
    .await;
    assert_eq!(st, 422);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown skill \"sales\""),
        "{e}"
    );
    let (st, p) = put(
        format!("/api/v1/admin/numbers/{PNID}/routing"),
        json!({"mode":"round_robin","team_id":team_id,"sticky_days":3,"skills":{"number":["billing"]},"priority_tags":["vip"]}),
    )
    .await;
    assert_eq!(st, 200, "{p}");
    let (_, got) = relay
        .get(&admin, &format!("/api/v1/admin/numbers/{PNID}/routing"))
        .await;
    assert_eq!(got["mode"], "round_robin");
    assert_eq!(
        put("/api/v1/admin/skills".into(), json!({"skills":[]}))
            .await
            .0,
        409,
        "a skill in use cannot go"
    );
    let (_, audit) = relay.get(&admin, "/api/v1/admin/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in [
        "routing.team.create",
        "routing.skills",
        "routing.agent",
        "routing.policy",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
    // Reopen routes again; resolve frees capacity.
    let (st, c) = relay
        .post(
            &sup,
            &format!("/api/v1/conversations/{conv}/resolve"),
            json!({}),
        )
        .await;
    assert_eq!((st, c["status"].as_str()), (200, Some("resolved")));
    let (st, c) = relay
        .post(
            &sup,
            &format!("/api/v1/conversations/{conv}/reopen"),
            json!({}),
        )
        .await;
    assert_eq!((st, c["status"].as_str()), (200, Some("open")));
    assert_eq!(
        c["assignee_id"].as_i64(),
        Some(ben_id),
        "sticky within 3 days"
    );
    // Every change has who and why in the log.
    let (_, page) = relay.get(&sup, "/api/v1/events?after=0&limit=1000").await;
    let assigned: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "conversation.assigned" && e["conversation_id"] == conv)
        .collect();
    let whys: Vec<(Value, &str)> = assigned
        .iter()
        .map(|e| {
            (
                e["data"]["by"].clone(),
                e["data"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        whys[0],
        (
            json!(relay_user_id(&relay, "sup@example.com").await),
            "manual"
        )
    );
    assert_eq!(whys[1], (json!(anna.id), "queued"));
    assert!(whys.iter().any(|w| w.1 == "sticky"), "{whys:?}");
}

async fn relay_user_id(relay: &Relay, email: &'static str) -> i64 {
    relay
        .store
        .read(move |c| {
            Ok(
                c.query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap()
}

/// A relay killed with streams open never records their disconnects; once it stops beating, the
/// leader's sweep takes its streams off the counts and the grace period starts, while streams on
/// a live relay keep their agents online.
#[tokio::test]
async fn a_relay_that_stops_beating_loses_its_streams_and_only_its() {
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    let b = agent(&store, "b").await;
    at(&store, T0, move |ctx| {
        r::put_settings(
            ctx,
            &Settings {
                grace_period_s: 60,
                alert_after_s: 300,
                overdue_after_s: 900,
            },
        )?;
        r::heartbeat(ctx, "relay-dead")?;
        r::heartbeat(ctx, "relay-live")?;
        r::connected(ctx, "relay-dead", a)?;
        r::connected(ctx, "relay-dead", b)?;
        r::connected(ctx, "relay-live", b)
    })
    .await;
    // The live relay keeps beating; the dead one fell silent at T0.
    at(&store, T0 + 30 * SEC, move |ctx| {
        r::heartbeat(ctx, "relay-live")
    })
    .await;
    let swept = at(&store, T0 + 30 * SEC, move |ctx| {
        r::sweep_dead_instances(ctx, T0 + 10 * SEC)
    })
    .await;
    assert_eq!(swept, 1);
    let connections = |u: i64| {
        let store = store.clone();
        async move {
            store
                .read(move |c| {
                    Ok(c.query_row(
                        "SELECT connections FROM agent_routing WHERE user_id = ?1",
                        [u],
                        |r| r.get::<i64>(0),
                    )?)
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        connections(a).await,
        0,
        "A's only stream was on the dead relay"
    );
    assert_eq!(
        connections(b).await,
        1,
        "B's stream on the live relay remains"
    );
    // A's grace period started at the sweep, not at T0.
    at(&store, T0 + 80 * SEC, r::tick).await;
    let pa = store.read(move |c| r::agent_presence(c, a)).await.unwrap();
    assert_ne!(pa.presence, AgentStatus::Offline, "within the grace period");
    at(&store, T0 + 91 * SEC, r::tick).await;
    let pa = store.read(move |c| r::agent_presence(c, a)).await.unwrap();
    let pb = store.read(move |c| r::agent_presence(c, b)).await.unwrap();
    assert_eq!(pa.presence, AgentStatus::Offline);
    assert_ne!(pb.presence, AgentStatus::Offline);
    // A second sweep finds nothing more to do.
    let again = at(&store, T0 + 92 * SEC, move |ctx| {
        r::sweep_dead_instances(ctx, T0 + 10 * SEC)
    })
    .await;
    assert_eq!(again, 0);
}

/// The supervisor's queue view names the first thing keeping each customer from an agent, and
/// an agent's report gives counts, medians and 90th percentiles of the period.
#[tokio::test]
async fn the_queue_says_why_each_customer_waits_and_the_report_adds_up_the_month() {
    use switchboard_protocol::routing::WaitReason;
    let (_dir, store) = open_store().await;
    let a = agent(&store, "a").await;
    // The message timestamps (T0) are when customers started waiting.
    let c1 = customer_writes(&store, T0, "447700000101", "wamid.r1", "hallo").await;
    let q = store.read(|x| r::queue(x, T0 + 5 * SEC)).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].conversation_id, c1);
    assert_eq!(q[0].reason, WaitReason::NobodyOnline);
    assert_eq!(q[0].waiting_s, 5.0);

    at(&store, T0 + 10 * SEC, move |ctx| {
        r::put_agent_settings(ctx, a, &settings(1))?;
        r::connected(ctx, "test", a)
    })
    .await;
    assert_eq!(assignee(&store, c1).await, Some(a), "served at once");
    let c2 = customer_writes(&store, T0 + 20 * SEC, "447700000102", "wamid.r2", "hi").await;
    let q = store.read(|x| r::queue(x, T0 + 21 * SEC)).await.unwrap();
    assert_eq!(
        q.iter()
            .map(|w| (w.conversation_id, w.reason))
            .collect::<Vec<_>>(),
        vec![(c2, WaitReason::AllBusy)]
    );

    // The number now requires German, which nobody has.
    at(&store, T0 + 30 * SEC, move |ctx| {
        r::put_skills(ctx, &["de".to_string()])?;
        r::put_policy(
            ctx,
            PNID,
            &Policy {
                skills: SkillRules {
                    number: vec!["de".into()],
                    ..SkillRules::default()
                },
                ..Policy::default()
            },
        )
    })
    .await;
    let q = store.read(|x| r::queue(x, T0 + 31 * SEC)).await.unwrap();
    assert_eq!(q[0].reason, WaitReason::MissingSkills);
    assert_eq!(q[0].required_skills, vec!["de".to_string()]);

    // Anna answers the first customer after 70 s and resolves after 130 s.
    at(&store, T0 + 70 * SEC, move |ctx| {
        r::human_replied(ctx, c1, a)
    })
    .await;
    at(&store, T0 + 130 * SEC, move |ctx| {
        r::resolve(ctx, c1, a).map(|_| ())
    })
    .await;
    assert_eq!(assignee(&store, c2).await, None, "still missing the skill");
    let rep = store
        .read(move |x| r::agent_report(x, a, 30, T0 + 200 * SEC))
        .await
        .unwrap();
    assert_eq!((rep.agent_id, rep.days), (a, 30));
    assert_eq!(rep.until - rep.since, 30 * 24 * 3600 * SEC);
    assert_eq!(rep.conversations, 1);
    assert_eq!(rep.resolved, 1);
    assert_eq!(rep.first_response.count, 1);
    assert_eq!(rep.first_response.median_s, Some(70.0));
    assert_eq!(rep.resolution.p90_s, Some(130.0));
    // A day later than 30 days, the month no longer holds it.
    let later = store
        .read(move |x| r::agent_report(x, a, 30, T0 + 31 * 24 * 3600 * SEC))
        .await
        .unwrap();
    assert_eq!(
        (
            later.conversations,
            later.resolved,
            later.first_response.count
        ),
        (0, 0, 0)
    );
    let err = store
        .read(|x| r::agent_report(x, 999_999, 30, T0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("user 999999"), "{err}");
}
