//! The Graph side: sends, status ladders, the 24-hour window, templates, auth, validation,
//! mark-read and the control API's record of sends.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use serde_json::json;
use switchboard_protocol::graph::SendResponse;
use switchboard_protocol::webhook::DeliveryStatus;
use switchboard_sim::{SimNumber, StatusDelays};

const CUSTOMER: &str = "4915112345678";

#[tokio::test]
async fn send_gets_wamid_then_sent_delivered_read_in_order() {
    let (sim, rx) = setup().await;
    sim.customer(CUSTOMER)
        .named("Anna")
        .with_bsuid("DE.555")
        .says("Hallo")
        .await
        .unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);

    let mut body = text("+49 151 12345678", "Guten Tag, Anna! 😊");
    body["biz_opaque_callback_data"] = json!("conv-7|msg-9");
    let resp = send(&sim, body.clone()).await;
    assert_eq!(resp.status(), 200);
    let sent: SendResponse = resp.json().await.unwrap();
    assert_eq!(sent.messaging_product, "whatsapp");
    assert_eq!(sent.contacts[0].input, "+49 151 12345678");
    assert_eq!(sent.contacts[0].wa_id, CUSTOMER);
    let wamid = sent.messages[0].id.clone();
    assert!(wamid.starts_with("wamid."));
    assert_eq!(
        sent.messages[0].message_status, None,
        "only templates say accepted"
    );

    let statuses = rx.wait_statuses(&wamid, 3).await;
    let order: Vec<_> = statuses.iter().map(|s| s.status).collect();
    assert_eq!(
        order,
        vec![
            Some(DeliveryStatus::Sent),
            Some(DeliveryStatus::Delivered),
            Some(DeliveryStatus::Read)
        ]
    );
    for s in &statuses {
        assert_eq!(s.recipient_id.as_deref(), Some(CUSTOMER));
        assert_eq!(s.recipient_user_id.as_deref(), Some("DE.555"));
        assert_eq!(s.biz_opaque_callback_data.as_deref(), Some("conv-7|msg-9"));
        assert!(s.errors.is_empty());
    }
    assert_eq!(statuses[0].raw["pricing"]["type"], "free_customer_service");
    assert!(
        statuses[2].raw.get("pricing").is_none(),
        "no pricing on read"
    );
    // 2026: status webhooks describe the recipient in value.contacts.
    let hooks = rx.all();
    let status_hook = hooks.iter().find(|h| !h.statuses().is_empty()).unwrap();
    assert!(status_hook.signature_ok);
    let value = status_hook.changes().next().unwrap();
    assert_eq!(value.contacts[0].user_id.as_deref(), Some("DE.555"));

    // The send is recorded, with the full payload.
    let recorded = sim.sent().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].wamid, wamid);
    assert_eq!(recorded[0].payload, body);
    assert_eq!(recorded[0].to, "+49 151 12345678");
    assert_eq!(recorded[0].phone_number_id, PNID);
    let via_http: serde_json::Value = client()
        .get(format!("{}/control/sent", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_http[0]["wamid"], wamid.as_str());
    assert_eq!(via_http[0]["to"], "+49 151 12345678");
    assert_eq!(via_http[0]["payload"], body);
    assert!(via_http[0]["at"].as_u64().unwrap() > 1_700_000_000_000);
}

