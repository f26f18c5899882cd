//! Fault injection: rate limits, server and terminal errors, slow and hanging calls,
//! asynchronous failures, reordered statuses; rules from Rust and from the control API.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use switchboard_protocol::graph::SendResponse;
use switchboard_protocol::webhook::DeliveryStatus;
use switchboard_sim::{FaultKind, FaultRule};

const CUSTOMER: &str = "4915112345678";

async fn open_window(sim: &switchboard_sim::Simulator) {
    sim.customer(CUSTOMER).says("Hallo").await.unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
}

#[tokio::test]
async fn rate_limit_once_then_accepted() {
    let (sim, _rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::times(FaultKind::RateLimit { code: 130429 }, 1));

    let resp = send(&sim, text(CUSTOMER, "first")).await;
    assert!(resp.headers().contains_key("retry-after"));
    let (status, e) = graph_error(resp).await;
    assert_eq!((status, e.code), (429, 130429));
    assert_eq!(e.message, "(#130429) Rate limit hit");
    assert_eq!(e.kind.as_deref(), Some("OAuthException"));
    assert_eq!(e.error_subcode, Some(2494055));
    assert_eq!(
        e.details().as_deref(),
        Some("Cloud API message throughput has been reached.")
    );

    let resp = send(&sim, text(CUSTOMER, "second")).await;
    assert_eq!(resp.status(), 200);
    let stats = sim.stats();
    assert_eq!((stats.sends_refused_by_fault, stats.sends_accepted), (1, 1));
    assert_eq!(sim.sent().await.len(), 1, "refused sends are not recorded");
}

#[tokio::test]
async fn pair_rate_limit_filters_by_recipient() {
    let (sim, _rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::always(FaultKind::RateLimit { code: 131056 }).to("+49 151 12345678"));
    let (status, e) = graph_error(send(&sim, text(CUSTOMER, "x")).await).await;
    assert_eq!((status, e.code), (400, 131056));
    assert!(e.message.contains("pair rate limit"));
    // Other recipients are unaffected (this one gets a 200 and a later 131047).
    assert_eq!(send(&sim, text("15550009999", "y")).await.status(), 200);
    sim.clear_faults();
    assert_eq!(send(&sim, text(CUSTOMER, "z")).await.status(), 200);
}

#[tokio::test]
async fn faults_through_the_control_api() {
    let (sim, _rx) = setup().await;
    open_window(&sim).await;
    let url = format!("{}/control/faults", sim.base_url());
    let resp = client()
        .post(&url)
        .json(&json!({"kind": {"type": "server_error", "code": 131000}, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, e) = graph_error(send(&sim, text(CUSTOMER, "x")).await).await;
    assert_eq!((status, e.code), (500, 131000));

    client()
        .post(&url)
        .json(&json!({"kind": {"type": "terminal_error", "code": 131026}, "phone_number_id": PNID}))
        .send()
        .await
        .unwrap();
    let listed: Vec<FaultRule> = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![FaultRule::always(FaultKind::TerminalError { code: 131026 }).for_number(PNID)]
    );
    let (status, e) = graph_error(send(&sim, text(CUSTOMER, "x")).await).await;
    assert_eq!((status, e.code), (400, 131026));
    let (_, e) = graph_error(send(&sim, text(CUSTOMER, "x")).await).await;
    assert_eq!(e.code, 131026, "no count: every call");

    assert_eq!(client().delete(&url).send().await.unwrap().status(), 200);
    assert_eq!(send(&sim, text(CUSTOMER, "x")).await.status(), 200);

    let bad = client()
        .post(&url)
        .json(&json!({"kind": {"type": "nope"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn slow_and_hanging_sends() {
    let (sim, _rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::times(
        FaultKind::Slow(Duration::from_millis(300)),
        1,
    ));
    let started = Instant::now();
    assert_eq!(send(&sim, text(CUSTOMER, "slow")).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    sim.add_fault(FaultRule::times(FaultKind::Hang, 1));
    let hung = client()
        .post(format!("{}/v25.0/{PNID}/messages", sim.base_url()))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_millis(300))
        .json(&text(CUSTOMER, "hang"))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    assert_eq!(send(&sim, text(CUSTOMER, "after")).await.status(), 200);
}

#[tokio::test]
async fn async_failure_is_accepted_then_failed() {
    let (sim, rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::times(
        FaultKind::AsyncFailure { code: 131026 },
        1,
    ));
    let resp = send(&sim, text(CUSTOMER, "undeliverable")).await;
    assert_eq!(resp.status(), 200);
    let wamid = resp.json::<SendResponse>().await.unwrap().messages[0]
        .id
        .clone();
    let statuses = rx.wait_statuses(&wamid, 1).await;
    assert_eq!(statuses[0].status, Some(DeliveryStatus::Failed));
    assert_eq!(statuses[0].errors[0].code, 131026);
}

#[tokio::test]
async fn reorder_statuses_sends_read_first() {
    let (sim, rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::times(FaultKind::ReorderStatuses, 1));
    let wamid = send(&sim, text(CUSTOMER, "backwards"))
        .await
        .json::<SendResponse>()
        .await
        .unwrap()
        .messages[0]
        .id
        .clone();
    let statuses = rx.wait_statuses(&wamid, 3).await;
    let order: Vec<_> = statuses.iter().map(|s| s.status.unwrap()).collect();
    assert_eq!(
        order,
        vec![
            DeliveryStatus::Read,
            DeliveryStatus::Delivered,
            DeliveryStatus::Sent
        ]
    );
    // Timestamps still tell the true order.
    assert!(statuses[0].timestamp >= statuses[2].timestamp);
}

#[tokio::test]
async fn customer_messages_arrive_in_order() {
    let (sim, rx) = setup().await;
    let customer = sim.customer(CUSTOMER);
    let mut sent = Vec::new();
    for i in 0..20 {
        sent.push(customer.says(&format!("Teil {i}")).await.unwrap());
    }
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let got: Vec<String> = rx
        .all()
        .iter()
        .map(|h| h.messages()[0].id.clone())
        .collect();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn shutdown_ends_hanging_calls_and_stops_the_simulator() {
    let (sim, _rx) = setup().await;
    open_window(&sim).await;
    sim.add_fault(FaultRule::times(FaultKind::Hang, 1));
    let base = sim.base_url();
    let hung = tokio::spawn(async move {
        client()
            .post(format!("{base}/v25.0/{PNID}/messages"))
            .bearer_auth(TOKEN)
            .json(&text(CUSTOMER, "hang"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // The counted rule disappears when the handler takes it: the call is now being held.
    tokio::time::timeout(WAIT, async {
        while !sim.faults().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the send reaches the hanging handler");
    assert!(!hung.is_finished());
    sim.shutdown();
    let answered = tokio::time::timeout(WAIT, hung)
        .await
        .expect("hang ends on shutdown");
    assert_eq!(answered.unwrap().unwrap(), 503);
    assert!(sim.is_shut_down());
    assert!(matches!(
        sim.customer(CUSTOMER).says("anyone?").await,
        Err(switchboard_sim::SimError::ShutDown)
    ));
}
