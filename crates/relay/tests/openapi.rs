//! The API and its OpenAPI document agree (issue 19), through the real relay: errors name the
//! parameter or field at fault, bodies are read as JSON Schema reads them, a created resource
//! can be read where the document's links say, and the document declares what the relay
//! answers. (Schemathesis, in `scripts/api-conformance.sh`, searches the rest.)
mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_protocol::api::Role;

fn no_graph() -> String {
    "http://127.0.0.1:9".into()
}

#[tokio::test]
async fn refusals_name_the_field_and_bodies_are_read_as_json_schema_reads_them() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;

    // A query parameter out of range, a path that is no id, a body field of the wrong type.
    let (code, e) = relay.get(&ada, "/api/v1/conversations?limit=0").await;
    assert_eq!(
        (code, e["code"].as_str()),
        (400, Some("bad_request")),
        "{e}"
    );
    let (code, e) = relay.get(&ada, "/api/v1/conversations?limit=ten").await;
    assert_eq!((code, e["field"].as_str()), (400, Some("limit")), "{e}");
    let (code, e) = relay.get(&ada, "/api/v1/conversations/abc").await;
    assert_eq!((code, e["field"].as_str()), (400, Some("id")), "{e}");
    let (code, e) = relay
        .get(&ada, "/api/v1/admin/rate-limits/not-a-number")
        .await;
    assert_eq!(
        (code, e["field"].as_str()),
        (400, Some("phone_number_id")),
        "{e}"
    );
    let (code, e) = relay
        .post(
            &ada,
            "/api/v1/admin/teams",
            json!({"name": "Nord", "members": ["x"]}),
        )
        .await;
    assert_eq!(
        (code, e["field"].as_str()),
        (400, Some("members[0]")),
        "{e}"
    );

    // 3.0 is an integer (JSON Schema says so); 3.5 is not; a list is not an object.
    let (code, team) = relay
        .post(
            &ada,
            "/api/v1/admin/teams",
            json!({"name": "Süd", "members": []}),
        )
        .await;
    assert_eq!(code, 201, "{team}");
    let (code, e) = relay
        .put_json(
            &ada,
            "/api/v1/admin/routing",
            json!({"grace_period_s": 60.0, "alert_after_s": 120, "overdue_after_s": 600}),
        )
        .await;
    assert_eq!(code, 200, "{e}");
    let (code, e) = relay
        .put_json(
            &ada,
            "/api/v1/admin/routing",
            json!({"grace_period_s": 60.5, "alert_after_s": 120, "overdue_after_s": 600}),
        )
        .await;
    assert_eq!(
        (code, e["field"].as_str()),
        (400, Some("grace_period_s")),
        "{e}"
    );
    let (code, e) = relay
        .call(
            Method::PATCH,
            &ada,
            "/api/v1/admin/users/1",
            Some(json!([null, null])),
        )
        .await;
    assert_eq!(code, 400, "a list is not a user patch: {e}");

    // Every body is closed, also where the type is read leniently from responses.
    let (code, e) = relay
        .put_json(
            &ada,
            "/api/v1/admin/rate-limits/200000000000002",
            json!({"per_minute": 60, "burst": 5, "pair_interval_ms": 6000, "pair_burst": 1, "colour": "red"}),
        )
        .await;
    assert_eq!((code, e["field"].as_str()), (400, Some("colour")), "{e}");

    // No text holds U+0000 (PostgreSQL cannot store it): 400 on both back-ends, not a 500.
    let (code, e) = relay
        .get(&ada, "/api/v1/templates?phone_number_id=1%002")
        .await;
    assert_eq!(code, 400, "{e}");
    let (code, e) = relay
        .post(&ada, "/api/v1/admin/teams", json!({"name": "Nord\u{0}"}))
        .await;
    assert_eq!(code, 400, "{e}");

    // A body that is not declared as JSON is 415, and changes nothing.
    let r = relay
        .http
        .post(relay.url("/api/v1/admin/teams"))
        .bearer_auth(&ada)
        .body(r#"{"name": "West"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (_, teams) = relay.get(&ada, "/api/v1/admin/teams").await;
    assert!(!teams
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "West"));

    // The text rules the document publishes are the ones the relay applies.
    let (code, e) = relay
        .post(&ada, "/api/v1/admin/teams", json!({"name": "\u{b}"}))
        .await;
    assert_eq!(code, 422, "{e}");
    let (code, e) = relay
        .put_json(&ada, "/api/v1/contacts/1/tags", json!({"tags": ["a;b"]}))
        .await;
    assert!(code == 422 || code == 404, "{code} {e}");
}

#[tokio::test]
async fn a_created_resource_is_read_where_the_document_links_it() {
    let relay = Relay::start(&no_graph()).await;
    let ada = relay.login_as("ada@example.com", Role::Admin).await;
    let anna = relay.login_as("anna@example.com", Role::Agent).await;
    let doc = relay.openapi().await;

    // Every link points at an operation of the document, with a template the path has.
    let mut ops = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.insert(
                op["operationId"].as_str().unwrap().to_string(),
                (path.clone(), method.clone()),
            );
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.values())
                {
                    let (path, _) = &ops[link["operationId"].as_str().unwrap()];
                    for param in link["parameters"].as_object().unwrap().keys() {
                        assert!(path.contains(&format!("{{{param}}}")), "{path} {param}");
                    }
                    links += 1;
                }
            }
        }
    }
    assert!(links >= 20, "{links} links");

    // Follow the links of each creation: the resource is there, with what was created.
    let created = [
        (
            "/api/v1/admin/users",
            json!({"email": "bo@example.com", "name": "Bo", "role": "agent", "password": "Tee mit Zitrone 42"}),
            "create_user",
            "get_user",
            "name",
            "Bo",
        ),
        (
            "/api/v1/admin/roles",
            json!({"name": "Qualität", "permissions": ["monitor"]}),
            "create_role",
            "get_role",
            "name",
            "Qualität",
        ),
        (
            "/api/v1/admin/teams",
            json!({"name": "Nord"}),
            "create_team",
            "get_team",
            "name",
            "Nord",
        ),
    ];
    for (path, body, create, read, field, value) in created {
        let (code, made) = relay.post(&ada, path, body).await;
        assert_eq!(code, 201, "{made}");
        let (create_path, method) = &ops[create];
        let link = &doc["paths"][create_path][method]["responses"]["201"]["links"][read];
        assert_eq!(link["parameters"]["id"], "$response.body#/id", "{create}");
        let (read_path, _) = &ops[read];
        let url = read_path.replace("{id}", &made["id"].to_string());
        let (code, got) = relay.get(&ada, &url).await;
        assert_eq!(
            (code, got[field].as_str()),
            (200, Some(value)),
            "{url}: {got}"
        );
        // Agents read none of these, and an unknown id is 404.
        assert_eq!(relay.get(&anna, &url).await.0, 403, "{url}");
        let gone = read_path.replace("{id}", "999999");
        assert_eq!(relay.get(&ada, &gone).await.0, 404, "{gone}");
    }

    // What the document says a route answers includes what it answered above.
    let get_team = &doc["paths"]["/api/v1/admin/teams/{id}"]["get"]["responses"];
    for status in ["200", "400", "401", "403", "404"] {
        assert!(get_team.get(status).is_some(), "{status}: {get_team}");
    }
    let body: Value = doc["components"]["schemas"]["ErrorBody"].clone();
    assert!(body["properties"].get("field").is_some(), "{body}");
}
