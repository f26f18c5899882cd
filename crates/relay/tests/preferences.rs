//! Customers stop and resume marketing messages (`user_preferences` webhooks, fixtures
//! `user_preferences_stop.json` and `_resume.json`): the latest choice is kept on the customer,
//! reaches the conversation's contact snapshot and the event log, an older choice arriving late
//! changes nothing, a customer who never wrote gets a record, and unknown categories are kept as
//! account events. On both back-ends (`SWITCHBOARD_TEST_BACKEND`).

mod common;

use common::*;
use serde_json::json;
use switchboard_protocol::api::Role;
use switchboard_protocol::webhook::to_meta_json;

#[tokio::test]
async fn the_latest_marketing_choice_is_kept_on_the_customer() {
    let relay = Relay::start(&no_graph()).await;
    let sup = relay.login_as("sup@example.com", Role::Supervisor).await;
    // Before the customer ever wrote: the record is made, the choice kept.
    assert!(relay
        .post_webhook(&fixture("user_preferences_stop.json"))
        .await
        .status()
        .is_success());
    assert_eq!(
        relay.count("contacts WHERE marketing_pref = 'stop'").await,
        1
    );
    assert!(relay
        .post_webhook(&fixture("text.json"))
        .await
        .status()
        .is_success());
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    let contact = &list["items"][0]["contact"];
    assert_eq!(contact["marketing"]["choice"], "stop", "{contact}");
    assert_eq!(contact["marketing"]["at"].as_i64(), Some(1_790_000_300_000));
    assert_eq!(contact["name"], "Test User");

    assert!(relay
        .post_webhook(&fixture("user_preferences_resume.json"))
        .await
        .status()
        .is_success());
    // The stop again, redelivered late: older than the resume, so it changes nothing.
    assert!(relay
        .post_webhook(&fixture("user_preferences_stop.json"))
        .await
        .status()
        .is_success());
    let (_, list) = relay.get(&sup, "/api/v1/conversations").await;
    assert_eq!(list["items"][0]["contact"]["marketing"]["choice"], "resume");
    let (_, ev) = relay.get(&sup, "/api/v1/events?after=0&limit=200").await;
    let choices: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "contact.updated")
        .filter_map(|e| e["data"]["marketing"]["choice"].as_str())
        .collect();
    assert_eq!(choices.last(), Some(&"resume"), "{choices:?}");

    // A category this relay does not know is kept, not applied.
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "user_preferences", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "200000000000002"},
        "user_preferences": [{"wa_id": "15551234567", "category": "service_messages", "value": "stop", "timestamp": 1790000900}]}}]}]});
    assert!(relay
        .post_webhook(&to_meta_json(&body))
        .await
        .status()
        .is_success());
    assert_eq!(
        relay
            .count("account_events WHERE field = 'user_preferences'")
            .await,
        1
    );
    assert_eq!(
        relay
            .count("contacts WHERE marketing_pref = 'resume'")
            .await,
        1
    );
    // Malformed: a preference without a value is refused with the field named.
    let bad = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "user_preferences", "value": {
        "user_preferences": [{"wa_id": "15551234567", "category": "marketing_messages", "timestamp": 1790000950}]}}]}]});
    relay.post_webhook(&to_meta_json(&bad)).await;
    assert_eq!(
        relay
            .count("contacts WHERE marketing_pref = 'resume'")
            .await,
        1,
        "changes nothing"
    );
    assert_eq!(
        relay
            .count("webhook_inbox WHERE state = 'dead' AND error LIKE '%user_preferences[].value%'")
            .await,
        1,
        "kept as a dead letter naming the field"
    );
}