#[tokio::test]
async fn free_form_outside_the_window_is_accepted_then_fails_131047() {
    let (sim, rx) = setup().await;
    let customer = sim.customer(CUSTOMER);
    customer.says("Hallo").await.unwrap();
    customer.set_last_inbound(SystemTime::now() - Duration::from_secs(25 * 3600));

    let resp = send(&sim, text(CUSTOMER, "Are you still there?")).await;
    assert_eq!(resp.status(), 200, "Meta accepts first");
    let wamid = resp.json::<SendResponse>().await.unwrap().messages[0]
        .id
        .clone();
    let statuses = rx.wait_statuses(&wamid, 1).await;
    assert_eq!(statuses[0].status, Some(DeliveryStatus::Failed));
    assert_eq!(statuses[0].errors[0].code, 131047);
    assert!(statuses[0].errors[0]
        .details()
        .unwrap()
        .contains("24 hours"));
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.statuses_of(&wamid).len(), 1, "no ladder after a failure");

    // A template is allowed outside the window.
    let resp = send(
        &sim,
        template(CUSTOMER, "order_update", "de", &["Anna", "4711"]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let sent: SendResponse = resp.json().await.unwrap();
    assert_eq!(sent.messages[0].message_status.as_deref(), Some("accepted"));
    let statuses = rx.wait_statuses(&sent.messages[0].id, 3).await;
    assert_eq!(statuses[0].status, Some(DeliveryStatus::Sent));
    assert_eq!(statuses[0].raw["pricing"]["type"], "regular");
    assert_eq!(statuses[0].raw["pricing"]["category"], "utility");
}

#[tokio::test]
async fn window_can_be_moved_through_the_control_api() {
    let (sim, rx) = setup().await;
    sim.customer(CUSTOMER).says("Hallo").await.unwrap();
    let resp = client()
        .post(format!(
            "{}/control/customers/{CUSTOMER}/window",
            sim.base_url()
        ))
        .json(&json!({"phone_number_id": PNID, "last_inbound_secs_ago": 90_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let wamid = send(&sim, text(CUSTOMER, "hi"))
        .await
        .json::<SendResponse>()
        .await
        .unwrap()
        .messages[0]
        .id
        .clone();
    let statuses = rx.wait_statuses(&wamid, 1).await;
    assert_eq!(statuses[0].errors[0].code, 131047);
}

#[tokio::test]
async fn never_contacted_customer_gets_templates_only() {
    let (sim, rx) = setup().await;
    let wamid = send(&sim, text("15557654321", "cold outreach"))
        .await
        .json::<SendResponse>()
        .await
        .unwrap()
        .messages[0]
        .id
        .clone();
    assert_eq!(rx.wait_statuses(&wamid, 1).await[0].errors[0].code, 131047);
    let resp = send(&sim, template("15557654321", "hello_world", "en_US", &[])).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn template_errors_132000_and_132001() {
    let (sim, _rx) = setup().await;
    let (status, e) = graph_error(
        send(
            &sim,
            template(CUSTOMER, "order_update", "de", &["only one"]),
        )
        .await,
    )
    .await;
    assert_eq!((status, e.code), (400, 132000));
    assert!(e.details().unwrap().contains("body"), "{e:?}");
    assert!(e.message.starts_with("(#132000)"));

    let (status, e) =
        graph_error(send(&sim, template(CUSTOMER, "no_such_template", "de", &[])).await).await;
    assert_eq!((status, e.code), (400, 132001));
    assert!(e.details().unwrap().contains("no_such_template"));

    let (_, e) = graph_error(
        send(
            &sim,
            template(CUSTOMER, "appointment_reminder", "en", &["x"]),
        )
        .await,
    )
    .await;
    assert_eq!(e.code, 132001, "exists only in de");

    assert_eq!(sim.stats().sends_invalid, 3);
    assert!(sim.sent().await.is_empty());
}

#[tokio::test]
async fn template_header_parameters_are_checked_like_meta() {
    let (sim, _rx) = setup().await;
    let with_header = |header: serde_json::Value| {
        let mut body = template(CUSTOMER, "shipping_update", "de", &["Ana"]);
        let components = body["template"]["components"].as_array_mut().unwrap();
        if !header.is_null() {
            components.insert(0, json!({"type": "header", "parameters": header}));
        }
        body
    };
    let cases = [
        // No header parameter for a header with {{1}}.
        (serde_json::Value::Null, 132000, "header"),
        (
            json!([{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]),
            132000,
            "header",
        ),
        // A text header takes text, not media.
        (
            json!([{"type": "image", "image": {"link": "https://example.com/a.png"}}]),
            132012,
            "expected TEXT",
        ),
        // A text parameter needs its text.
        (json!([{"type": "text"}]), 131008, "['text']"),
        (json!([{"type": "text", "text": "  "}]), 131008, "no text"),
        (json!([{"type": "emoji", "text": "x"}]), 100, "emoji"),
        // 60 characters at most once filled in ("Bestellung " is 11).
        (
            json!([{"type": "text", "text": "x".repeat(50)}]),
            132005,
            "60",
        ),
    ];
    for (header, code, says) in cases {
        let (status, e) = graph_error(send(&sim, with_header(header.clone())).await).await;
        assert_eq!((status, e.code), (400, code), "{header}: {e:?}");
        assert!(e.details().unwrap().contains(says), "{header}: {e:?}");
    }
    assert!(sim.sent().await.is_empty());

    let ok = with_header(json!([{"type": "text", "text": "x".repeat(49)}]));
    assert_eq!(send(&sim, ok).await.status(), 200);
    let resp = send(&sim, with_header(json!([{"type": "text", "text": "A-42"}]))).await;
    assert_eq!(resp.status(), 200);
    let sent = sim.sent().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].payload["template"]["components"][0]["parameters"][0]["text"],
        "A-42"
    );
    // The listing shows the header with an example, as Meta does.
    let listed = sim
        .templates()
        .into_iter()
        .find(|t| t.name == "shipping_update" && t.language == "en")
        .unwrap()
        .to_graph();
    assert_eq!(listed["components"][0]["format"], "TEXT");
    assert_eq!(listed["components"][0]["text"], "Order {{1}}");
    assert!(listed["components"][0]["example"]["header_text"].is_array());
}

#[tokio::test]
async fn templates_are_listed_in_metas_shape() {
    let (sim, _rx) = setup().await;
    let list: serde_json::Value = client()
        .get(format!(
            "{}/v25.0/100000000000001/message_templates",
            sim.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = list["data"].as_array().unwrap();
    let order_de = data
        .iter()
        .find(|t| t["name"] == "order_update" && t["language"] == "de")
        .unwrap();
    assert_eq!(order_de["status"], "APPROVED");
    assert_eq!(order_de["category"], "UTILITY");
    assert!(order_de["id"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    let body = order_de["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BODY")
        .unwrap();
    assert!(body["text"].as_str().unwrap().contains("{{2}}"));
    assert!(data.iter().any(|t| t["category"] == "MARKETING"));
    assert!(list["paging"]["cursors"]["after"].is_string());

    let filtered: serde_json::Value = client()
        .get(format!(
            "{}/v25.0/100000000000001/message_templates?name=hello_world",
            sim.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_code_190() {
    let (sim, _rx) = setup().await;
    let url = format!("{}/v25.0/{PNID}/messages", sim.base_url());
    let resp = client()
        .post(&url)
        .json(&text(CUSTOMER, "x"))
        .send()
        .await
        .unwrap();
    let (status, e) = graph_error(resp).await;
    assert_eq!((status, e.code), (401, 190));
    assert_eq!(e.kind.as_deref(), Some("OAuthException"));
    assert!(e.fbtrace_id.is_some());

    let resp = client()
        .post(&url)
        .bearer_auth("stolen")
        .json(&text(CUSTOMER, "x"))
        .send()
        .await
        .unwrap();
    let (status, e) = graph_error(resp).await;
    assert_eq!((status, e.code), (401, 190));
}

#[tokio::test]
async fn unknown_number_and_bad_payloads() {
    let (sim, _rx) = setup().await;
    let (status, e) = graph_error(send_to(&sim, "999999", text(CUSTOMER, "x")).await).await;
    assert_eq!((status, e.code, e.error_subcode), (400, 100, Some(33)));

    let (status, e) = graph_error(
        send(
            &sim,
            json!({"messaging_product": "whatsapp", "to": CUSTOMER,
        "type": "text", "text": {}}),
        )
        .await,
    )
    .await;
    assert_eq!((status, e.code), (400, 131008));
    assert!(e.details().unwrap().contains("text['body']"));

    let (_, e) = graph_error(
        send(
            &sim,
            json!({"messaging_product": "telegram", "to": CUSTOMER,
        "type": "text", "text": {"body": "x"}}),
        )
        .await,
    )
    .await;
    assert_eq!(e.code, 100);
    assert!(e.details().unwrap().contains("messaging_product"));

    let (_, e) = graph_error(
        send(
            &sim,
            json!({"messaging_product": "whatsapp", "to": CUSTOMER,
        "type": "image", "image": {"id": "1", "link": "https://example.com/a.png"}}),
        )
        .await,
    )
    .await;
    assert_eq!(e.code, 100);
    assert!(e.details().unwrap().contains("image"));

    let (status, e) = graph_error(
        client()
            .post(format!("{}/v25.0/{PNID}/messages", sim.base_url()))
            .bearer_auth(TOKEN)
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, e.code), (400, 100));

    // A path outside the Graph's shape.
    let resp = client()
        .get(format!("{}/not-a-version/x", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn mark_read_is_not_a_send_and_sends_no_webhook() {
    let (sim, rx) = setup().await;
    let inbound = sim.customer(CUSTOMER).says("Hallo").await.unwrap();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let resp = send(
        &sim,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": inbound,
               "typing_indicator": {"type": "text"}}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap(),
        json!({"success": true})
    );
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.all().len(), 1, "only the customer's message");
    assert!(sim.sent().await.is_empty());
    let reads: serde_json::Value = client()
        .get(format!("{}/control/reads", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reads[0]["message_id"], inbound.as_str());
    assert_eq!(reads[0]["typing_indicator"], true);
}

#[tokio::test]
async fn reactions_get_only_sent() {
    let (sim, rx) = setup().await;
    let inbound = sim.customer(CUSTOMER).says("Danke!").await.unwrap();
    let resp = send(
        &sim,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "reaction",
               "reaction": {"message_id": inbound, "emoji": "👍"}}),
    )
    .await;
    let wamid = resp.json::<SendResponse>().await.unwrap().messages[0]
        .id
        .clone();
    assert!(sim.wait_webhooks_idle(WAIT).await);
    let statuses = rx.statuses_of(&wamid);
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].status, Some(DeliveryStatus::Sent));
}

#[tokio::test]
async fn bsuid_recipients_and_several_numbers() {
    let rx = Receiver::start().await;
    let mut cfg = config(&rx.url);
    cfg.phone_numbers.push(SimNumber::new(
        "300000000000003",
        "15550002222",
        "100000000000001",
    ));
    cfg.status_delays = StatusDelays {
        read: None,
        ..StatusDelays::default()
    };
    let sim = start_sim(cfg).await;
    sim.customer(CUSTOMER)
        .on("300000000000003")
        .with_bsuid("DE.777")
        .hide_phone()
        .says("Hallo zweite Nummer")
        .await
        .unwrap();
    let got = rx.wait_for(1).await;
    assert_eq!(
        got[0].changes().next().unwrap().phone_number_id,
        "300000000000003"
    );

    // The window is per business number.
    let body = json!({"messaging_product": "whatsapp", "recipient": "DE.777", "type": "text",
                      "text": {"body": "Antwort"}});
    let resp = send_to(&sim, "300000000000003", body.clone()).await;
    let sent: SendResponse = resp.json().await.unwrap();
    assert_eq!(sent.contacts[0].input, "DE.777");
    let statuses = rx.wait_statuses(&sent.messages[0].id, 2).await;
    assert_eq!(statuses[1].status, Some(DeliveryStatus::Delivered));
    assert_eq!(statuses[0].recipient_user_id.as_deref(), Some("DE.777"));
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(
        rx.statuses_of(&sent.messages[0].id).len(),
        2,
        "read receipts off"
    );

    let other = send_to(&sim, PNID, body)
        .await
        .json::<SendResponse>()
        .await
        .unwrap();
    assert_eq!(
        rx.wait_statuses(&other.messages[0].id, 1).await[0].errors[0].code,
        131047
    );

    // An unknown BSUID cannot be delivered.
    let unknown = send_to(
        &sim,
        PNID,
        json!({"messaging_product": "whatsapp", "recipient": "DE.0",
        "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
    )
    .await
    .json::<SendResponse>()
    .await
    .unwrap();
    assert_eq!(
        rx.wait_statuses(&unknown.messages[0].id, 1).await[0].errors[0].code,
        131026
    );
}
