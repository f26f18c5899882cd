//! Automations and the outbound policy end to end: the real relay and the real simulator on
//! loopback. Keyword auto-replies, away messages, the sensitive-word filter with supervisor
//! override, the 24-hour window and template validation, pair-rate throttling, the queue view.

mod common;

use std::time::Duration;

use chrono::{Datelike, Duration as ChronoDuration, Utc};
use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_sim::{FaultKind, FaultRule, SimConfig, Simulator};

const PNID: &str = "200000000000002";

struct World {
    sim: Simulator,
    relay: Relay,
    admin: String,
    agent: String,
}

async fn world() -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(SimConfig::new("", APP_SECRET), listener)
        .await
        .unwrap();
    let relay = Relay::start_with(&sim.base_url(), |c| {
        c.graph_timeout = Duration::from_millis(700);
    })
    .await;
    sim.set_webhook_url(&relay.url("/webhooks/whatsapp"));
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    let agent = relay.login_as("agent@example.com", Role::Agent).await;
    World {
        sim,
        relay,
        admin,
        agent,
    }
}

impl World {
    /// A synced template as agents list it.
    async fn template(&self, name: &str, language: &str) -> Value {
        let (_, templates) = self
            .relay
            .get(
                &self.agent,
                &format!("/api/v1/templates?phone_number_id={PNID}"),
            )
            .await;
        templates
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name && t["language"] == language)
            .cloned()
            .unwrap_or_else(|| panic!("no template {name} ({language}) in {templates}"))
    }

    async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .relay
            .http
            .put(self.relay.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The customer writes; returns (conversation id, relay message id) once it is stored.
    async fn customer_writes(&self, wa_id: &str, text: &str) -> (i64, i64) {
        let wamid = self
            .sim
            .customer(wa_id)
            .named("Kunde")
            .says(text)
            .await
            .unwrap();
        self.relay
            .eventually(Duration::from_secs(5), "inbound message", || async {
                let w = wamid.clone();
                self.relay
                    .store
                    .read(move |c| {
                        Ok(c.query_row(
                            "SELECT conversation_id, id FROM messages WHERE wamid = ?1",
                            [w],
                            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
                        )
                        .ok())
                    })
                    .await
                    .unwrap()
            })
            .await
    }

    async fn outbound_count(&self, conv: i64) -> i64 {
        self.relay
            .store
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND direction = 'out'",
                    [conv],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    }

    /// Waits until the simulator has accepted `n` sends to `to`; returns their payloads.
    async fn sent_to(&self, to: &str, n: usize) -> Vec<Value> {
        let to = format!("+{to}");
        self.relay
            .eventually(
                Duration::from_secs(10),
                "sends at the simulator",
                || async {
                    let sent: Vec<Value> = self
                        .sim
                        .sent()
                        .await
                        .into_iter()
                        .filter(|s| s.payload["to"] == to.as_str())
                        .map(|s| s.payload)
                        .collect();
                    (sent.len() >= n).then_some(sent)
                },
            )
            .await
    }

    async fn send(&self, token: &str, conv: i64, body: Value) -> (u16, Value) {
        self.relay
            .post(
                token,
                &format!("/api/v1/conversations/{conv}/messages"),
                body,
            )
            .await
    }
}

