//! The sync engine against the real relay and the real simulator on loopback.

use std::time::Duration;

use serde_json::json;
use switchboard_protocol::api::{Role, SendRequest};
use switchboard_protocol::webhook::to_meta_json;
use switchboard_sync::{Cache, ConnectionState, Engine, RelayClient, SyncError, TimelineItem};
use switchboard_testkit::{Relay, World};

async fn engine_for(relay: &Relay, email: &str, role: impl AsRef<str>) -> Engine {
    relay.user(email, role).await;
    let login = relay.login(email, "password123").await;
    let cache = Cache::in_memory().unwrap();
    cache.set_user(&login.user).unwrap();
    Engine::new(
        cache,
        RelayClient::new(&relay.base, Some(login.token)).unwrap(),
    )
}

fn text(i: usize) -> SendRequest {
    SendRequest::Text {
        text: format!("Nachricht {i}"),
        preview_url: false,
        reply_to: None,
    }
}

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A new customer writes once; the admin assigns the conversation (the only one) to `agent`.
async fn first_conversation_assigned(
    world: &World,
    admin: &str,
    wa: &str,
    name: &str,
    text: &str,
    agent: i64,
) -> i64 {
    world.sim.customer(wa).named(name).says(text).await.unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let (_, list) = world.relay.get(admin, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().unwrap();
    let (s, _) = world
        .relay
        .post(
            admin,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": agent, "force": true}),
        )
        .await;
    assert_eq!(s, 200);
    conv
}

fn inbound_body(i: usize) -> Vec<u8> {
    let wa = format!("49170{:07}", i % 40);
    to_meta_json(
        &json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"200000000000002"},
        "contacts":[{"profile":{"name":format!("Kunde {}", i % 40)},"wa_id":wa}],
        "messages":[{"from":wa,"id":format!("wamid.sync{i}"),"timestamp":"1790000000","type":"text","text":{"body":format!("Frage {i}")}}]}}]}]}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_catches_up_then_receives_live_messages() {
    let world = World::start().await;
    for i in 0..3 {
        world
            .sim
            .customer("4915111111111")
            .named("Erika")
            .says(&format!("Hallo {i}"))
            .await
            .unwrap();
    }
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let engine = engine_for(&world.relay, "sup@example.com", Role::Supervisor).await;
    engine.catch_up().await.unwrap();
    assert_eq!(engine.cache().counts().unwrap().messages, 3);
    let conv = engine.cache().conversations(&Default::default()).unwrap()[0].clone();
    assert_eq!(conv.contact.name.as_deref(), Some("Erika"));
    assert_eq!(conv.unread_count, 3);

    let runner = engine.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    until("online", || engine.state() == ConnectionState::Online).await;
    let mut changes = engine.changes();
    world
        .sim
        .customer("4915111111111")
        .says("Noch eine Frage")
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(switchboard_sync::Change::Timeline { conversation_id }) = changes.recv().await
            {
                return conversation_id;
            }
        }
    })
    .await
    .expect("live change within 5 s");
    assert_eq!(got, conv.id);
    assert_eq!(engine.cache().counts().unwrap().messages, 4);
    let hits = engine.cache().search("frage", 5).unwrap();
    assert_eq!(hits.len(), 1);

    // Sending while online: shown pending at once, replaced by the relay's copy, delivered.
    let pending = engine.send(conv.id, text(1)).unwrap();
    let timeline = engine.cache().timeline(conv.id, None, 50).unwrap();
    assert!(
        matches!(timeline.last(), Some(TimelineItem::Pending(p)) if p.client_id == pending.client_id)
    );
    until("delivered", || {
        engine.cache().timeline(conv.id, None, 50).unwrap().iter().any(|t| matches!(t, TimelineItem::Message(m)
            if m.client_id.as_deref() == Some(pending.client_id.as_str()) && m.status == Some(switchboard_protocol::api::DeliveryStatus::Read)))
    })
    .await;
    let copies = engine
        .cache()
        .timeline(conv.id, None, 50)
        .unwrap()
        .iter()
        .filter(|t| match t {
            TimelineItem::Message(m) => m.client_id.as_deref() == Some(pending.client_id.as_str()),
            TimelineItem::Pending(p) => p.client_id == pending.client_id,
        })
        .count();
    assert_eq!(copies, 1, "never two copies");
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_during_catch_up_converges_without_duplicates() {
    let mut world = World::start().await;
    for i in 0..400 {
        assert_eq!(
            world.relay.post_webhook(&inbound_body(i)).await.status(),
            200
        );
    }
    let engine = engine_for(&world.relay, "sup@example.com", Role::Supervisor)
        .await
        .with_page_size(5);
    let runner = engine.clone();
    let first = tokio::spawn(async move { runner.catch_up().await });
    until("catch-up under way", || {
        engine.cache().cursor().unwrap() > 0
    })
    .await;
    world.restart_relay().await; // stops the relay mid catch-up, then starts it again
    let interrupted = first.await.unwrap();
    assert!(
        matches!(
            interrupted,
            Err(SyncError::Offline(_)) | Err(SyncError::Protocol(_)) | Ok(_)
        ),
        "{interrupted:?}"
    );
    let cursor_after_kill = engine.cache().cursor().unwrap();
    engine.catch_up().await.unwrap();
    assert!(engine.cache().cursor().unwrap() >= cursor_after_kill);
    assert_eq!(engine.cache().counts().unwrap().messages, 400);

    // A client that caught up in one go without interruption holds exactly the same.
    let reference = engine_for(&world.relay, "sup2@example.com", Role::Supervisor).await;
    reference.catch_up().await.unwrap();
    let strip_cursor = |d: Vec<String>| {
        d.into_iter()
            .filter(|l| !l.starts_with("cursor"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip_cursor(engine.cache().dump().unwrap()),
        strip_cursor(reference.cache().dump().unwrap())
    );
    assert!(
        interrupted.is_err(),
        "the restart should have interrupted the catch-up (cursor was {cursor_after_kill})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_offline_are_delivered_exactly_once_in_order() {
    let mut world = World::start().await;
    world
        .sim
        .customer("4915122222222")
        .named("Paul")
        .says("Ich warte")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let engine = engine_for(&world.relay, "agent@example.com", Role::Agent).await;
    engine.catch_up().await.unwrap();
    let conv = engine.cache().conversations(&Default::default()).unwrap()[0].id;

    let addr = world.relay.addr();
    let dir = world.relay.pause().await; // the relay is down
    for i in 0..100 {
        engine.send(conv, text(i)).unwrap();
    }
    assert_eq!(engine.cache().counts().unwrap().outbox_pending, 100);
    let err = engine.flush_outbox().await.unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err}");
    assert_eq!(
        engine.cache().counts().unwrap().outbox_pending,
        100,
        "nothing lost while offline"
    );

    world.relay = Relay::start_at(dir, &addr, &world.sim.base_url(), |c| {
        c.graph_timeout = Duration::from_millis(700)
    })
    .await;
    // A client crash after the relay accepted the first message but before the cache heard back:
    // the retry with the same Idempotency-Key must not send it again.
    let first = engine.cache().pending().unwrap()[0].clone();
    engine
        .client()
        .await
        .send(conv, &first.request, &first.client_id)
        .await
        .unwrap();

    let (_, report) = engine.sync_once().await.unwrap();
    // The first one's echo arrived with the catch-up and settled its row; the rest were sent.
    assert_eq!(report.sent, 99);
    assert_eq!(engine.cache().counts().unwrap().outbox_pending, 0);
    until("100 sends at the simulator", || {
        let sim = world.sim.clone();
        futures_util::FutureExt::now_or_never(async move { sim.sent().await.len() }).unwrap_or(0)
            >= 100
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bodies: Vec<String> = world
        .sim
        .sent()
        .await
        .iter()
        .map(|s| s.payload["text"]["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..100).map(|i| format!("Nachricht {i}")).collect();
    assert_eq!(bodies, expected, "each exactly once, in order");
    let outbound = engine
        .cache()
        .timeline(conv, None, 500)
        .unwrap()
        .iter()
        .filter(|t| matches!(t, TimelineItem::Message(m) if m.direction == switchboard_protocol::api::Direction::Outbound))
        .count();
    assert_eq!(outbound, 100, "the cache holds each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_cache_never_receives_a_conversation_they_may_not_see() {
    let world = World::start().await;
    let ben_id = world.relay.user("ben@example.com", Role::Agent).await;
    world
        .sim
        .customer("4915133333333")
        .named("Geheim")
        .says("Für Ben")
        .await
        .unwrap();
    world
        .sim
        .customer("4915144444444")
        .named("Offen")
        .says("Für alle")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    let sup = engine_for(&world.relay, "sup@example.com", Role::Supervisor).await;
    sup.catch_up().await.unwrap();
    let secret = sup
        .cache()
        .conversations(&Default::default())
        .unwrap()
        .into_iter()
        .find(|c| c.contact.name.as_deref() == Some("Geheim"))
        .unwrap()
        .id;
    world
        .relay
        .store
        .write(move |ctx| {
            ctx.conn.execute(
                "UPDATE conversations SET assignee_id = ?2 WHERE id = ?1",
                (secret, ben_id),
            )?;
            switchboard_relay::store::queries::emit_conversation(ctx, secret, Some(None))
        })
        .await
        .unwrap();

    let anna = engine_for(&world.relay, "anna@example.com", Role::Agent).await;
    let mut changes = anna.changes();
    let runner = anna.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    until("anna online", || anna.state() == ConnectionState::Online).await;
    world
        .sim
        .customer("4915133333333")
        .says("Noch mehr für Ben")
        .await
        .unwrap();
    world
        .sim
        .customer("4915144444444")
        .says("Und für alle")
        .await
        .unwrap();
    world.sim.wait_webhooks_idle(Duration::from_secs(5)).await;
    until("anna sees the open conversation's second message", || {
        anna.cache().counts().unwrap().messages == 2
    })
    .await;
    let convs = anna.cache().conversations(&Default::default()).unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].contact.name.as_deref(), Some("Offen"));
    assert!(anna
        .cache()
        .dump()
        .unwrap()
        .iter()
        .all(|l| !l.contains("Geheim") && !l.contains("Ben")));
    while let Ok(c) = changes.try_recv() {
        assert_ne!(
            c,
            switchboard_sync::Change::Timeline {
                conversation_id: secret
            }
        );
    }
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn wrong_password_and_unreachable_relay_are_clear_errors() {
    let world = World::start().await;
    world.relay.user("x@example.com", Role::Agent).await;
    let client = RelayClient::new(&world.relay.base, None).unwrap();
    let err = client.login("x@example.com", "wrong").await.unwrap_err();
    assert_eq!(err.to_string(), "wrong email or password");
    let dead = RelayClient::new("http://127.0.0.1:9", None).unwrap();
    assert!(matches!(
        dead.login("x@example.com", "pw").await.unwrap_err(),
        SyncError::Offline(_)
    ));
    assert!(RelayClient::new("ftp://x", None).is_err());
}

/// Tags and notes written through the relay reach the cache through the event log: the list
/// filters by tag, the customer panel reads tags and notes locally, and the change feed names
/// the customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_notes_reach_the_cache_and_filter_the_list() {
    let relay = Relay::start(&switchboard_testkit::no_graph()).await;
    for i in 0..3 {
        relay.post_webhook(&inbound_body(i)).await;
    }
    let engine = engine_for(&relay, "sup@example.com", Role::Supervisor).await;
    engine.catch_up().await.unwrap();
    let all = engine.cache().conversations(&Default::default()).unwrap();
    assert_eq!(all.len(), 3);
    let target = all[1].clone();
    let client = engine.client().await;
    let mut changes = engine.changes();

    let tags = client
        .set_tags(target.contact.id, &["VIP".into(), "b2b".into()])
        .await
        .unwrap();
    assert_eq!(tags, vec!["b2b".to_string(), "vip".to_string()]);
    let note = client
        .add_note(target.contact.id, "Ruft lieber nachmittags an.")
        .await
        .unwrap();
    engine.catch_up().await.unwrap();

    let by_tag = |t: &str| {
        engine
            .cache()
            .conversations(&switchboard_sync::ConversationFilter {
                tag: Some(t.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(by_tag("vip"), vec![target.id]);
    assert_eq!(by_tag("VIP"), vec![target.id], "the filter ignores case");
    assert_eq!(by_tag("b2b"), vec![target.id]);
    assert!(by_tag("neukunde").is_empty());
    assert_eq!(
        engine.cache().contact(target.contact.id).unwrap().tags,
        vec!["b2b".to_string(), "vip".to_string()]
    );
    assert_eq!(engine.cache().notes(target.contact.id).unwrap(), vec![note]);
    assert_eq!(
        engine.cache().tags().unwrap(),
        vec![("b2b".to_string(), 1), ("vip".to_string(), 1)]
    );
    let mut named = false;
    while let Ok(c) = changes.try_recv() {
        if let switchboard_sync::Change::Contacts { ids } = c {
            named |= ids.contains(&target.contact.id);
        }
    }
    assert!(named, "the change feed names the customer");

    // Removing a tag empties the filter; a new message keeps the tags on the snapshot.
    client
        .set_tags(target.contact.id, &["b2b".into()])
        .await
        .unwrap();
    engine.catch_up().await.unwrap();
    assert!(by_tag("vip").is_empty());
    assert_eq!(by_tag("b2b"), vec![target.id]);
    relay.post_webhook(&inbound_body(1 + 40)).await;
    engine.catch_up().await.unwrap();
    assert_eq!(by_tag("b2b"), vec![target.id]);
    assert_eq!(engine.cache().counts().unwrap().messages, 4);
}

/// A conversation transferred to an agent arrives through the log without the messages written
/// while a colleague had it; `fetch_history` brings them in once, without duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_conversation_brings_its_history() {
    let relay = Relay::start(&switchboard_testkit::no_graph()).await;
    let sup_token = relay.login_as("sup@example.com", Role::Supervisor).await;
    let ben_id = relay.user("ben@example.com", Role::Agent).await;
    let anna = engine_for(&relay, "anna@example.com", Role::Agent).await;
    let anna_id = anna.cache().user().unwrap().unwrap().id;
    relay.post_webhook(&inbound_body(5)).await;
    let (_, list) = relay.get(&sup_token, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().unwrap();
    let assign = format!("/api/v1/conversations/{conv}/assign");
    let (s, _) = relay
        .post(
            &sup_token,
            &assign,
            json!({"agent_id": ben_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);
    // Three more messages while Ben has it: not in Anna's log.
    for k in 1..=3 {
        relay.post_webhook(&inbound_body(5 + 40 * k)).await;
    }
    anna.catch_up().await.unwrap();
    assert!(anna
        .cache()
        .conversations(&Default::default())
        .unwrap()
        .is_empty());

    let (s, _) = relay
        .post(
            &sup_token,
            &assign,
            json!({"agent_id": anna_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);
    relay.post_webhook(&inbound_body(5 + 40 * 4)).await;
    anna.catch_up().await.unwrap();
    let timeline_len = || anna.cache().timeline(conv, None, 100).unwrap().len();
    assert_eq!(
        anna.cache()
            .conversations(&Default::default())
            .unwrap()
            .len(),
        1
    );
    let before = timeline_len();
    assert!(before < 5, "the log alone starts in the middle");

    let mut changes = anna.changes();
    let added = anna.fetch_history(conv).await.unwrap();
    assert_eq!(timeline_len(), 5, "all five messages, once each");
    assert_eq!(added, 5 - before, "counts only what was missing");
    assert_eq!(
        changes.try_recv().unwrap(),
        switchboard_sync::Change::Timeline {
            conversation_id: conv
        }
    );
    assert_eq!(anna.fetch_history(conv).await.unwrap(), 0, "fetched once");
    let texts: Vec<String> = anna
        .cache()
        .timeline(conv, None, 100)
        .unwrap()
        .into_iter()
        .map(|i| match i {
            TimelineItem::Message(m) => m.text,
            TimelineItem::Pending(p) => p.text,
        })
        .collect();
    assert_eq!(
        texts,
        (0..5)
            .map(|k| format!("Frage {}", 5 + 40 * k))
            .collect::<Vec<_>>()
    );
}

/// An admin takes `see_all_conversations` from a role: at its next connection the engine reads
/// the user again, starts the log over and holds only what the relay now shows (the outbox
/// stays); the permission given back brings the colleague's conversation back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_role_reaches_the_cache_at_the_next_connection() {
    let world = World::start().await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let (s, role) = relay
        .post(
            &admin,
            "/api/v1/admin/roles",
            json!({"name": "Lead", "permissions": ["see_all_conversations"]}),
        )
        .await;
    assert_eq!(s, 201, "{role}");
    let role_path = format!("/api/v1/admin/roles/{}", role["id"]);
    let anna = relay.user("anna@example.com", Role::Agent).await;
    let lea = engine_for(relay, "lea@example.com", "Lead").await;
    first_conversation_assigned(
        &world,
        &admin,
        "4915188888888",
        "Vertraulich",
        "Nur für Anna",
        anna,
    )
    .await;
    lea.refresh_user().await.unwrap();
    lea.sync_once().await.unwrap();
    assert_eq!(
        lea.cache()
            .conversations(&Default::default())
            .unwrap()
            .len(),
        1
    );

    let patch = |permissions: serde_json::Value| {
        let (relay, admin, path) = (relay, admin.clone(), role_path.clone());
        async move {
            let (s, b) = relay
                .call(
                    reqwest::Method::PATCH,
                    &admin,
                    &path,
                    Some(json!({"permissions": permissions})),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        }
    };
    patch(json!([])).await;
    lea.refresh_user().await.unwrap();
    lea.sync_once().await.unwrap();
    assert!(lea.cache().user().unwrap().unwrap().permissions.is_empty());
    assert!(lea
        .cache()
        .conversations(&Default::default())
        .unwrap()
        .is_empty());
    assert!(lea
        .cache()
        .dump()
        .unwrap()
        .iter()
        .all(|l| !l.contains("Nur für Anna")));

    patch(json!(["see_all_conversations"])).await;
    lea.refresh_user().await.unwrap();
    lea.sync_once().await.unwrap();
    let convs = lea.cache().conversations(&Default::default()).unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].contact.name.as_deref(), Some("Vertraulich"));
}

/// Escalation alerts come through the event log: one raised while the agent's app was closed is
/// there at the next start, notifies once, and stops counting once the agent has answered.
/// Supervisors get the overdue alert, agents only the waiting alert of their own conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_raised_while_the_app_was_closed_shows_at_the_next_start() {
    let world = World::start().await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let (s, b) = relay
        .call(
            reqwest::Method::PUT,
            &admin,
            "/api/v1/admin/routing",
            Some(json!({"grace_period_s": 3600, "alert_after_s": 1, "overdue_after_s": 2})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let anna = relay.user("anna@example.com", Role::Agent).await;
    let login = relay.login("anna@example.com", "password123").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.sqlite");
    let open = |path: &std::path::Path| {
        let cache = Cache::open(path).unwrap();
        cache.set_user(&login.user).unwrap();
        Engine::new(
            cache,
            RelayClient::new(&relay.base, Some(login.token.clone())).unwrap(),
        )
    };
    let sup = engine_for(relay, "sam@example.com", Role::Supervisor).await;

    let conv = first_conversation_assigned(
        &world,
        &admin,
        "4915177777777",
        "Wartend",
        "Hallo? Ist da jemand?",
        anna,
    )
    .await;
    {
        let app = open(&path);
        app.sync_once().await.unwrap();
        assert_eq!(
            app.cache()
                .conversations(&Default::default())
                .unwrap()
                .len(),
            1
        );
    } // the app is closed

    // The relay raises the alerts meanwhile (it ticks every second).
    let mut raised = false;
    let kinds_for = |token: String| async move {
        let (_, ev) = relay.get(&token, "/api/v1/events?after=0&limit=500").await;
        ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["kind"].as_str().map(str::to_string))
            .collect::<Vec<String>>()
    };
    for _ in 0..100 {
        let agent_sees = kinds_for(login.token.clone()).await;
        let admin_sees = kinds_for(admin.clone()).await;
        if agent_sees.iter().any(|k| k == "conversation.waiting")
            && admin_sees.iter().any(|k| k == "conversation.overdue")
        {
            raised = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(raised, "the relay raised both alerts");

    let app = open(&path);
    app.sync_once().await.unwrap();
    let alerts = app.cache().alerts(10).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].kind, "waiting",
        "the agent never gets the overdue alert"
    );
    assert_eq!(alerts[0].conversation_id, conv);
    assert!(alerts[0].applies && !alerts[0].seen);
    assert_eq!(app.cache().unseen_alerts().unwrap(), 1);
    let due = app.cache().take_alerts_to_notify().unwrap();
    assert_eq!(due.len(), 1, "notified at the next start");
    assert!(
        app.cache().take_alerts_to_notify().unwrap().is_empty(),
        "and only once"
    );

    sup.sync_once().await.unwrap();
    let kinds: Vec<String> = sup
        .cache()
        .alerts(10)
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(
        kinds,
        vec!["overdue".to_string()],
        "supervisors get the overdue alert"
    );

    // Anna answers: the alert stays in the list, but no longer counts.
    let (s, b) = relay
        .post(
            &login.token,
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"type": "text", "text": "Ja, ich bin da!"}),
        )
        .await;
    assert!(s == 200 || s == 201 || s == 202, "{s} {b}");
    app.sync_once().await.unwrap();
    let alerts = app.cache().alerts(10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(!alerts[0].applies, "answered since");
    assert_eq!(app.cache().unseen_alerts().unwrap(), 0);
    assert_eq!(app.cache().mark_alerts_seen(alerts[0].seq).unwrap(), 1);
}

/// A customer's edit and deletion reach a client's cache as updates of the same message: the
/// timeline and search show the new text, the earlier version is kept, and nothing is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_edit_deletion_and_marketing_stop_reach_the_cache() {
    let world = World::start().await;
    let relay = &world.relay;
    let sup = engine_for(relay, "sam@example.com", Role::Supervisor).await;
    relay
        .post_webhook(&switchboard_testkit::fixture("text.json"))
        .await;
    sup.sync_once().await.unwrap();
    let conv = sup.cache().conversations(&Default::default()).unwrap()[0].id;
    relay
        .post_webhook(&switchboard_testkit::fixture("edit.json"))
        .await;
    sup.sync_once().await.unwrap();
    let items = sup.cache().timeline(conv, None, 10).unwrap();
    assert_eq!(items.len(), 1, "an edit is no message of its own");
    let TimelineItem::Message(m) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(m.text, "Hello, do you ship to Porto?");
    assert_eq!(m.edits[0].text, "Hello, do you ship to Lisbon?");
    assert_eq!(sup.cache().search("Porto", 10).unwrap().len(), 1);
    assert!(sup.cache().search("Lisbon", 10).unwrap().is_empty());
    relay
        .post_webhook(&switchboard_testkit::fixture("revoke.json"))
        .await;
    sup.sync_once().await.unwrap();
    let items = sup.cache().timeline(conv, None, 10).unwrap();
    let TimelineItem::Message(m) = &items[0] else {
        panic!("{items:?}")
    };
    assert!(m.deleted_at.is_some());
    assert_eq!(m.text, "Hello, do you ship to Porto?");

    // The customer stops marketing messages: the cached customer carries it.
    relay
        .post_webhook(&switchboard_testkit::fixture("user_preferences_stop.json"))
        .await;
    sup.sync_once().await.unwrap();
    let c = &sup.cache().conversations(&Default::default()).unwrap()[0];
    let pref = c
        .contact
        .marketing
        .as_ref()
        .expect("the preference reached the cache");
    assert_eq!(pref.choice, "stop");
    assert!(!pref.allows_marketing());
    assert_eq!(
        sup.cache()
            .contact(c.contact.id)
            .unwrap()
            .marketing
            .map(|m| m.choice),
        Some("stop".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_app_answers_history_and_saved_names_reach_the_cache() {
    let world = World::start().await;
    let relay = &world.relay;
    let sup = engine_for(relay, "sam@example.com", Role::Supervisor).await;
    for f in [
        "text.json",
        "smb_message_echoes.json",
        "history.json",
        "history_media.json",
        "smb_app_state_sync.json",
    ] {
        relay.post_webhook(&switchboard_testkit::fixture(f)).await;
    }
    sup.sync_once().await.unwrap();
    let convs = sup.cache().conversations(&Default::default()).unwrap();
    assert_eq!(convs.len(), 1);
    let c = &convs[0];
    assert_eq!(c.contact.app_name.as_deref(), Some("Ana Ferreira (Porto)"));
    assert_eq!(
        sup.cache()
            .contact(c.contact.id)
            .unwrap()
            .app_name
            .as_deref(),
        Some("Ana Ferreira (Porto)")
    );
    let items = sup.cache().timeline(c.id, None, 20).unwrap();
    let msgs: Vec<(String, Option<String>)> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Message(m) => Some((m.text.clone(), m.origin.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(msgs.len(), 5, "{msgs:?}");
    // In the order they were written: the shared history first, though it arrived last.
    let at: Vec<i64> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Message(m) => Some(m.created_at),
            _ => None,
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    let older = sup
        .cache()
        .timeline(
            c.id,
            items.first().and_then(|i| match i {
                TimelineItem::Message(m) => Some(m.id),
                _ => None,
            }),
            20,
        )
        .unwrap();
    assert!(older.is_empty(), "nothing before the oldest: {older:?}");
    let last_two = sup.cache().timeline(c.id, None, 2).unwrap();
    let TimelineItem::Message(newest) = &last_two[1] else {
        panic!()
    };
    assert_eq!(newest.created_at, *at.last().unwrap());
    assert!(msgs.contains(&(
        "Yes, we ship to Porto. Your parcel leaves today.".into(),
        Some("phone_app".into())
    )));
    assert!(msgs.contains(&("This one".into(), Some("history".into()))));
    assert_eq!(sup.cache().search("parcel", 10).unwrap().len(), 1);
    assert_eq!(sup.cache().search("size 38", 10).unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_users_cache_is_deleted_at_the_next_contact() {
    let world = World::start().await;
    let relay = &world.relay;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let erin = engine_for(relay, "erin@example.com", Role::Supervisor).await;
    let sam = engine_for(relay, "sam@example.com", Role::Supervisor).await;
    relay
        .post_webhook(&switchboard_testkit::fixture("text.json"))
        .await;
    erin.sync_once().await.unwrap();
    sam.sync_once().await.unwrap();
    assert_eq!(
        erin.cache()
            .conversations(&Default::default())
            .unwrap()
            .len(),
        1
    );
    // Erin leaves the company; Sam's session merely ends (signed out elsewhere).
    let (_, users) = relay.get(&admin, "/api/v1/admin/users").await;
    let id_of = |email: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (s, _) = relay
        .call(
            reqwest::Method::PATCH,
            &admin,
            &format!("/api/v1/admin/users/{}", id_of("erin@example.com")),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = relay
        .call(
            reqwest::Method::POST,
            &admin,
            &format!("/api/v1/admin/users/{}/password", id_of("sam@example.com")),
            Some(json!({"password": "ein-neues-passwort-2026"})),
        )
        .await;
    assert!(s == 200 || s == 204, "{s}");
    let e = erin.sync_once().await.unwrap_err();
    assert_eq!(e.code(), "account_deactivated");
    assert!(erin
        .cache()
        .conversations(&Default::default())
        .unwrap()
        .is_empty());
    assert!(erin.cache().search("Lisbon", 10).unwrap().is_empty());
    // Active again: her old token just ends (she signs in anew).
    let (s, _) = relay
        .call(
            reqwest::Method::PATCH,
            &admin,
            &format!("/api/v1/admin/users/{}", id_of("erin@example.com")),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(erin.sync_once().await.unwrap_err().code(), "auth_expired");
    let e = sam.sync_once().await.unwrap_err();
    assert_eq!(e.code(), "auth_expired");
    assert_eq!(
        sam.cache()
            .conversations(&Default::default())
            .unwrap()
            .len(),
        1,
        "an ended session keeps the cache"
    );
}
