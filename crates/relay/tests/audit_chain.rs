//! The audit log cannot be edited quietly: `switchboard-relay admin verify-audit` (the real
//! binary, while the relay runs and after) passes on the chain the relay wrote, and fails naming
//! the entry when a row is altered in the database, a row in the middle is removed, or the newest
//! is removed. On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use serde_json::{json, Value};

const PASSWORD: &str = "audit-chain-secret";

fn verify(dir: &std::path::Path) -> (bool, String) {
    let out = common::relay_cmd(dir)
        .args(["admin", "verify-audit"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn ids(store: &switchboard_relay::store::Store) -> Vec<i64> {
    store
        .read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM audit_log ORDER BY id")?;
            let rows = stmt.query_map((), |r| r.get::<i64>(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
        .await
        .unwrap()
}

async fn sql(store: &switchboard_relay::store::Store, statement: &'static str, id: i64) {
    store
        .write(move |ctx| Ok(ctx.conn.execute(statement, (id,))?))
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_audit_passes_on_the_relays_chain_and_names_every_quiet_edit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::admin_cli(
        common::relay_cmd(d),
        &[
            "create-user",
            "--email",
            "ada@example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let (mut child, base) = common::serve_reading_address(common::relay_cmd(d), None);
    let http = reqwest::Client::new();
    let login = |email: &str, password: &str| {
        let (http, base) = (http.clone(), base.clone());
        let body = json!({"email": email, "password": password});
        async move {
            http.post(format!("{base}/api/v1/auth/login"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let ada: Value = login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let ada = ada["token"].as_str().unwrap().to_string();
    // Audited: a user created, renamed, a failed sign-in.
    let r = http
        .post(format!("{base}/api/v1/admin/users"))
        .bearer_auth(&ada)
        .json(&json!({"email": "bea@example.com", "name": "Bea", "role": "agent", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let bea: Value = r.json().await.unwrap();
    let r = http
        .patch(format!("{base}/api/v1/admin/users/{}", bea["id"]))
        .bearer_auth(&ada)
        .json(&json!({"name": "Bea Berger"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        login("bea@example.com", "wrong-password").await.status(),
        401
    );

    // While the relay runs, the chain holds.
    let (ok, text) = verify(d);
    assert!(ok, "{text}");
    let entries: usize = text
        .split("intact: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no entry count in {text:?}"));
    assert!(entries >= 4, "{text}");
    child.kill().unwrap();
    let _ = child.wait();

    // The binary's store: its SQLite file in the data directory, or the test's PostgreSQL schema.
    let store = match common::test_database(d) {
        Some(url) => switchboard_relay::store::Store::open_postgres(&url).unwrap(),
        None => switchboard_relay::store::Store::open(&d.join("switchboard.db")).unwrap(),
    };
    let ids = ids(&store).await;
    assert_eq!(ids.len(), entries);

    // One entry's details altered: named; put back: the chain holds again.
    let original: String = {
        let id = ids[1];
        store
            .read(move |c| {
                Ok(
                    c.query_row("SELECT details FROM audit_log WHERE id = ?1", (id,), |r| {
                        r.get(0)
                    })?,
                )
            })
            .await
            .unwrap()
    };
    sql(
        &store,
        "UPDATE audit_log SET details = '{\"forged\":true}' WHERE id = ?1",
        ids[1],
    )
    .await;
    let (ok, text) = verify(d);
    assert!(!ok, "an altered entry passed: {text}");
    assert!(text.contains(&format!("entry {} ", ids[1])), "{text}");
    let (id, back) = (ids[1], original.clone());
    store
        .write(move |ctx| {
            Ok(ctx.conn.execute(
                "UPDATE audit_log SET details = ?1 WHERE id = ?2",
                (back, id),
            )?)
        })
        .await
        .unwrap();
    assert!(verify(d).0, "the restored entry should pass");

    // The time of an entry changed: named.
    sql(
        &store,
        "UPDATE audit_log SET at = at + 1 WHERE id = ?1",
        ids[2],
    )
    .await;
    let (ok, text) = verify(d);
    assert!(
        !ok && text.contains(&format!("entry {} ", ids[2])),
        "{text}"
    );
    sql(
        &store,
        "UPDATE audit_log SET at = at - 1 WHERE id = ?1",
        ids[2],
    )
    .await;
    assert!(verify(d).0);

    // The newest entry removed: the head says so.
    sql(
        &store,
        "DELETE FROM audit_log WHERE id = ?1",
        ids[ids.len() - 1],
    )
    .await;
    let (ok, text) = verify(d);
    assert!(
        !ok && text.contains("newest entries were removed"),
        "{text}"
    );

    // An entry in the middle removed: its successor is named.
    sql(&store, "DELETE FROM audit_log WHERE id = ?1", ids[1]).await;
    let (ok, text) = verify(d);
    assert!(
        !ok && text.contains(&format!("entry {} ", ids[2])),
        "{text}"
    );
    store.close();
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports_csv_that_a_spreadsheet_shows_as_text() {
    use common::*;
    use switchboard_protocol::api::Role;
    let relay = Relay::start(&no_graph()).await;
    // An admin whose email a spreadsheet would take for a formula.
    let ada = relay.login_as("=1+2@example.com", Role::Admin).await;
    for i in 0..3 {
        let (s, _) = relay
            .post(
                &ada,
                "/api/v1/admin/roles",
                json!({"name": format!("Rolle {i}"), "permissions": []}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (s, _) = relay
        .post(
            &ada,
            "/api/v1/admin/users",
            json!({"email": "bea@example.com", "name": "Bea", "role": "Rolle 0", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201);
    let actions = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };

    let (s, all) = relay.get(&ada, "/api/v1/admin/audit").await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(
        actions(&all),
        [
            "user.create",
            "role.create",
            "role.create",
            "role.create",
            "login"
        ]
    );
    let (_, roles) = relay.get(&ada, "/api/v1/admin/audit?action=role.").await;
    assert_eq!(actions(&roles).len(), 3);
    let (_, none) = relay.get(&ada, "/api/v1/admin/audit?action=role_").await;
    assert_eq!(
        actions(&none).len(),
        0,
        "`_` is a character, not a wildcard"
    );
    let (_, mine) = relay
        .get(
            &ada,
            "/api/v1/admin/audit?actor=%3D1%2B2%40example.com&limit=2",
        )
        .await;
    assert_eq!(actions(&mine).len(), 2);
    let before = mine[1]["id"].as_i64().unwrap();
    let (_, rest) = relay
        .get(
            &ada,
            &format!("/api/v1/admin/audit?actor=%3D1%2B2%40example.com&before={before}"),
        )
        .await;
    assert_eq!(actions(&rest), ["role.create", "role.create", "login"]);
    let newest = all[0]["at"].as_i64().unwrap();
    let (_, later) = relay
        .get(&ada, &format!("/api/v1/admin/audit?since={}", newest + 1))
        .await;
    assert_eq!(actions(&later).len(), 0);
    let (_, upto) = relay
        .get(&ada, &format!("/api/v1/admin/audit?until={}", newest + 1))
        .await;
    assert_eq!(actions(&upto).len(), 5);
    let (s, empty) = relay.get(&ada, "/api/v1/admin/audit?since=5&until=5").await;
    assert_eq!(
        (s, actions(&empty).len()),
        (200, 0),
        "an empty period holds nothing"
    );
    for bad in [
        "limit=0",
        "limit=1001",
        "colour=red",
        &format!("actor={}", "x".repeat(255)),
    ] {
        let (s, e) = relay.get(&ada, &format!("/api/v1/admin/audit?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {e}");
    }

    // The CSV export: a download, every entry, formulas defused; the export is audited.
    let r = relay
        .http
        .get(relay.url("/api/v1/admin/audit/export"))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,at,actor,action,details"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows.iter().all(|r| r.contains(",'=1+2@example.com,")),
        "{text}"
    );
    let (_, after) = relay.get(&ada, "/api/v1/admin/audit?limit=1").await;
    assert_eq!(actions(&after), ["audit.export"]);
    assert_eq!(after[0]["details"]["entries"], 5);
}
