//! Roles as sets of permissions: listed, created, changed and deleted by those allowed; every
//! route of the permission table answers 403 to a role without its permission (before reading
//! the body), and every admin route is in the table; a change takes effect on the next request
//! without signing in again; the event log and the stream of a role without
//! `see_all_conversations` carry nothing of a colleague's conversation. On both back-ends.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use switchboard_protocol::api::{Permission, Role};
use switchboard_relay::api::access::{needs, RULES};

async fn role_id(relay: &Relay, admin: &str, name: &str) -> i64 {
    let (s, roles) = relay.get(admin, "/api/v1/admin/roles").await;
    assert_eq!(s, 200, "{roles}");
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no role {name}: {roles}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn roles_are_managed_and_a_change_applies_on_the_next_request() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;

    let (s, perms) = relay.get(&ada, "/api/v1/admin/permissions").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = perms
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), Permission::ALL.len());
    assert!(names.contains(&"monitor") && names.contains(&"see_all_conversations"));
    assert!(perms[0]["description"].as_str().unwrap().len() > 10);

    let (_, roles) = relay.get(&ada, "/api/v1/admin/roles").await;
    let builtin: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["builtin"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(builtin, vec!["agent", "supervisor", "admin"]);

    // A custom role; clear refusals that change nothing.
    let (s, q) = relay
        .post(
            &ada,
            "/api/v1/admin/roles",
            json!({"name": " Qualität ", "permissions": ["monitor", "monitor"]}),
        )
        .await;
    assert_eq!(s, 201, "{q}");
    assert_eq!(q["name"], "Qualität");
    assert_eq!(q["permissions"], json!(["monitor"]));
    let q_id = q["id"].as_i64().unwrap();
    for (body, status) in [
        (json!({"name": "QUALITÄT", "permissions": []}), 409),
        (json!({"name": "<b>x</b>", "permissions": []}), 422),
        (json!({"name": "", "permissions": []}), 422),
        (json!({"name": "x", "permissions": ["fly"]}), 400),
        (json!({"name": "x", "permissions": [], "extra": 1}), 400),
    ] {
        let (s, e) = relay.post(&ada, "/api/v1/admin/roles", body.clone()).await;
        assert_eq!(s, status, "{body} -> {e}");
    }
    let agent_id = role_id(&relay, &ada, "agent").await;
    let (s, _) = relay
        .call(
            Method::PATCH,
            &ada,
            &format!("/api/v1/admin/roles/{agent_id}"),
            Some(json!({"name": "staff"})),
        )
        .await;
    assert_eq!(s, 409, "a predefined role keeps its name");
    let (s, _) = relay
        .call(
            Method::DELETE,
            &ada,
            &format!("/api/v1/admin/roles/{agent_id}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "a predefined role stays");
    let admin_id = role_id(&relay, &ada, "admin").await;
    let (s, e) = relay
        .call(
            Method::PATCH,
            &ada,
            &format!("/api/v1/admin/roles/{admin_id}"),
            Some(json!({"permissions": ["monitor"]})),
        )
        .await;
    assert_eq!(s, 409, "no one could manage users any more: {e}");
    let (_, roles_after) = relay.get(&ada, "/api/v1/admin/roles").await;
    assert!(roles_after
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "admin"
            && r["permissions"].as_array().unwrap().len() == Permission::ALL.len()));

    // A user of the role: what /me says, what the relay allows.
    let (s, u) = relay
        .post(
            &ada,
            "/api/v1/admin/users",
            json!({"email": "quinn@example.com", "name": "Quinn", "role": "Qualität", "password": "Quali-Taet-2026"}),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let (s, e) = relay
        .post(
            &ada,
            "/api/v1/admin/users",
            json!({"email": "x@example.com", "name": "X", "role": "nobody", "password": "Quali-Taet-2026"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let quinn = relay
        .login("quinn@example.com", "Quali-Taet-2026")
        .await
        .token;
    let (_, me) = relay.get(&quinn, "/api/v1/me").await;
    assert_eq!(me["role"], "Qualität");
    assert_eq!(me["permissions"], json!(["monitor"]));
    assert_eq!(relay.get(&quinn, "/api/v1/monitor").await.0, 200);
    assert_eq!(relay.get(&quinn, "/api/v1/admin/audit").await.0, 403);

    // Granted and taken: the same token, the next request.
    let (s, r) = relay
        .call(
            Method::PATCH,
            &ada,
            &format!("/api/v1/admin/roles/{q_id}"),
            Some(json!({"name": "Quality", "permissions": ["view_audit"]})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["users"], 1);
    assert_eq!(relay.get(&quinn, "/api/v1/admin/audit").await.0, 200);
    assert_eq!(relay.get(&quinn, "/api/v1/monitor").await.0, 403);
    assert_eq!(relay.get(&quinn, "/api/v1/me").await.1["role"], "Quality");

    // A role someone holds is not deleted; once no one does, it is.
    let path = format!("/api/v1/admin/roles/{q_id}");
    assert_eq!(relay.call(Method::DELETE, &ada, &path, None).await.0, 409);
    let (s, _) = relay
        .call(
            Method::PATCH,
            &ada,
            &format!("/api/v1/admin/users/{}", u["id"]),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(relay.call(Method::DELETE, &ada, &path, None).await.0, 204);

    // The audit log has each change.
    let (_, audit) = relay.get(&ada, "/api/v1/admin/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["role.create", "role.update", "role.delete"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn a_role_without_a_permission_gets_403_on_every_route_that_needs_it() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;

    // Every admin route of the document is in the permission table, and the document says so.
    let spec = relay.openapi().await;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let m: Method = method.to_uppercase().parse().unwrap();
            // Administration and supervision: none of it without a permission.
            let guarded = [
                "/api/v1/admin/",
                "/api/v1/policy/",
                "/api/v1/monitor",
                "/api/v1/queue",
            ];
            if guarded.iter().any(|p| path.starts_with(p)) {
                assert!(
                    needs(&m, path).is_some(),
                    "{method} {path} is not in the permission table"
                );
            }
            if needs(&m, path).is_some() {
                assert!(op["responses"]["403"].is_object(), "{method} {path}");
                assert!(op["description"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Needs the permission"));
            }
        }
    }
    for r in RULES {
        let documented = spec["paths"][r.path][r.method.as_str().to_lowercase()].is_object();
        assert!(
            documented,
            "{} {} is in the table but not a route",
            r.method, r.path
        );
    }

    // For each rule: a role with every permission but the rule's gets 403, body or not.
    let mut roles_made = std::collections::HashMap::new();
    for (i, rule) in RULES.iter().enumerate() {
        let without: Vec<&str> = Permission::ALL
            .into_iter()
            .filter(|p| !rule.any_of.contains(p))
            .map(|p| p.as_str())
            .collect();
        let key = without.join(",");
        let token = match roles_made.get(&key) {
            Some(t) => String::clone(t),
            None => {
                let name = format!("without-{i}");
                let (s, e) = relay
                    .post(
                        &ada,
                        "/api/v1/admin/roles",
                        json!({"name": name, "permissions": without}),
                    )
                    .await;
                assert_eq!(s, 201, "{e}");
                let email = format!("u{i}@example.com");
                let token = relay.login_as(&email, &name).await;
                roles_made.insert(key, token.clone());
                token
            }
        };
        let path = rule.path_with_ids();
        let body = (rule.method != Method::GET && rule.method != Method::DELETE).then(|| json!({}));
        let (s, e) = relay
            .call(rule.method.clone(), &token, &path, body.clone())
            .await;
        assert_eq!(
            s, 403,
            "{} {path} without {:?}: {e}",
            rule.method, rule.any_of
        );
        assert_eq!(e["code"], "forbidden");
        // The admin gets past the check (the empty body may then be refused, never with 403).
        let (s, e) = relay.call(rule.method.clone(), &ada, &path, body).await;
        assert_ne!(s, 403, "{} {path} as admin: {e}", rule.method);
        assert_ne!(s, 401);
    }
}

/// Whether the stream carries the customer's second message within 2 s.
async fn seen_by(ws: &mut Ws) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if frame.to_text().unwrap_or("").contains("vertrauliche Frage") {
            return true;
        }
    }
    false
}

/// Ids to put into a rule's path template (nothing needs to exist: permissions come first).
trait WithIds {
    fn path_with_ids(&self) -> String;
}

impl WithIds for switchboard_relay::api::access::Rule {
    fn path_with_ids(&self) -> String {
        self.path
            .replace("{id}", "999999")
            .replace("{phone_number_id}", "200000000000002")
    }
}

#[tokio::test]
async fn without_see_all_conversations_the_log_and_the_stream_hold_nothing_of_a_colleague() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;
    let anna_id = relay.user("anna@example.com", Role::Agent).await;
    let (s, _) = relay
        .post(
            &ada,
            "/api/v1/admin/roles",
            json!({"name": "Lead", "permissions": ["monitor", "reassign"]}),
        )
        .await;
    assert_eq!(s, 201);
    let lea = relay.login_as("lea@example.com", "Lead").await;

    relay
        .post_webhook(&text_body(
            "4917600000001",
            "wamid.r1",
            "Vertrauliche Anfrage",
        ))
        .await;
    let (_, list) = relay.get(&ada, "/api/v1/conversations").await;
    let conv = list["items"][0]["id"].as_i64().unwrap();
    let (s, _) = relay
        .post(
            &ada,
            &format!("/api/v1/conversations/{conv}/assign"),
            json!({"agent_id": anna_id, "force": true}),
        )
        .await;
    assert_eq!(s, 200);

    // Lea sees the monitor but not Anna's conversation: not in the list, not by id, not in the log.
    assert_eq!(relay.get(&lea, "/api/v1/monitor").await.0, 200);
    let (_, list) = relay.get(&lea, "/api/v1/conversations").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    assert_eq!(
        relay
            .get(&lea, &format!("/api/v1/conversations/{conv}"))
            .await
            .0,
        404
    );
    // (While it was unassigned every agent could see it; the log keeps the conversation's own
    // updates so her client learns it left, and none of its messages.)
    let (_, page) = relay.get(&lea, "/api/v1/events?after=0&limit=500").await;
    let message_events = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message.created")
        .count();
    assert_eq!(message_events, 0, "{page}");

    // Live: the customer writes again; the admin's stream gets it, Lea's does not.
    let mut lea_ws = connect_stream(&relay, &lea).await.unwrap();
    let mut ada_ws = connect_stream(&relay, &ada).await.unwrap();
    relay
        .post_webhook(&text_body(
            "4917600000001",
            "wamid.r2",
            "Noch eine vertrauliche Frage",
        ))
        .await;
    assert!(
        seen_by(&mut ada_ws).await,
        "the admin's stream should carry it"
    );
    assert!(
        !seen_by(&mut lea_ws).await,
        "Lea's stream carried a colleague's message"
    );
    let (_, page) = relay.get(&lea, "/api/v1/events?after=0&limit=500").await;
    assert!(!page.to_string().contains("vertrauliche Frage"), "{page}");

    // With see_all_conversations granted, the next request shows it; her stream is reopened.
    let lead = role_id(&relay, &ada, "Lead").await;
    let (s, _) = relay
        .call(
            Method::PATCH,
            &ada,
            &format!("/api/v1/admin/roles/{lead}"),
            Some(json!({"permissions": ["monitor", "reassign", "see_all_conversations"]})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, list) = relay.get(&lea, "/api/v1/conversations").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, page) = relay.get(&lea, "/api/v1/events?after=0&limit=500").await;
    assert!(page.to_string().contains("vertrauliche Frage"), "{page}");
}
