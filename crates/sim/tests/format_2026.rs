//! The simulator speaks Meta's 2026 format by default (every customer with a BSUID, statuses
//! with `contacts` and `recipient_user_id`, usernames hiding phone numbers, `played` for voice
//! messages, tested with media) and the pre-2026 one when asked; and it produces the Coexistence webhooks (echoes,
//! history, contact sync) as a third-party client would parse them.

mod common;

use common::*;
use switchboard_protocol::webhook::Change;
use switchboard_sim::{HistoryChunk, HistoryItem, PhoneAppMessage, WebhookFormat};

#[tokio::test]
async fn every_customer_carries_a_bsuid_and_statuses_name_the_recipient() {
    let (sim, rx) = setup().await;
    sim.customer("4915112345678").says("Hallo").await.unwrap();
    let got = rx.wait_for(1).await;
    let value = got[0].changes().next().unwrap().clone();
    let bsuid = value.contacts[0]
        .user_id
        .clone()
        .expect("user_id on every contact");
    assert!(bsuid.starts_with("DE."), "{bsuid}");
    assert_eq!(
        value.messages[0].from_user_id.as_deref(),
        Some(bsuid.as_str())
    );
    // The raw JSON too, as pywa reads it (`contacts[0].user_id` unconditionally).
    assert_eq!(
        got[0].json()["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"],
        bsuid.as_str()
    );

    let r = send(&sim, text("4915112345678", "Danke")).await;
    assert_eq!(r.status(), 200);
    let wamid = r.json::<serde_json::Value>().await.unwrap()["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let statuses = rx.wait_statuses(&wamid, 3).await;
    for s in &statuses {
        assert_eq!(s.recipient_user_id.as_deref(), Some(bsuid.as_str()));
    }
    let status_hooks: Vec<_> = rx
        .all()
        .into_iter()
        .filter(|h| !h.statuses().is_empty())
        .collect();
    for h in &status_hooks {
        let contacts = &h.json()["entry"][0]["changes"][0]["value"]["contacts"];
        assert_eq!(contacts[0]["user_id"], bsuid.as_str(), "{contacts}");
    }
}

#[tokio::test]
async fn a_username_hides_the_phone_number() {
    let (sim, rx) = setup().await;
    sim.customer("4915100000002")
        .named("Kim")
        .username("kim.b")
        .says("Hi")
        .await
        .unwrap();
    let got = rx.wait_for(1).await;
    let value = got[0].changes().next().unwrap().clone();
    assert_eq!(value.contacts[0].wa_id, None);
    assert_eq!(value.contacts[0].username(), Some("kim.b"));
    assert!(value.contacts[0].user_id.is_some());
    assert_eq!(value.messages[0].from, None);
}

#[tokio::test]
async fn the_legacy_format_has_no_bsuids() {
    let rx = Receiver::start().await;
    let mut c = config(&rx.url);
    c.format = WebhookFormat::Legacy;
    let sim = start_sim(c).await;
    sim.customer("4915112345678").says("Hallo").await.unwrap();
    let got = rx.wait_for(1).await;
    let value = got[0].changes().next().unwrap().clone();
    assert_eq!(value.contacts[0].user_id, None);
    assert_eq!(value.messages[0].from_user_id, None);
}

#[tokio::test]
async fn coexistence_webhooks_parse_as_meta_documents_them() {
    let (sim, rx) = setup().await;
    sim.customer("4915112345678")
        .named("Anna")
        .says("Hallo")
        .await
        .unwrap();
    rx.wait_for(1).await;
    let wamid = sim
        .phone_app_sends(
            None,
            &PhoneAppMessage {
                to: "4915112345678".into(),
                kind: None,
                text: Some("Vom Handy".into()),
                original: None,
            },
        )
        .unwrap();
    let ids = sim
        .share_history(
            None,
            &HistoryChunk {
                wa_id: "4915112345678".into(),
                messages: vec![
                    HistoryItem {
                        from_business: false,
                        text: "Früher".into(),
                        secs_ago: 86_400,
                        status: None,
                    },
                    HistoryItem {
                        from_business: true,
                        text: "Antwort".into(),
                        secs_ago: 86_000,
                        status: Some("DELIVERED".into()),
                    },
                ],
                phase: 1,
                chunk_order: 2,
                progress: 40,
            },
        )
        .unwrap();
    sim.phone_app_contact(None, "add", "4915112345678", Some("Anna Schmidt"))
        .unwrap();
    sim.decline_history(None).unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let changes: Vec<Change> = rx
        .all()
        .into_iter()
        .filter_map(|h| h.notification)
        .flat_map(|n| n.entries.into_iter().flat_map(|e| e.changes))
        .collect();
    let echo = changes
        .iter()
        .find_map(|c| match c {
            Change::Echoes(e) => Some(e),
            _ => None,
        })
        .expect("an echo");
    assert_eq!(echo.echoes[0].message.id, wamid);
    assert_eq!(echo.echoes[0].to.as_deref(), Some("4915112345678"));
    assert!(echo.echoes[0].to_user_id.is_some());
    let histories: Vec<_> = changes
        .iter()
        .filter_map(|c| match c {
            Change::History(h) => Some(h),
            _ => None,
        })
        .collect();
    let chunk = &histories[0].chunks[0];
    assert_eq!(
        (chunk.phase, chunk.chunk_order, chunk.progress),
        (Some(1), Some(2), Some(40))
    );
    let t = &chunk.threads[0];
    let got: Vec<(&str, bool)> = t
        .messages
        .iter()
        .map(|m| (m.message.id.as_str(), m.from_business))
        .collect();
    assert_eq!(got, [(ids[0].as_str(), false), (ids[1].as_str(), true)]);
    assert_eq!(t.messages[1].status.as_deref(), Some("delivered"));
    assert_eq!(histories[1].chunks[0].errors[0].code, 2593109);
    let sync = changes
        .iter()
        .find_map(|c| match c {
            Change::StateSync(s) => Some(s),
            _ => None,
        })
        .expect("a contact sync");
    assert_eq!(sync.items[0].full_name.as_deref(), Some("Anna Schmidt"));
    assert_eq!(sync.items[0].phone_number.as_deref(), Some("4915112345678"));
    // The echo's status ladder follows, naming the customer.
    assert_eq!(rx.statuses_of(&wamid).len(), 3);
}
