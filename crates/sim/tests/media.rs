//! Media: customer images resolve through `GET /{media_id}` to a bearer-protected download;
//! uploads return ids that can be sent.

mod common;

use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_protocol::graph::SendResponse;
use switchboard_protocol::webhook::{Content, DeliveryStatus};

const CUSTOMER: &str = "4915112345678";

/// A `multipart/form-data` upload as Meta documents it (fields, then the file part).
async fn upload(
    sim: &switchboard_sim::Simulator,
    fields: &[(&str, &str)],
    file: &[u8],
    mime: &str,
) -> reqwest::Response {
    let boundary = "simboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    client()
        .post(format!("{}/v25.0/{PNID}/media", sim.base_url()))
        .bearer_auth(TOKEN)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn customer_image_resolves_to_bytes_with_the_token() {
    let (sim, rx) = setup().await;
    let wamid = sim
        .customer(CUSTOMER)
        .sends_image("Das kaputte Paket")
        .await
        .unwrap();
    let got = rx.wait_for(1).await;
    let message = &got[0].messages()[0];
    assert_eq!(message.id, wamid);
    let Content::Image(image) = &message.content else {
        panic!("not an image: {message:?}")
    };
    assert_eq!(image.caption.as_deref(), Some("Das kaputte Paket"));
    let media_id = image.id.clone().unwrap();
    assert!(media_id.bytes().all(|b| b.is_ascii_digit()));

    let descriptor: serde_json::Value = client()
        .get(format!("{}/v25.0/{media_id}", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(descriptor["messaging_product"], "whatsapp");
    assert_eq!(descriptor["id"], media_id.as_str());
    assert_eq!(descriptor["mime_type"], "image/png");
    let url = descriptor["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.base_url()));

    let bytes = client().get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(bytes.headers()["content-type"], "image/png");
    let bytes = bytes.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(descriptor["file_size"], bytes.len());
    use base64::Engine;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    assert_eq!(descriptor["sha256"], sha.as_str());
    assert_eq!(image.sha256.as_deref(), Some(sha.as_str()));

    let without = client().get(url).send().await.unwrap();
    assert_eq!(without.status(), 401);
    let (status, e) =
        graph_error(client().get(url).bearer_auth("wrong").send().await.unwrap()).await;
    assert_eq!((status, e.code), (401, 190));

    let (status, e) = graph_error(
        client()
            .get(format!("{}/v25.0/1234567890", sim.base_url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, e.code, e.error_subcode), (400, 100, Some(33)));
    let bad_token = client()
        .get(format!("{}/media-download/nope", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), 404);
}

#[tokio::test]
async fn uploaded_media_can_be_sent_by_id_and_deleted() {
    let (sim, rx) = setup().await;
    sim.customer(CUSTOMER)
        .says("Schick mir die Rechnung")
        .await
        .unwrap();
    let up: serde_json::Value = upload(
        &sim,
        &[
            ("messaging_product", "whatsapp"),
            ("type", "application/pdf"),
        ],
        b"%PDF-1.4 invoice",
        "application/pdf",
    )
    .await
    .json()
    .await
    .unwrap();
    let media_id = up["id"].as_str().unwrap().to_string();

    let doc = |id: &str| {
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "document",
               "document": {"id": id, "filename": "invoice.pdf", "caption": "Rechnung"}})
    };
    let ok = send(&sim, doc(&media_id))
        .await
        .json::<SendResponse>()
        .await
        .unwrap();
    let statuses = rx.wait_statuses(&ok.messages[0].id, 3).await;
    assert_eq!(statuses[2].status, Some(DeliveryStatus::Read));

    let missing = send(&sim, doc("999"))
        .await
        .json::<SendResponse>()
        .await
        .unwrap();
    assert_eq!(
        rx.wait_statuses(&missing.messages[0].id, 1).await[0].errors[0].code,
        131053
    );

    let del = client()
        .delete(format!("{}/v25.0/{media_id}", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let again = client()
        .get(format!("{}/v25.0/{media_id}", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);

    // Unsupported types are refused.
    let (status, e) = graph_error(
        upload(
            &sim,
            &[("messaging_product", "whatsapp")],
            b"GIF89a",
            "image/gif",
        )
        .await,
    )
    .await;
    assert_eq!((status, e.code), (400, 131053));
}

#[tokio::test]
async fn voice_messages_report_played_after_read() {
    let (sim, rx) = setup().await;
    sim.customer(CUSTOMER).says("Hallo").await.unwrap();
    rx.wait_for(1).await;
    let r = upload(
        &sim,
        &[("messaging_product", "whatsapp"), ("type", "audio/ogg")],
        &[&b"OggS"[..], &[0u8; 60][..]].concat(),
        "audio/ogg",
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = send(
        &sim,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "audio", "audio": {"id": id}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let wamid = r.json::<SendResponse>().await.unwrap().messages[0]
        .id
        .clone();
    let statuses = rx.wait_statuses(&wamid, 4).await;
    let names: Vec<&str> = statuses.iter().map(|s| s.status_name.as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read", "played"]);
    // A text is never played.
    let r = send(&sim, text(CUSTOMER, "x")).await;
    let wamid = r.json::<SendResponse>().await.unwrap().messages[0]
        .id
        .clone();
    rx.wait_statuses(&wamid, 3).await;
    assert!(sim.wait_webhooks_idle(WAIT).await);
    assert_eq!(rx.statuses_of(&wamid).len(), 3);
}
