//! `POST /{version}/{phone_number_id}/messages`: sends and mark-read.
//!
//! Order of checks: version, token, phone number id, JSON, payload validation (incl. the
//! template store), then injected faults, then acceptance. Accepted sends are recorded and get a
//! status ladder; the 24-hour window, unknown BSUIDs and unknown media ids are enforced
//! asynchronously (200 + wamid, then a `failed` status), as Meta does.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::config::WebhookFormat;
use crate::faults::{FaultKind, Side};
use crate::ids::{derived_bsuid, Direction};
use crate::meta_error::{http_status, GraphFailure};
use crate::payloads::{self, Party};
use crate::sim::Simulator;
use crate::state::{ReadReceipt, SentMessage};
use crate::stats::bump;
use crate::statuses::{Ladder, Outcome};
use crate::templates::TemplateStatus;
use crate::validate::{self, Recipient, Request, SendRequest, TemplateRef};

use super::{authorize_number, check_version};

pub(crate) async fn post_messages(
    State(sim): State<Simulator>,
    Path((version, phone_number_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphFailure> {
    check_version(&version, &uri)?;
    authorize_number(&sim, &headers, &uri, &phone_number_id)?;
    if sim.number(&phone_number_id).is_none() {
        return Err(GraphFailure::object_not_found("post", &phone_number_id));
    }
    let payload: Value = serde_json::from_slice(&body).map_err(|e| {
        bump(&sim.inner.counters.sends_invalid);
        GraphFailure::invalid_param(format!("The request body is not valid JSON: {e}"))
    })?;
    let request = validate::parse(&payload).inspect_err(|_| {
        bump(&sim.inner.counters.sends_invalid);
    })?;
    match request {
        Request::MarkRead {
            message_id,
            typing_indicator,
        } => {
            bump(&sim.inner.counters.reads);
            sim.inner
                .state
                .lock()
                .expect("state lock")
                .reads
                .push(ReadReceipt {
                    phone_number_id,
                    message_id,
                    typing_indicator,
                    at: SystemTime::now(),
                });
            Ok(Json(json!({"success": true})).into_response())
        }
        Request::Send(send) => accept(sim, phone_number_id, payload, send).await,
    }
}

/// Template checks against the store; the pricing category of the template.
fn check_template(sim: &Simulator, t: &TemplateRef) -> Result<&'static str, GraphFailure> {
    let store = sim.inner.templates.lock().expect("template lock");
    let not_found = || {
        GraphFailure::whatsapp(
            132001,
            Some(format!(
                "template name ({}) does not exist in {}",
                t.name, t.language
            )),
        )
    };
    let tpl = store.find(&t.name, &t.language).ok_or_else(not_found)?;
    match tpl.status {
        TemplateStatus::Approved => {}
        TemplateStatus::Paused => {
            return Err(GraphFailure::whatsapp(
                132015,
                Some(format!("Template {} is paused due to low quality.", t.name)),
            ))
        }
        TemplateStatus::Disabled => {
            return Err(GraphFailure::whatsapp(
                132016,
                Some(format!("Template {} has been disabled.", t.name)),
            ))
        }
        TemplateStatus::Pending | TemplateStatus::Rejected => return Err(not_found()),
    }
    for (part, got, want) in [
        ("header", t.header_params, tpl.header_params()),
        ("body", t.body_params, tpl.body_params()),
    ] {
        if got != want {
            return Err(GraphFailure::whatsapp(
                132000,
                Some(format!(
                    "{part}: number of localizable_params ({got}) does not match the expected number of params ({want})"
                )),
            ));
        }
    }
    // A text header takes text parameters only, each with text, and stays within 60 characters
    // once they are filled in.
    if let Some(header) = &tpl.header {
        let mut texts = Vec::with_capacity(t.header.len());
        for (i, p) in t.header.iter().enumerate() {
            if p.kind != "text" {
                return Err(GraphFailure::whatsapp(
                    132012,
                    Some(format!(
                        "header: Format mismatch, expected TEXT, received {} (parameter {})",
                        p.kind.to_ascii_uppercase(),
                        i + 1
                    )),
                ));
            }
            let text = p.text.clone().unwrap_or_default();
            if text.trim().is_empty() {
                return Err(GraphFailure::missing_param(format!(
                    "header: parameter {} of type text has no text",
                    i + 1
                )));
            }
            texts.push(text);
        }
        let hydrated = crate::templates::fill(header, &texts);
        let len = hydrated.chars().count();
        if len > crate::templates::MAX_HEADER_CHARS {
            return Err(GraphFailure::whatsapp(
                132005,
                Some(format!(
                    "header: text with parameters is {len} characters, more than the {} allowed",
                    crate::templates::MAX_HEADER_CHARS
                )),
            ));
        }
    }
    Ok(tpl.category.pricing_category())
}

/// Applies a Graph-side fault: an error to answer, or an asynchronous failure code to report.
async fn apply_fault(sim: &Simulator, kind: FaultKind) -> Result<Option<i64>, GraphFailure> {
    let refuse = |f: GraphFailure| {
        bump(&sim.inner.counters.sends_refused_by_fault);
        Err(f)
    };
    match kind {
        FaultKind::Slow(d) => {
            tokio::select! {
                _ = tokio::time::sleep(d) => Ok(None),
                _ = sim.shutdown_signal() => refuse(GraphFailure::whatsapp(2, None)),
            }
        }
        FaultKind::Hang => {
            // Never answer while the simulator runs; the client's timeout ends the call.
            sim.shutdown_signal().await;
            refuse(GraphFailure::whatsapp(2, None))
        }
        FaultKind::RateLimit { code } => refuse(GraphFailure::rate_limit(code)),
        FaultKind::ServerError { code } => {
            let mut f = GraphFailure::whatsapp(code, None);
            if !http_status(code).is_server_error() {
                f = f.status(StatusCode::INTERNAL_SERVER_ERROR);
            }
            refuse(f)
        }
        FaultKind::TerminalError { code } => refuse(GraphFailure::whatsapp(code, None)),
        FaultKind::AsyncFailure { code } => Ok(Some(code)),
        FaultKind::DuplicateWebhooks | FaultKind::ReorderStatuses | FaultKind::MediaUnavailable => {
            Ok(None)
        }
    }
}

async fn accept(
    sim: Simulator,
    phone_number_id: String,
    payload: Value,
    send: SendRequest,
) -> Result<Response, GraphFailure> {
    let category = match &send.template {
        Some(t) => Some(check_template(&sim, t).inspect_err(|_| {
            bump(&sim.inner.counters.sends_invalid);
        })?),
        None => None,
    };
    let now = SystemTime::now();
    // Who the recipient is, as far as WhatsApp knows.
    let (party, window_open, known, response_wa_id, customer_key) = {
        let state = sim.inner.state.lock().expect("state lock");
        match &send.recipient {
            Recipient::Phone { wa_id, .. } => {
                let mut party = state.customer(wa_id).map(Party::of).unwrap_or_default();
                party.wa_id = Some(wa_id.clone());
                if party.user_id.is_none() && sim.inner.config.format == WebhookFormat::Meta2026 {
                    // 2026: Meta names every recipient by BSUID too, also one who never wrote.
                    party.user_id = Some(derived_bsuid(wa_id));
                }
                let open = state.window_open(&phone_number_id, wa_id, now);
                (party, open, true, wa_id.clone(), wa_id.clone())
            }
            Recipient::Bsuid(b) => match state.customer_by_bsuid(b) {
                Some(rec) => {
                    let open = state.window_open(&phone_number_id, &rec.wa_id, now);
                    let shown = if rec.hide_phone {
                        b.clone()
                    } else {
                        rec.wa_id.clone()
                    };
                    (Party::of(rec), open, true, shown, rec.wa_id.clone())
                }
                None => (
                    Party {
                        user_id: Some(b.clone()),
                        ..Party::default()
                    },
                    false,
                    false,
                    b.clone(),
                    b.clone(),
                ),
            },
        }
    };
    let mut customers: Vec<String> = vec![send.recipient.input().to_string()];
    customers.extend(party.wa_id.clone());
    customers.extend(party.user_id.clone());
    let refs: Vec<&str> = customers.iter().map(String::as_str).collect();
    let fault = sim
        .inner
        .faults
        .take(Side::Graph, Some(&phone_number_id), &refs);
    let mut async_failure = None;
    if let Some(kind) = fault {
        tracing::debug!(?kind, "fault applied to send");
        async_failure = apply_fault(&sim, kind).await?;
    }
    let media_missing = send
        .media_id
        .as_ref()
        .is_some_and(|id| !sim.inner.media.lock().expect("media lock").contains(id));
    let outcome = match async_failure {
        Some(code) => Outcome::Failed { code },
        None if !known => Outcome::Failed { code: 131026 },
        None if category.is_none() && !window_open => Outcome::Failed { code: 131047 },
        None if media_missing => Outcome::Failed { code: 131053 },
        None => Outcome::Delivered {
            reaction: send.type_name == "reaction",
            audio: send.type_name == "audio",
        },
    };
    let wamid = sim.inner.ids.wamid(&response_wa_id, Direction::Outbound);
    sim.inner
        .state
        .lock()
        .expect("state lock")
        .sent
        .push(SentMessage {
            phone_number_id: phone_number_id.clone(),
            to: send.recipient.input().to_string(),
            payload,
            wamid: wamid.clone(),
            at: now,
        });
    bump(&sim.inner.counters.sends_accepted);
    let number = sim.number(&phone_number_id).expect("checked above").clone();
    sim.schedule_statuses(Ladder {
        number,
        wamid: wamid.clone(),
        recipient: party.clone(),
        customers,
        lane: crate::webhooks::lane(&phone_number_id, &customer_key),
        biz_opaque_callback_data: send.biz_opaque_callback_data.clone(),
        pricing: payloads::pricing(category, window_open),
        outcome,
    });
    let mut contact = json!({"input": send.recipient.input(), "wa_id": response_wa_id});
    if let Some(u) = &party.user_id {
        contact["user_id"] = json!(u);
    }
    let mut message = json!({ "id": wamid });
    if category.is_some() {
        message["message_status"] = json!("accepted");
    }
    Ok(Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [contact],
        "messages": [message],
    }))
    .into_response())
}
