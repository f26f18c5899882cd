//! Sessions and the user lifecycle against the real relay over HTTP and WebSocket: logout
//! (whatever the case of `Bearer`), deactivation, role changes and password resets end every
//! session at once and close open streams; one's own sessions can be listed and ended; idle
//! sessions expire; the password policy and the last-admin rule hold; failed sign-ins and
//! lockouts are audited; expired bookkeeping is purged.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

async fn open_stream(relay: &Relay, token: &str) -> Ws {
    connect_stream(relay, token).await.unwrap()
}

async fn status(relay: &Relay, token: &str, path: &str) -> u16 {
    relay.get(token, path).await.0
}

#[tokio::test]
async fn logout_with_lowercase_bearer_ends_the_session_and_closes_its_stream() {
    let relay = Relay::start(&no_graph()).await;
    let token = relay.login_as("anna@example.com", Role::Agent).await;
    let other = relay.login("anna@example.com", "password123").await.token;
    let mut ws = open_stream(&relay, &token).await;
    let mut other_ws = open_stream(&relay, &other).await;

    let r = relay
        .http
        .post(relay.url("/api/v1/auth/logout"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(status(&relay, &token, "/api/v1/me").await, 401);
    assert_eq!(
        closed_within(&mut ws, Duration::from_secs(5)).await,
        Some(1008)
    );
    // The other session of the same person goes on.
    assert_eq!(status(&relay, &other, "/api/v1/me").await, 200);
    stays_open(&mut other_ws, Duration::from_millis(1500)).await;
}

#[tokio::test]
async fn deactivating_a_user_ends_everything_at_once_and_they_cannot_sign_in() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let ben_id = relay.user("ben@example.com", Role::Agent).await;
    let ben1 = relay.login("ben@example.com", "password123").await.token;
    let ben2 = relay.login("ben@example.com", "password123").await.token;
    let mut ws1 = open_stream(&relay, &ben1).await;
    let mut ws2 = open_stream(&relay, &ben2).await;

    let (code, account) = relay
        .call(
            Method::PATCH,
            &admin,
            &format!("/api/v1/admin/users/{ben_id}"),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(code, 200, "{account}");
    assert_eq!(account["active"], false);
    assert_eq!(account["sessions"], 0);
    for t in [&ben1, &ben2] {
        assert_eq!(status(&relay, t, "/api/v1/conversations").await, 401);
    }
    assert_eq!(
        closed_within(&mut ws1, Duration::from_secs(5)).await,
        Some(1008)
    );
    assert_eq!(
        closed_within(&mut ws2, Duration::from_secs(5)).await,
        Some(1008)
    );
    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .json(&json!({"email": "ben@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a deactivated user cannot sign in");

    // Active again: Ben signs in; the admin's own session was never touched.
    let (code, _) = relay
        .call(
            Method::PATCH,
            &admin,
            &format!("/api/v1/admin/users/{ben_id}"),
            Some(json!({"active": true, "name": "Ben Berger"})),
        )
        .await;
    assert_eq!(code, 200);
    let again = relay.login("ben@example.com", "password123").await;
    assert_eq!(again.user.name, "Ben Berger");
    assert_eq!(status(&relay, &admin, "/api/v1/me").await, 200);
    let audit = relay.get(&admin, "/api/v1/admin/audit").await.1;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "user.update" && e["details"]["sessions_ended"] == 2));
}

#[tokio::test]
async fn a_role_change_and_a_password_reset_end_sessions_a_name_change_does_not() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    let ben_id = relay.user("ben@example.com", Role::Agent).await;
    let path = format!("/api/v1/admin/users/{ben_id}");

    let ben = relay.login("ben@example.com", "password123").await.token;
    let (code, _) = relay
        .call(
            Method::PATCH,
            &admin,
            &path,
            Some(json!({"name": "Ben B."})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(status(&relay, &ben, "/api/v1/me").await, 200);

    let mut ws = open_stream(&relay, &ben).await;
    let (code, account) = relay
        .call(
            Method::PATCH,
            &admin,
            &path,
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!((code, account["role"].as_str()), (200, Some("supervisor")));
    assert_eq!(status(&relay, &ben, "/api/v1/me").await, 401);
    assert_eq!(
        closed_within(&mut ws, Duration::from_secs(5)).await,
        Some(1008)
    );

    let ben = relay.login("ben@example.com", "password123").await.token;
    let (code, body) = relay
        .post(
            &admin,
            &format!("{path}/password"),
            json!({"password": "Password2026!"}),
        )
        .await;
    assert_eq!((code, body["code"].as_str()), (422, Some("weak_password")));
    assert_eq!(
        status(&relay, &ben, "/api/v1/me").await,
        200,
        "a refused reset changes nothing"
    );
    let (code, _) = relay
        .post(
            &admin,
            &format!("{path}/password"),
            json!({"password": "Tee mit Zitrone 42"}),
        )
        .await;
    assert_eq!(code, 204);
    assert_eq!(status(&relay, &ben, "/api/v1/me").await, 401);
    relay.login("ben@example.com", "Tee mit Zitrone 42").await;

    // An admin cannot lock themselves out: no self-deactivation, no own role change; setting
    // their own password keeps the session they set it from.
    let ada_id = relay.get(&admin, "/api/v1/me").await.1["id"]
        .as_i64()
        .unwrap();
    let own = format!("/api/v1/admin/users/{ada_id}");
    for patch in [json!({"active": false}), json!({"role": "agent"})] {
        let (code, body) = relay.call(Method::PATCH, &admin, &own, Some(patch)).await;
        assert_eq!((code, body["code"].as_str()), (409, Some("own_account")));
    }
    let elsewhere = relay.login("ada@example.com", "password123").await.token;
    let (code, _) = relay
        .post(
            &admin,
            &format!("{own}/password"),
            json!({"password": "Tee mit Zitrone 43"}),
        )
        .await;
    assert_eq!(code, 204);
    assert_eq!(status(&relay, &elsewhere, "/api/v1/me").await, 401);
    relay.login("ada@example.com", "Tee mit Zitrone 43").await;
    let (code, me) = relay.get(&admin, "/api/v1/me").await;
    assert_eq!((code, me["role"].as_str()), (200, Some("admin")));
    let (code, _) = relay
        .call(Method::PATCH, &admin, &own, Some(json!({"name": "Ada L."})))
        .await;
    assert_eq!(code, 200, "renaming oneself is fine");

    // Bad input: unknown fields, an empty name, an unknown user.
    let (code, _) = relay
        .call(
            Method::PATCH,
            &admin,
            &path,
            Some(json!({"email": "x@y.z"})),
        )
        .await;
    assert_eq!(code, 400);
    let (code, _) = relay
        .call(Method::PATCH, &admin, &path, Some(json!({"name": "  "})))
        .await;
    assert_eq!(code, 422);
    let (code, _) = relay
        .call(
            Method::PATCH,
            &admin,
            "/api/v1/admin/users/99999",
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(code, 404);
    // Only admins.
    let (code, _) = relay
        .call(
            Method::PATCH,
            &relay
                .login("ben@example.com", "Tee mit Zitrone 42")
                .await
                .token,
            &path,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(code, 403);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;
    let ada_id = relay.get(&ada, "/api/v1/me").await.1["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/admin/users/{ada_id}");
    for change in [json!({"active": false}), json!({"role": "agent"})] {
        let (code, body) = relay.call(Method::PATCH, &ada, &path, Some(change)).await;
        assert_eq!(code, 409, "{body}");
    }
    assert_eq!(status(&relay, &ada, "/api/v1/me").await, 200);
    // With a second admin, that admin may demote her (no one demotes themselves).
    relay.user("bea@example.com", Role::Admin).await;
    let (code, body) = relay
        .call(
            Method::PATCH,
            &ada,
            &path,
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!((code, body["code"].as_str()), (409, Some("own_account")));
    let bea = relay.login("bea@example.com", "password123").await.token;
    let (code, _) = relay
        .call(
            Method::PATCH,
            &bea,
            &path,
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn ones_own_sessions_are_listed_and_any_can_be_ended() {
    let relay = Relay::start(&no_graph()).await;
    let laptop = relay.login_as("anna@example.com", Role::Agent).await;
    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .header("user-agent", "Switchboard Desktop/1.0 (Windows)")
        .json(&json!({"email": "anna@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    let office: Value = r.json().await.unwrap();
    let office = office["token"].as_str().unwrap().to_string();
    let mut office_ws = open_stream(&relay, &office).await;

    let (code, list) = relay.get(&laptop, "/api/v1/me/sessions").await;
    assert_eq!(code, 200);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "Switchboard Desktop/1.0 (Windows)");
    assert_eq!(other["ip"], "127.0.0.1");

    // The session making the request is ended by signing out, not from this list.
    let mine = current[0]["id"].as_i64().unwrap();
    let (code, body) = relay
        .call(
            Method::DELETE,
            &laptop,
            &format!("/api/v1/me/sessions/{mine}"),
            None,
        )
        .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (409, Some("current_session"))
    );
    assert_eq!(status(&relay, &laptop, "/api/v1/me").await, 200);

    let id = other["id"].as_i64().unwrap();
    let (code, _) = relay
        .call(
            Method::DELETE,
            &laptop,
            &format!("/api/v1/me/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(code, 204);
    assert_eq!(status(&relay, &office, "/api/v1/me").await, 401);
    assert_eq!(
        closed_within(&mut office_ws, Duration::from_secs(5)).await,
        Some(1008)
    );
    assert_eq!(status(&relay, &laptop, "/api/v1/me").await, 200);
    // Someone else's session id is not found, and not ended.
    let ben = relay.login_as("ben@example.com", Role::Agent).await;
    let ben_sid = relay.get(&ben, "/api/v1/me/sessions").await.1[0]["id"]
        .as_i64()
        .unwrap();
    let (code, _) = relay
        .call(
            Method::DELETE,
            &laptop,
            &format!("/api/v1/me/sessions/{ben_sid}"),
            None,
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(status(&relay, &ben, "/api/v1/me").await, 200);
}

#[tokio::test]
async fn changing_ones_password_keeps_this_session_and_ends_the_others() {
    let relay = Relay::start(&no_graph()).await;
    let here = relay.login_as("anna@example.com", Role::Agent).await;
    let there = relay.login("anna@example.com", "password123").await.token;
    let (code, _) = relay
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "wrong", "new_password": "Tee mit Zitrone 42"}),
        )
        .await;
    assert_eq!(code, 403);
    let (code, body) = relay
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "password123", "new_password": "anna@example.com"}),
        )
        .await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(
        status(&relay, &there, "/api/v1/me").await,
        200,
        "refusals change nothing"
    );
    let (code, _) = relay
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "password123", "new_password": "Tee mit Zitrone 42"}),
        )
        .await;
    assert_eq!(code, 204);
    assert_eq!(status(&relay, &here, "/api/v1/me").await, 200);
    assert_eq!(status(&relay, &there, "/api/v1/me").await, 401);
    relay.login("anna@example.com", "Tee mit Zitrone 42").await;
}

#[tokio::test]
async fn an_idle_session_expires_and_is_purged() {
    let relay = Relay::start_with(&no_graph(), |c| {
        c.session_idle = Duration::from_secs(2);
    })
    .await;
    let token = relay.login_as("anna@example.com", Role::Agent).await;
    assert_eq!(status(&relay, &token, "/api/v1/me").await, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(status(&relay, &token, "/api/v1/me").await, 401);
    // The purge removes it (and old idempotency keys) for good.
    let store = relay.store.clone();
    let purged = store
        .write(|ctx| switchboard_relay::store::users::purge(ctx.conn, ctx.now, 2000))
        .await
        .unwrap();
    assert!(purged.sessions >= 1, "{purged:?}");
    assert_eq!(relay.count("sessions").await, 0);
}

#[tokio::test]
async fn weak_passwords_are_refused_for_new_users() {
    let relay = Relay::start_with(&no_graph(), |c| c.password_min_length = 12).await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    for (password, why) in [
        ("kurz", "at least 12"),
        ("Sommer2026!!", "too common"),
        ("qwertzuiop12", "too common"),
        ("carl.meyer@example.com", "email"),
    ] {
        let (code, body) = relay
            .post(
                &admin,
                "/api/v1/admin/users",
                json!({"email": "carl.meyer@example.com", "name": "Carl", "role": "agent", "password": password}),
            )
            .await;
        assert_eq!(code, 422, "{password}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{body}");
        assert!(!body.to_string().contains(password) || password.contains('@'));
    }
    assert_eq!(
        relay
            .count("users WHERE email = 'carl.meyer@example.com'")
            .await,
        0
    );
    let (code, _) = relay
        .post(
            &admin,
            "/api/v1/admin/users",
            json!({"email": "carl.meyer@example.com", "name": "Carl", "role": "agent", "password": "Kaffee am Fenster"}),
        )
        .await;
    assert_eq!(code, 201);
}

#[tokio::test]
async fn failed_sign_ins_and_lockouts_are_audited_and_long_emails_refused() {
    let relay = Relay::start_with(&no_graph(), |c| c.login_attempts_per_minute = 3).await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    relay.user("ben@example.com", Role::Agent).await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = relay
            .http
            .post(relay.url("/api/v1/auth/login"))
            .json(&json!({"email": "ben@example.com", "password": "guess"}))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert!(codes.contains(&401) && codes.contains(&429), "{codes:?}");
    let audit = relay.get(&admin, "/api/v1/admin/audit").await.1;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "ben@example.com")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let failed = actions.iter().filter(|a| **a == "login.failed").count();
    let locked = actions.iter().filter(|a| **a == "login.locked").count();
    assert!(failed >= 2, "{actions:?}");
    assert_eq!(locked, 1, "a lockout is audited once a minute: {actions:?}");

    let r = relay
        .http
        .post(relay.url("/api/v1/auth/login"))
        .json(&json!({"email": format!("{}@example.com", "a".repeat(1_000_000)), "password": "x"}))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 400 || r.status() == 413, "{}", r.status());
}

#[tokio::test]
async fn admins_list_users_with_their_state() {
    let relay = Relay::start(&no_graph()).await;
    let admin = relay.login_as("ada@example.com", Role::Admin).await;
    relay.login_as("ben@example.com", Role::Agent).await;
    let (code, users) = relay.get(&admin, "/api/v1/admin/users").await;
    assert_eq!(code, 200);
    let ben = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ben@example.com")
        .unwrap();
    assert_eq!(
        (ben["active"].as_bool(), ben["sessions"].as_i64()),
        (Some(true), Some(1))
    );
}