#[tokio::test]
async fn a_customer_asking_about_prices_gets_the_configured_reply_once() {
    let w = world().await;
    let (status, rule) = w
        .relay
        .post(
            &w.admin,
            "/api/v1/admin/auto-replies",
            json!({"phone_number_id": PNID, "name": "Preise", "keywords": ["Preis", "was kostet"],
                   "match": "any", "reply": {"text": "Unsere Preise finden Sie unter example.com/preise."},
                   "cooldown_seconds": 3600, "priority": 5}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let (_, list) = w.relay.get(&w.admin, "/api/v1/admin/auto-replies").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["match"], "any");

    let (conv, _) = w
        .customer_writes("4915100000101", "Hallo, was ist der PREÍS?")
        .await;
    let sent = w.sent_to("4915100000101", 1).await;
    assert_eq!(
        sent[0]["text"]["body"],
        "Unsere Preise finden Sie unter example.com/preise."
    );
    // Sent by the relay itself, not by an agent.
    let (_, msgs) = w
        .relay
        .get(&w.agent, &format!("/api/v1/conversations/{conv}/messages"))
        .await;
    let out: Vec<&Value> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(out.len(), 1);
    assert!(out[0]["sender_id"].is_null());

    // The same question again: the cooldown holds, no second answer is queued (the reply is
    // queued in the same write as the inbound message, so this check needs no waiting).
    w.customer_writes("4915100000101", "Und der Preis für Versand?")
        .await;
    assert_eq!(w.outbound_count(conv).await, 1);
    // "Preisschild" is not "Preis" (word boundaries).
    let (conv2, _) = w
        .customer_writes("4915100000102", "Das Preisschild fehlt")
        .await;
    assert_eq!(w.outbound_count(conv2).await, 0);

    // Removing the rule stops it.
    let id = rule["id"].as_i64().unwrap();
    let r = w
        .relay
        .http
        .delete(w.relay.url(&format!("/api/v1/admin/auto-replies/{id}")))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (conv3, _) = w.customer_writes("4915100000103", "Preis?").await;
    assert_eq!(w.outbound_count(conv3).await, 0);
}

#[tokio::test]
async fn rules_are_validated_and_admin_only() {
    let w = world().await;
    let (status, err) = w
        .relay
        .post(
            &w.admin,
            "/api/v1/admin/auto-replies",
            json!({"phone_number_id": PNID, "name": "Kaputt", "keywords": ["(unclosed"], "match": "regex",
                   "reply": {"text": "x"}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["code"], "invalid_rule");
    let m = err["message"].as_str().unwrap();
    assert!(
        m.contains("Kaputt") && m.contains("regular expression"),
        "{m}"
    );
    let (status, _) = w
        .relay
        .post(
            &w.agent,
            "/api/v1/admin/auto-replies",
            json!({"phone_number_id": PNID, "keywords": ["a"], "match": "any", "reply": {"text": "x"}}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = w
        .put(
            &w.agent,
            "/api/v1/admin/sensitive-words",
            json!({"entries": ["x"]}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, err) = w
        .put(
            &w.admin,
            &format!("/api/v1/admin/rate-limits/{PNID}"),
            json!({"per_minute": 10, "burst": 1, "pair_interval_ms": 6000, "pair_burst": 1}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert!(err["message"].as_str().unwrap().contains("20 and 120"));
    // Changes are audited.
    w.put(
        &w.admin,
        "/api/v1/admin/sensitive-words",
        json!({"entries": ["gratis"]}),
    )
    .await;
    // A sample message is checked against the words in force at once, as a send would be.
    let check = |text: &str| {
        let (w, text) = (&w, text.to_string());
        async move {
            w.relay
                .post(
                    &w.admin,
                    "/api/v1/admin/sensitive-words/check",
                    json!({"text": text}),
                )
                .await
        }
    };
    let (status, v) = check("Heute alles G.R.A.T.I.S!").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"blocked": true, "matched": "gratis", "language": null})
    );
    let (_, v) = check("Heute leider nicht").await;
    assert_eq!(v["blocked"], false);
    let (status, _) = check(&"x".repeat(4097)).await;
    assert_eq!(status, 422);
    let (status, _) = w
        .relay
        .post(
            &w.agent,
            "/api/v1/admin/sensitive-words/check",
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    let (_, audit) = w.relay.get(&w.admin, "/api/v1/admin/audit").await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "policy.sensitive_words.replace"));
}

#[tokio::test]
async fn a_blocked_word_never_reaches_the_simulator_and_a_supervisor_may_allow_it() {
    let w = world().await;
    let (status, _) = w
        .put(
            &w.admin,
            "/api/v1/admin/sensitive-words",
            json!({"entries": ["kostenlos", "gewinnen"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, words) = w.relay.get(&w.admin, "/api/v1/admin/sensitive-words").await;
    assert_eq!(words["entries"], json!(["kostenlos", "gewinnen"]));
    let supervisor = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let (conv, _) = w.customer_writes("4915100000201", "Hallo").await;

    let (status, err) = w
        .send(
            &w.agent,
            conv,
            json!({"type": "text", "text": "Heute alles K.O.S.T.E.N.L.O.S!"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "sensitive_word");
    assert_eq!(err["matched"], "kostenlos");
    assert!(err["message"].as_str().unwrap().contains("\"kostenlos\""));
    let block_id = err["block_id"].as_i64().unwrap();
    // Nothing was queued.
    assert_eq!(w.outbound_count(conv).await, 0);

    // A normal reply goes out; only it reaches the simulator.
    let (status, _) = w
        .send(
            &w.agent,
            conv,
            json!({"type": "text", "text": "Gerne helfe ich Ihnen."}),
        )
        .await;
    assert_eq!(status, 202);
    let sent = w.sent_to("4915100000201", 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"]["body"], "Gerne helfe ich Ihnen.");

    // Supervisors learn of the block (agent, conversation, text); agents do not.
    let (_, page) = w
        .relay
        .get(&supervisor, "/api/v1/events?after=0&limit=1000")
        .await;
    let blocked: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "policy.blocked")
        .collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["conversation_id"], conv);
    assert_eq!(blocked[0]["data"]["text"], "Heute alles K.O.S.T.E.N.L.O.S!");
    assert_eq!(blocked[0]["data"]["user_id"], 2);
    let (_, agent_page) = w
        .relay
        .get(&w.agent, "/api/v1/events?after=0&limit=1000")
        .await;
    assert!(agent_page["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["kind"] != "policy.blocked"));

    // An agent cannot allow it; a supervisor can, once, and that is audited.
    let path = format!("/api/v1/policy/blocks/{block_id}/allow");
    assert_eq!(w.relay.post(&w.agent, &path, json!({})).await.0, 403);
    let (status, msg) = w.relay.post(&supervisor, &path, json!({})).await;
    assert_eq!(status, 202, "{msg}");
    assert_eq!(msg["sender_id"], 2, "sent as the agent wrote it");
    let sent = w.sent_to("4915100000201", 2).await;
    assert_eq!(sent[1]["text"]["body"], "Heute alles K.O.S.T.E.N.L.O.S!");
    assert_eq!(w.relay.post(&supervisor, &path, json!({})).await.0, 409);
    let (_, audit) = w.relay.get(&w.admin, "/api/v1/admin/audit").await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "policy.override" && a["details"]["block_id"] == block_id));
    let (_, blocks) = w.relay.get(&supervisor, "/api/v1/policy/blocks").await;
    assert_eq!(blocks[0]["allowed_by"], 3);
    let reject = format!("/api/v1/policy/blocks/{block_id}/reject");
    assert_eq!(
        w.relay.post(&supervisor, &reject, json!({})).await.0,
        409,
        "released already"
    );

    // Another blocked message is rejected instead: never sent, not releasable afterwards, audited.
    let (status, err) = w
        .send(
            &w.agent,
            conv,
            json!({"type": "text", "text": "Alles kostenlos!"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let second = err["block_id"].as_i64().unwrap();
    let reject = format!("/api/v1/policy/blocks/{second}/reject");
    assert_eq!(w.relay.post(&w.agent, &reject, json!({})).await.0, 403);
    let (status, b) = w.relay.post(&supervisor, &reject, json!({})).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["rejected_by"], 3);
    assert!(b["allowed_by"].is_null() && b["message_id"].is_null());
    let allow = format!("/api/v1/policy/blocks/{second}/allow");
    let (status, e) = w.relay.post(&supervisor, &allow, json!({})).await;
    assert_eq!(status, 409, "{e}");
    assert!(e["message"].as_str().unwrap().contains("rejected"));
    assert_eq!(w.relay.post(&supervisor, &reject, json!({})).await.0, 409);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        w.sent_to("4915100000201", 2).await.len(),
        2,
        "nothing more was sent"
    );
    let (_, audit) = w
        .relay
        .get(&w.admin, "/api/v1/admin/audit?action=policy.reject")
        .await;
    assert_eq!(audit[0]["details"]["block_id"], second);

    // Auto-replies pass the same filter: a rule whose reply is blocked cannot even be saved.
    let (status, err) = w
        .relay
        .post(
            &w.admin,
            "/api/v1/admin/auto-replies",
            json!({"phone_number_id": PNID, "name": "Werbung", "keywords": ["angebot"], "match": "any",
                   "reply": {"text": "Jetzt gewinnen!"}}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(err["message"].as_str().unwrap().contains("Werbung"));
}

#[tokio::test]
async fn outside_the_window_free_form_is_refused_before_meta_and_templates_are_checked() {
    let w = world().await;
    let (conv, _) = w.customer_writes("4915100000301", "Hallo").await;
    // The customer last wrote 24 h and 1 s ago.
    w.relay
        .store
        .write(move |ctx| {
            Ok(ctx.conn.execute(
                "UPDATE conversations SET last_inbound_at = ?2 WHERE id = ?1",
                [conv, ctx.now - 24 * 3600 * 1000 - 1000],
            )?)
        })
        .await
        .unwrap();
    // Templates are synced from the simulator's Graph template list.
    let (status, synced) = w
        .relay
        .post(&w.admin, "/api/v1/admin/templates/sync", json!({}))
        .await;
    assert_eq!(status, 200, "{synced}");
    assert!(synced[0]["templates"].as_u64().unwrap() >= 5, "{synced}");
    let order = w.template("order_update", "de").await;
    assert_eq!(order["body_params"], 2);

    let (status, err) = w
        .send(
            &w.agent,
            conv,
            json!({"type": "text", "text": "Sind Sie noch da?"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "window_closed");
    assert!(err["message"].as_str().unwrap().contains("24 hours"));
    assert!(err["templates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "order_update"));
    let (status, err) = w
        .send(&w.agent, conv, json!({"type": "template", "template": {"name": "order_update", "language": "de", "parameters": ["Ana"]}}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(err["code"], "template_invalid");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("takes 2 parameters, 1 given"));
    let (status, err) = w
        .send(&w.agent, conv, json!({"type": "template", "template": {"name": "order_update", "language": "fr", "parameters": ["Ana", "1"]}}))
        .await;
    assert_eq!(status, 422);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("available: de, en"));
    assert!(
        w.sim.sent().await.is_empty(),
        "nothing refused reached Meta"
    );

    let (status, msg) = w
        .send(&w.agent, conv, json!({"type": "template", "template": {"name": "order_update", "language": "de", "parameters": ["Ana", "A-42"]}}))
        .await;
    assert_eq!(status, 202, "{msg}");
    let sent = w.sent_to("4915100000301", 1).await;
    assert_eq!(sent[0]["template"]["name"], "order_update");
}

#[tokio::test]
async fn outside_business_hours_the_away_message_states_the_next_opening_once() {
    let w = world().await;
    // Open only tomorrow (Berlin), 09:00-17:00: now is closed, the next opening is tomorrow 9:00.
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let tomorrow = Utc::now().with_timezone(&berlin).date_naive() + ChronoDuration::days(1);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [tomorrow.weekday().num_days_from_monday() as usize];
    let (status, body) = w
        .put(
            &w.admin,
            &format!("/api/v1/admin/business-hours/{PNID}"),
            json!({"time_zone": "Europe/Berlin", "weekly": {day: [["09:00", "17:00"]]},
                   "away_period_minutes": 60}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, err) = w
        .put(
            &w.admin,
            &format!("/api/v1/admin/business-hours/{PNID}"),
            json!({"time_zone": "Mars/Olympus", "weekly": {}}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(err["message"].as_str().unwrap().contains("Mars/Olympus"));

    let (conv, _) = w
        .customer_writes("4915100000401", "Hallo, ist jemand da?")
        .await;
    let sent = w.sent_to("4915100000401", 1).await;
    let text = sent[0]["text"]["body"].as_str().unwrap();
    assert!(
        text.contains("Sie erhalten morgen ab 9:00 Uhr eine Antwort"),
        "{text}"
    );
    // Once per conversation per period.
    w.customer_writes("4915100000401", "Hallo?").await;
    assert_eq!(w.outbound_count(conv).await, 1);
    // An English-speaking customer gets it in English.
    w.customer_writes("15550009999", "Hello, where is my order?")
        .await;
    let sent = w.sent_to("15550009999", 1).await;
    assert!(sent[0]["text"]["body"]
        .as_str()
        .unwrap()
        .contains("You will hear back from us tomorrow from 9:00."));
}

#[tokio::test]
async fn pair_rate_errors_back_off_without_loss_or_duplicates_and_the_queue_is_visible() {
    let w = world().await;
    let supervisor = w.relay.login_as("sup@example.com", Role::Supervisor).await;
    let (conv, _) = w.customer_writes("4915100000501", "Hallo").await;
    w.sim
        .add_fault(FaultRule::times(FaultKind::RateLimit { code: 131056 }, 2));
    for i in 0..3 {
        let (status, _) = w
            .send(
                &w.agent,
                conv,
                json!({"type": "text", "text": format!("Teil {i}")}),
            )
            .await;
        assert_eq!(status, 202);
    }
    let sent = w.sent_to("4915100000501", 3).await;
    let bodies: Vec<&str> = sent
        .iter()
        .map(|s| s["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Teil 0", "Teil 1", "Teil 2"],
        "in order, once each"
    );
    let metrics = w
        .relay
        .http
        .get(w.relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_send_throttled_total 2"),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_send_queue_depth_by_priority{priority=\"2\"}"));
    assert!(metrics.contains("switchboard_send_queue_wait_ms_count"));
    let (status, q) = w.relay.get(&supervisor, "/api/v1/queue").await;
    assert_eq!(status, 200, "{q}");
    assert!(q["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["phone_number_id"] == PNID));
    assert_eq!(w.relay.get(&w.agent, "/api/v1/queue").await.0, 403);
}

#[tokio::test]
async fn per_language_sensitive_words_apply_to_customers_of_that_language() {
    let w = world().await;
    let (status, body) = w
        .put(
            &w.admin,
            "/api/v1/admin/sensitive-words",
            json!({"entries": ["kostenlos"], "languages": {"de": ["Gift"], "en": []}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"entries": ["kostenlos"], "languages": {"de": ["Gift"]}})
    );

    // Bad input is a clear 422 and changes nothing.
    for (bad, says) in [
        (
            json!({"entries": ["x"], "languages": {"de-DE": ["y"]}}),
            "\"de-DE\" is not a language code",
        ),
        (
            json!({"entries": ["x"], "languages": {"DE": ["y"]}}),
            "\"DE\" is not a language code",
        ),
        (json!({"entries": ["ok", "  "]}), "entries[1] is empty"),
        (
            json!({"entries": [], "languages": {"de": ["Gift", ""]}}),
            "languages.de[1] is empty",
        ),
        (
            json!({"entries": [], "languages": {"en": ["..."]}}),
            "languages.en",
        ),
    ] {
        let (status, err) = w
            .put(&w.admin, "/api/v1/admin/sensitive-words", bad.clone())
            .await;
        assert_eq!(status, 422, "{bad}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(says),
            "{bad}: {err}"
        );
    }
    // The contract's body replaces the list for every language; the language lists stay.
    let (status, _) = w
        .put(
            &w.admin,
            "/api/v1/admin/sensitive-words",
            json!({"entries": ["kostenlos", "gewinnen"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, words) = w.relay.get(&w.admin, "/api/v1/admin/sensitive-words").await;
    assert_eq!(
        words,
        json!({"entries": ["kostenlos", "gewinnen"], "languages": {"de": ["Gift"]}})
    );

    // The German list blocks for a German customer, not for an English one.
    let (de, _) = w.customer_writes("4915100000601", "Hallo").await;
    let (en, _) = w
        .customer_writes("15550000601", "Hello, where is my order?")
        .await;
    let (status, err) = w
        .send(
            &w.agent,
            de,
            json!({"type": "text", "text": "Ein G-i-f-t für Sie"}),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["code"], "sensitive_word");
    assert_eq!(err["matched"], "Gift");
    assert_eq!(err["matched_language"], "de");
    assert!(err["message"].as_str().unwrap().contains("\"de\""), "{err}");
    let (status, msg) = w
        .send(
            &w.agent,
            en,
            json!({"type": "text", "text": "A gift for you"}),
        )
        .await;
    assert_eq!(status, 202, "{msg}");
    // The list for every language blocks for both.
    for conv in [de, en] {
        let (status, err) = w
            .send(
                &w.agent,
                conv,
                json!({"type": "text", "text": "Alles kostenlos"}),
            )
            .await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["matched"], "kostenlos");
        assert!(err.get("matched_language").is_none(), "{err}");
    }
    let sent = w.sent_to("15550000601", 1).await;
    assert_eq!(sent[0]["text"]["body"], "A gift for you");
    assert_eq!(w.outbound_count(de).await, 0);

    // Audited with the list sizes.
    let (_, audit) = w.relay.get(&w.admin, "/api/v1/admin/audit").await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "policy.sensitive_words.replace"
            && a["details"]["languages"] == json!({"de": 1})));
}

#[tokio::test]
async fn a_teams_business_hours_win_over_its_numbers() {
    let w = world().await;
    // The number is always closed and says so in its own words.
    let (status, body) = w
        .put(
            &w.admin,
            &format!("/api/v1/admin/business-hours/{PNID}"),
            json!({"time_zone": "Europe/Berlin", "weekly": {},
                   "away_message": {"de": "Nummer: wir melden uns {next_open}."}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    w.customer_writes("4915100000701", "Hallo").await;
    let sent = w.sent_to("4915100000701", 1).await;
    assert_eq!(sent[0]["text"]["body"], "Nummer: wir melden uns bald.");

    let (status, team) = w
        .relay
        .post(
            &w.admin,
            "/api/v1/admin/teams",
            json!({"name": "Nachtschicht"}),
        )
        .await;
    assert_eq!(status, 201, "{team}");
    let team = team["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/teams/{team}/business-hours");
    // The team opens tomorrow 09:00-17:00 (Berlin).
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let tomorrow = Utc::now().with_timezone(&berlin).date_naive() + ChronoDuration::days(1);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [tomorrow.weekday().num_days_from_monday() as usize];
    let hours = json!({"time_zone": "Europe/Berlin", "weekly": {day: [["09:00", "17:00"]]},
                       "away_message": {"de": "Team: Sie erhalten {next_open} eine Antwort."}});
    // Validated, admin only, and only for a team that exists.
    assert_eq!(w.put(&w.agent, &path, hours.clone()).await.0, 403);
    let (status, err) = w
        .put(
            &w.admin,
            &path,
            json!({"time_zone": "Mars/Olympus", "weekly": {}}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(err["message"].as_str().unwrap().contains("Mars/Olympus"));
    let (status, err) = w
        .put(
            &w.admin,
            "/api/v1/admin/teams/999999/business-hours",
            hours.clone(),
        )
        .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(w.relay.get(&w.admin, &path).await.0, 404);
    let (status, body) = w.put(&w.admin, &path, hours.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, got) = w.relay.get(&w.agent, &path).await;
    assert_eq!(status, 403, "{got}");
    let (status, got) = w.relay.get(&w.admin, &path).await;
    assert_eq!((status, &got["time_zone"]), (200, &json!("Europe/Berlin")));

    // The number routes to the team: its conversations follow the team's hours.
    let (status, body) = w
        .put(
            &w.admin,
            &format!("/api/v1/admin/numbers/{PNID}/routing"),
            json!({"mode": "least_loaded", "team_id": team, "sticky_days": 0,
                   "skills": {}, "priority_tags": []}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    w.customer_writes("4915100000702", "Hallo").await;
    let sent = w.sent_to("4915100000702", 1).await;
    assert_eq!(
        sent[0]["text"]["body"],
        "Team: Sie erhalten morgen ab 9:00 Uhr eine Antwort."
    );

    // A team open around the clock sends no away message, though the number is closed.
    let mut always = json!({"time_zone": "Europe/Berlin", "weekly": {}});
    for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        always["weekly"][d] = json!([["00:00", "24:00"]]);
    }
    assert_eq!(w.put(&w.admin, &path, always).await.0, 200);
    let (conv, _) = w.customer_writes("4915100000703", "Hallo").await;
    // Automations run in the job that stored the message: nothing was queued.
    assert_eq!(w.outbound_count(conv).await, 0);

    // Without team hours the number's apply again.
    let del = reqwest::Method::DELETE;
    assert_eq!(
        w.relay.call(del.clone(), &w.agent, &path, None).await.0,
        403
    );
    assert_eq!(
        w.relay.call(del.clone(), &w.admin, &path, None).await.0,
        204
    );
    // Deleting again is idempotent; a team that does not exist is 404.
    assert_eq!(
        w.relay.call(del.clone(), &w.admin, &path, None).await.0,
        204
    );
    assert_eq!(
        w.relay
            .call(
                del,
                &w.admin,
                "/api/v1/admin/teams/999999/business-hours",
                None
            )
            .await
            .0,
        404
    );
    w.customer_writes("4915100000704", "Hallo").await;
    let sent = w.sent_to("4915100000704", 1).await;
    assert_eq!(sent[0]["text"]["body"], "Nummer: wir melden uns bald.");

    let (_, audit) = w.relay.get(&w.admin, "/api/v1/admin/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"policy.team_business_hours.put"),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"policy.team_business_hours.delete"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn template_header_parameters_reach_the_simulator_and_are_validated_first() {
    let w = world().await;
    let (conv, _) = w.customer_writes("4915100000801", "Hallo").await;
    let (status, synced) = w
        .relay
        .post(&w.admin, "/api/v1/admin/templates/sync", json!({}))
        .await;
    assert_eq!(status, 200, "{synced}");
    let shipping = w.template("shipping_update", "de").await;
    assert_eq!(shipping["header_params"], 1);
    assert_eq!(shipping["header"], "Bestellung {{1}}");

    let tpl = |header: Value| {
        let mut t = json!({"name": "shipping_update", "language": "de", "parameters": ["Ana"]});
        if !header.is_null() {
            t["header_parameters"] = header;
        }
        json!({"type": "template", "template": t})
    };
    for (header, says) in [
        (Value::Null, "takes 1 header parameter, 0 given"),
        (json!(["A-1", "A-2"]), "takes 1 header parameter, 2 given"),
        (json!([" "]), "header parameter 1 is empty"),
        (json!(["x".repeat(60)]), "WhatsApp allows 60"),
    ] {
        let (status, err) = w.send(&w.agent, conv, tpl(header.clone())).await;
        assert_eq!(status, 422, "{header}: {err}");
        assert_eq!(err["code"], "template_invalid");
        assert!(err["message"].as_str().unwrap().contains(says), "{err}");
    }
    // Unknown fields are still refused.
    let (status, err) = w
        .send(
            &w.agent,
            conv,
            json!({"type": "template", "template": {"name": "shipping_update",
            "language": "de", "parameters": ["Ana"], "header_params": ["A-42"]}}),
        )
        .await;
    assert!(
        (400..500).contains(&status) && status != 404,
        "{status}: {err}"
    );
    assert!(
        w.sim.sent().await.is_empty(),
        "nothing refused reached Meta"
    );

    let (status, msg) = w.send(&w.agent, conv, tpl(json!(["A-42"]))).await;
    assert_eq!(status, 202, "{msg}");
    let sent = w.sent_to("4915100000801", 1).await;
    assert_eq!(
        sent[0]["template"]["components"],
        json!([
            {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}
        ])
    );
    // The simulator accepted it (Meta's checks passed): the message gets its wamid.
    let id = msg["id"].as_i64().unwrap();
    w.relay
        .eventually(Duration::from_secs(10), "the wamid", || async {
            w.relay
                .store
                .read(move |c| {
                    Ok(
                        c.query_row("SELECT wamid FROM messages WHERE id = ?1", [id], |r| {
                            r.get::<Option<String>>(0)
                        })?,
                    )
                })
                .await
                .unwrap()
        })
        .await;
}

#[tokio::test]
async fn the_new_admin_settings_are_in_the_openapi_spec() {
    let w = world().await;
    let (status, spec) = w.relay.get(&w.admin, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let team_hours = &spec["paths"]["/api/v1/admin/teams/{id}/business-hours"];
    for method in ["get", "put", "delete"] {
        assert!(team_hours.get(method).is_some(), "{method} team hours");
    }
    let words = &spec["components"]["schemas"]["SensitiveWords"]["properties"];
    assert!(
        words.get("entries").is_some() && words.get("languages").is_some(),
        "{words}"
    );
    let template = &spec["components"]["schemas"]["TemplateSend"]["properties"];
    assert!(template.get("header_parameters").is_some(), "{template}");
}

/// A rule is edited in place (checked as on creation), paused and resumed; "try a message"
/// answers as the rules in force would, without sending anything; every change is audited.
#[tokio::test]
async fn an_auto_reply_is_edited_paused_resumed_and_tried_against_a_sample() {
    let w = world().await;
    let body = |text: &str, paused: bool| {
        json!({"phone_number_id": PNID, "name": "Versand", "keywords": ["Versand", "Lieferung"],
               "match": "any", "reply": {"text": text}, "cooldown_seconds": 0, "paused": paused})
    };
    let (status, rule) = w
        .relay
        .post(
            &w.admin,
            "/api/v1/admin/auto-replies",
            body("Versand in 2 Tagen.", false),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    let id = rule["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/auto-replies/{id}");
    let try_it = |text: &'static str| {
        let w = &w;
        async move {
            let (s, v) = w
                .relay
                .post(
                    &w.admin,
                    "/api/v1/admin/auto-replies/test",
                    json!({"phone_number_id": PNID, "text": text}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    let v = try_it("Wie lange dauert die LIEFERUNG?").await;
    assert_eq!(v["matched"][0]["name"], "Versand");
    assert_eq!(v["reply"]["text"], "Versand in 2 Tagen.");
    assert_eq!(try_it("Guten Tag").await["matched"], json!([]));
    assert_eq!(w.sim.sent().await.len(), 0, "trying sends nothing");

    // Edited: the new text answers; a bad edit is refused and changes nothing.
    let (s, edited) = w
        .relay
        .put_json(&w.admin, &path, body("Versand heute noch!", false))
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["updated_by"], "admin@example.com");
    let (s, e) = w
        .relay
        .put_json(
            &w.admin,
            &path,
            json!({"phone_number_id": PNID, "name": "Versand", "keywords": ["(unclosed"], "match": "regex", "reply": {"text": "x"}}),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_rule")), "{e}");
    let (conv, _) = w.customer_writes("4915100000201", "Lieferung?").await;
    let sent = w.sent_to("4915100000201", 1).await;
    assert_eq!(sent[0]["text"]["body"], "Versand heute noch!");

    // Paused: nobody is answered and the try says so; resumed: answers again.
    let (s, paused) = w
        .relay
        .put_json(&w.admin, &path, body("Versand heute noch!", true))
        .await;
    assert_eq!((s, paused["paused"].as_bool()), (200, Some(true)));
    assert_eq!(try_it("Lieferung?").await["matched"], json!([]));
    let (conv2, _) = w.customer_writes("4915100000202", "Lieferung?").await;
    assert_eq!(
        w.outbound_count(conv2).await,
        0,
        "a paused rule answers nobody"
    );
    let (s, _) = w
        .relay
        .put_json(&w.admin, &path, body("Versand heute noch!", false))
        .await;
    assert_eq!(s, 200);
    let (conv3, _) = w.customer_writes("4915100000203", "Lieferung?").await;
    assert_eq!(w.outbound_count(conv3).await, 1);
    let _ = conv;

    // Agents may do none of it; an unknown rule is a 404.
    assert_eq!(
        w.relay.put_json(&w.agent, &path, body("x", false)).await.0,
        403
    );
    let (s, _) = w
        .relay
        .post(
            &w.agent,
            "/api/v1/admin/auto-replies/test",
            json!({"phone_number_id": PNID, "text": "x"}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        w.relay
            .put_json(
                &w.admin,
                "/api/v1/admin/auto-replies/999999",
                body("x", false)
            )
            .await
            .0,
        404
    );
    let (_, audit) = w
        .relay
        .get(
            &w.admin,
            "/api/v1/admin/audit?action=policy.auto_reply.update",
        )
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 3, "{audit}");
}
