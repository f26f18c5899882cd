//! Credentials per WhatsApp Business Account, through the real relay and simulator: two
//! accounts with their own access tokens (the second also in a Meta app with its own secret);
//! each number's sends carry its account's token, each account's webhooks verify with its app's
//! secret and a body signed with the wrong app's secret is refused; tokens are stored sealed
//! and never answered. On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;
use switchboard_protocol::signature::sign;
use switchboard_relay::config::NumberConfig;
use switchboard_sim::{SimAccount, SimConfig, SimNumber, Simulator};

const WABA_A: &str = "100000000000001";
const WABA_B: &str = "100000000000009";
const PN_A: &str = "200000000000002";
const PN_B: &str = "200000000000003";
const TOKEN_A: &str = "EAAG-token-of-account-A";
const TOKEN_B: &str = "EAAG-token-of-account-B";
const SECRET_B: &str = "app-secret-of-app-555";
const KEY: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

async fn two_accounts() -> (Simulator, Relay) {
    let mut config = SimConfig::new("", APP_SECRET);
    config.phone_numbers = vec![
        SimNumber::new(PN_A, "15550001111", WABA_A),
        SimNumber::new(PN_B, "15550002222", WABA_B),
    ];
    config.accounts = vec![
        SimAccount {
            waba_id: WABA_A.into(),
            access_token: TOKEN_A.into(),
            app_secret: APP_SECRET.into(),
        },
        SimAccount {
            waba_id: WABA_B.into(),
            access_token: TOKEN_B.into(),
            app_secret: SECRET_B.into(),
        },
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(config, listener).await.unwrap();
    let relay = Relay::start_with(&sim.base_url(), |c| {
        c.secret_key = Some(switchboard_relay::secrets::SecretBox::from_text(KEY).unwrap());
        c.graph_timeout = Duration::from_millis(700);
        c.numbers = vec![
            NumberConfig {
                phone_number_id: PN_A.into(),
                display_phone_number: "15550001111".into(),
                name: "Berlin".into(),
                waba_id: Some(WABA_A.into()),
            },
            NumberConfig {
                phone_number_id: PN_B.into(),
                display_phone_number: "15550002222".into(),
                name: "Agentur".into(),
                waba_id: Some(WABA_B.into()),
            },
        ];
    })
    .await;
    sim.set_webhook_url(&relay.url("/webhooks/whatsapp"));
    (sim, relay)
}

async fn conversation_on(relay: &Relay, token: &str, pnid: &str) -> i64 {
    relay
        .eventually(Duration::from_secs(5), "the conversation", || async {
            let (_, list) = relay.get(token, "/api/v1/conversations").await;
            list["items"]
                .as_array()?
                .iter()
                .find(|c| c["phone_number_id"] == pnid)?["id"]
                .as_i64()
        })
        .await
}

fn body_for(waba: &str, pnid: &str, wamid: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550002222", "phone_number_id": pnid},
            "contacts": [{"profile": {"name": "Kim"}, "wa_id": "4915199990000"}],
            "messages": [{"from": "4915199990000", "id": wamid, "timestamp": "1790000000",
                          "type": "text", "text": {"body": "Hallo"}}]
        }}]}]
    }))
    .unwrap()
}

async fn post_signed(relay: &Relay, body: &[u8], secret: &str) -> u16 {
    relay
        .http
        .post(relay.url("/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret.as_bytes(), body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn each_account_sends_with_its_token_and_verifies_with_its_apps_secret() {
    let (sim, relay) = two_accounts().await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    // Before the app is known, account B's webhooks do not verify with the relay's secret.
    sim.customer("4915100000001")
        .on(PN_B)
        .says("Hallo B")
        .await
        .unwrap();
    // Set up: app 555 with its secret, both accounts' tokens.
    let (s, e) = relay
        .call(
            reqwest::Method::PUT,
            &admin,
            "/api/v1/admin/meta-apps/555",
            Some(json!({"app_secret": SECRET_B})),
        )
        .await;
    assert_eq!(s, 204, "{e}");
    for (waba, name, app, token) in [
        (WABA_A, "Berlin", Value::Null, TOKEN_A),
        (WABA_B, "Agentur B", json!("555"), TOKEN_B),
    ] {
        let (s, a) = relay
            .put_json(
                &admin,
                &format!("/api/v1/admin/business-accounts/{waba}"),
                json!({"name": name, "app_id": app, "access_token": token}),
            )
            .await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["has_token"], true);
        assert!(
            !a.to_string().contains("EAAG"),
            "a token is never answered: {a}"
        );
    }
    // The simulator redelivers B's first webhook; now it verifies.
    sim.customer("4915100000002")
        .on(PN_A)
        .says("Hallo A")
        .await
        .unwrap();
    let conv_a = conversation_on(&relay, &admin, PN_A).await;
    let conv_b = conversation_on(&relay, &admin, PN_B).await;

    for conv in [conv_a, conv_b] {
        let (s, m) = relay
            .post(
                &admin,
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"type": "text", "text": "Danke!"}),
            )
            .await;
        assert_eq!(s, 202, "{m}");
    }
    // Each send was accepted by the simulator, which takes only the number's account's token.
    relay
        .eventually(Duration::from_secs(10), "both sends delivered", || async {
            let mut delivered = 0;
            for conv in [conv_a, conv_b] {
                let (_, msgs) = relay
                    .get(&admin, &format!("/api/v1/conversations/{conv}/messages"))
                    .await;
                let ok = msgs["items"].as_array()?.iter().any(|m| {
                    m["direction"] == "outbound"
                        && matches!(m["status"].as_str(), Some("delivered" | "read"))
                });
                delivered += usize::from(ok);
            }
            (delivered == 2).then_some(())
        })
        .await;
    let mut numbers: Vec<String> = sim
        .sent()
        .await
        .into_iter()
        .map(|m| m.phone_number_id)
        .collect();
    numbers.sort();
    assert_eq!(numbers, [PN_A, PN_B]);

    // A body about account B signed with another app's secret is refused, with its own app's
    // secret accepted; an account without an app still uses the relay's secret.
    let b = body_for(WABA_B, PN_B, "wamid.accounts-1");
    assert_eq!(post_signed(&relay, &b, APP_SECRET).await, 401);
    assert_eq!(post_signed(&relay, &b, SECRET_B).await, 200);
    // App B's secret cannot write into account A's number by naming its own account.
    let cross = body_for(WABA_B, PN_A, "wamid.accounts-4");
    assert_eq!(post_signed(&relay, &cross, SECRET_B).await, 401);
    assert_eq!(
        relay
            .count("messages WHERE wamid = 'wamid.accounts-4'")
            .await,
        0
    );
    let a = body_for(WABA_A, PN_A, "wamid.accounts-2");
    assert_eq!(post_signed(&relay, &a, SECRET_B).await, 401);
    assert_eq!(post_signed(&relay, &a, APP_SECRET).await, 200);
    // One body naming both apps' accounts cannot be verified at all.
    let mut both: Value = serde_json::from_slice(&a).unwrap();
    let mut entry_b: Value = serde_json::from_slice::<Value>(&b).unwrap()["entry"][0].clone();
    entry_b["changes"][0]["value"]["messages"][0]["id"] = json!("wamid.accounts-3");
    both["entry"].as_array_mut().unwrap().push(entry_b);
    let both = serde_json::to_vec(&both).unwrap();
    assert_eq!(post_signed(&relay, &both, APP_SECRET).await, 401);
    assert_eq!(post_signed(&relay, &both, SECRET_B).await, 401);

    // Sealed at rest, listed without secrets, audited without them.
    assert_eq!(
        relay
            .count("business_accounts WHERE token LIKE 'v1:%' AND token NOT LIKE '%EAAG%'")
            .await,
        2
    );
    assert_eq!(
        relay
            .count("meta_apps WHERE secret LIKE 'v1:%' AND secret NOT LIKE '%app-secret%'")
            .await,
        1
    );
    let (_, list) = relay.get(&admin, "/api/v1/admin/business-accounts").await;
    let b = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["waba_id"] == WABA_B)
        .unwrap();
    assert_eq!(b["app_id"], "555");
    assert_eq!(b["numbers"], json!([PN_B]));
    // A field left out is kept (the app stays, the token too); null clears it.
    let (s, b) = relay
        .put_json(
            &admin,
            &format!("/api/v1/admin/business-accounts/{WABA_B}"),
            json!({"name": "Agentur B2"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            b["name"].as_str(),
            b["app_id"].as_str(),
            b["has_token"].as_bool()
        ),
        (Some("Agentur B2"), Some("555"), Some(true))
    );
    let (_, audit) = relay.get(&admin, "/api/v1/admin/audit").await;
    let text = audit.to_string();
    assert!(text.contains("business_account.update") && text.contains("meta_app.secret"));
    assert!(
        !text.contains("EAAG") && !text.contains("app-secret-of"),
        "{text}"
    );
    // An app still in use cannot go.
    let (s, _) = relay
        .call(
            reqwest::Method::DELETE,
            &admin,
            "/api/v1/admin/meta-apps/555",
            None,
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn without_a_secret_key_no_credential_is_stored_and_bad_input_changes_nothing() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("admin@example.com", Role::Admin).await;
    let (s, e) = relay
        .put_json(
            &admin,
            "/api/v1/admin/business-accounts/100000000000001",
            json!({"access_token": "EAAG-some-token"}),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("SWITCHBOARD_SECRET_KEY"));
    // Naming only the account (no credential) works without a key.
    let (s, a) = relay
        .put_json(
            &admin,
            "/api/v1/admin/business-accounts/100000000000001",
            json!({"name": "Berlin"}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["has_token"], false);
    for (path, body) in [
        ("/api/v1/admin/business-accounts/abc", json!({"name": "x"})),
        (
            "/api/v1/admin/business-accounts/1",
            json!({"app_id": "999"}),
        ),
        (
            "/api/v1/admin/business-accounts/1",
            json!({"unknown": true}),
        ),
        (
            "/api/v1/admin/meta-apps/x1",
            json!({"app_secret": "12345678"}),
        ),
    ] {
        let (s, e) = relay.put_json(&admin, path, body).await;
        assert!(s == 422 || s == 400, "{path}: {s} {e}");
    }
    assert_eq!(relay.count("meta_apps").await, 0);
    assert_eq!(
        relay.count("business_accounts WHERE waba_id = '1'").await,
        0
    );
    // Agents may not touch credentials.
    let agent = relay.login_as("agent@example.com", Role::Agent).await;
    let (s, _) = relay.get(&agent, "/api/v1/admin/business-accounts").await;
    assert_eq!(s, 403);
}
