//! The control API (`/control/...`): how tests, the demo and benchmarks drive the simulator from
//! outside the process. Unauthenticated; errors are `{"error": "..."}` with 400/404.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /control/customers/{wa_id}/messages` | a customer writes (`text` or `image`) → `{"wamid"}` |
//! | `POST /control/customers/{wa_id}/window` | move the customer's last inbound time |
//! | `GET /control/sent` | every accepted send |
//! | `GET /control/reads` | every mark-read call |
//! | `POST`/`GET`/`DELETE /control/faults` | add a [`crate::FaultRule`] / list / clear |
//! | `POST /control/webhooks/raw` | deliver any JSON body, signed as is |
//! | `POST /control/webhook-url` | `{"url"}`: change the callback URL |
//! | `GET /control/stats` | [`crate::SimStats`] |
//! | `GET /control/idle?timeout_ms=N` | wait until no webhook is pending → `{"idle": bool}` |
//! | `GET`/`POST /control/templates` | list / add a [`crate::Template`] |
//! | `POST /control/phone-app/messages` | the business writes from the phone app (Coexistence echo): [`crate::PhoneAppMessage`] (+ `phone_number_id`) → `{"wamid"}` |
//! | `POST /control/phone-app/history` | a chunk of shared chat history: [`crate::HistoryChunk`] (+ `phone_number_id`) → `{"wamids"}`; `{"declined": true}` for the refusal |
//! | `POST /control/phone-app/contacts` | the phone app's contact list changed: `{action, phone_number, full_name}` |

use std::time::{Duration, SystemTime};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::customer::{InboundContent, InboundSpec};
use crate::error::SimError;
use crate::faults::FaultRule;
use crate::sim::Simulator;
use crate::templates::Template;

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route(
            "/control/customers/{wa_id}/messages",
            post(customer_message),
        )
        .route("/control/customers/{wa_id}/window", post(set_window))
        .route("/control/sent", get(sent))
        .route("/control/reads", get(reads))
        .route(
            "/control/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/control/webhooks/raw", post(raw_webhook))
        .route("/control/webhook-url", post(set_webhook_url))
        .route("/control/stats", get(stats))
        .route("/control/idle", get(idle))
        .route("/control/templates", get(list_templates).post(add_template))
        .route("/control/phone-app/messages", post(phone_app_message))
        .route("/control/phone-app/history", post(phone_app_history))
        .route("/control/phone-app/contacts", post(phone_app_contact))
}

#[derive(Debug, Deserialize)]
struct OnNumber<T> {
    phone_number_id: Option<String>,
    #[serde(flatten)]
    inner: T,
}

async fn phone_app_message(
    State(sim): State<Simulator>,
    body: Result<Json<OnNumber<crate::PhoneAppMessage>>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(b) = body?;
    let wamid = sim.phone_app_sends(b.phone_number_id.as_deref(), &b.inner)?;
    Ok(Json(json!({ "wamid": wamid })))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HistoryBody {
    Declined { declined: bool },
    Chunk(crate::HistoryChunk),
}

async fn phone_app_history(
    State(sim): State<Simulator>,
    body: Result<Json<OnNumber<HistoryBody>>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(b) = body?;
    match b.inner {
        HistoryBody::Declined { declined: true } => {
            sim.decline_history(b.phone_number_id.as_deref())?;
            Ok(Json(json!({ "declined": true })))
        }
        HistoryBody::Declined { .. } => Err(ControlError(
            StatusCode::BAD_REQUEST,
            "give a history chunk {wa_id, messages} or {declined: true}".into(),
        )),
        HistoryBody::Chunk(c) => {
            let wamids = sim.share_history(b.phone_number_id.as_deref(), &c)?;
            Ok(Json(json!({ "wamids": wamids })))
        }
    }
}

#[derive(Debug, Deserialize)]
struct ContactBody {
    action: String,
    phone_number: String,
    full_name: Option<String>,
}

async fn phone_app_contact(
    State(sim): State<Simulator>,
    body: Result<Json<OnNumber<ContactBody>>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(b) = body?;
    sim.phone_app_contact(
        b.phone_number_id.as_deref(),
        &b.inner.action,
        &b.inner.phone_number,
        b.inner.full_name.as_deref(),
    )?;
    Ok(Json(json!({ "queued": true })))
}

/// A control API error: `{"error": message}`.
#[derive(Debug)]
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<JsonRejection> for ControlError {
    fn from(e: JsonRejection) -> Self {
        ControlError(StatusCode::BAD_REQUEST, e.body_text())
    }
}

impl From<SimError> for ControlError {
    fn from(e: SimError) -> Self {
        let status = match e {
            SimError::UnknownPhoneNumber(_) => StatusCode::NOT_FOUND,
            SimError::ShutDown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        ControlError(status, e.to_string())
    }
}

#[derive(Debug, Deserialize)]
struct CustomerMessage {
    phone_number_id: Option<String>,
    text: Option<String>,
    caption: Option<String>,
    name: Option<String>,
    user_id: Option<String>,
    /// A WhatsApp username: the customer's phone number is hidden behind it.
    username: Option<String>,
    #[serde(default)]
    hide_phone: bool,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// For `edit` and `revoke`: the wamid of the customer's message they change.
    original: Option<String>,
}

async fn customer_message(
    State(sim): State<Simulator>,
    Path(wa_id): Path<String>,
    body: Result<Json<CustomerMessage>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(m) = body?;
    let content = match m.kind.as_deref().unwrap_or("text") {
        "text" => InboundContent::Text(m.text.filter(|t| !t.is_empty()).ok_or_else(|| {
            ControlError(
                StatusCode::BAD_REQUEST,
                "a text message needs \"text\"".into(),
            )
        })?),
        "image" => InboundContent::Image {
            caption: m.caption.or(m.text).filter(|c| !c.is_empty()),
        },
        kind @ ("edit" | "revoke") => {
            let original = m.original.filter(|o| !o.is_empty()).ok_or_else(|| {
                ControlError(
                    StatusCode::BAD_REQUEST,
                    format!("{kind} needs \"original\": the wamid of the customer's message"),
                )
            })?;
            if kind == "revoke" {
                InboundContent::Revoke { original }
            } else {
                InboundContent::Edit {
                    original,
                    text: m.text.filter(|t| !t.is_empty()).ok_or_else(|| {
                        ControlError(StatusCode::BAD_REQUEST, "an edit needs \"text\"".into())
                    })?,
                }
            }
        }
        other => {
            return Err(ControlError(
                StatusCode::BAD_REQUEST,
                format!("type must be \"text\", \"image\", \"edit\" or \"revoke\", got {other:?}"),
            ))
        }
    };
    let inbound = sim.customer_writes(InboundSpec {
        wa_id,
        phone_number_id: m.phone_number_id,
        name: m.name,
        user_id: m.user_id,
        username: m.username.filter(|u| !u.is_empty()),
        hide_phone: m.hide_phone,
        content,
    })?;
    let mut out = json!({ "wamid": inbound.wamid });
    if let Some(id) = inbound.media_id {
        out["media_id"] = json!(id);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
struct WindowBody {
    phone_number_id: Option<String>,
    last_inbound_secs_ago: u64,
}

async fn set_window(
    State(sim): State<Simulator>,
    Path(wa_id): Path<String>,
    body: Result<Json<WindowBody>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(w) = body?;
    let mut customer = sim.customer(&wa_id);
    if let Some(p) = w.phone_number_id {
        if sim.number(&p).is_none() {
            return Err(SimError::UnknownPhoneNumber(p).into());
        }
        customer = customer.on(p);
    }
    let at = SystemTime::now()
        .checked_sub(Duration::from_secs(w.last_inbound_secs_ago))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    customer.set_last_inbound(at);
    Ok(Json(json!({ "ok": true })))
}

async fn sent(State(sim): State<Simulator>) -> Response {
    Json(sim.sent().await).into_response()
}

async fn reads(State(sim): State<Simulator>) -> Response {
    Json(sim.reads().await).into_response()
}

async fn add_fault(
    State(sim): State<Simulator>,
    body: Result<Json<FaultRule>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(rule) = body?;
    sim.add_fault(rule);
    Ok(Json(json!({ "ok": true, "active": sim.faults() })))
}

async fn list_faults(State(sim): State<Simulator>) -> Json<Vec<FaultRule>> {
    Json(sim.faults())
}

async fn clear_faults(State(sim): State<Simulator>) -> Json<Value> {
    sim.clear_faults();
    Json(json!({ "ok": true }))
}

async fn raw_webhook(
    State(sim): State<Simulator>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(body) = body?;
    sim.send_raw_webhook(body).await;
    Ok(Json(json!({ "queued": true })))
}

#[derive(Debug, Deserialize)]
struct UrlBody {
    url: String,
}

async fn set_webhook_url(
    State(sim): State<Simulator>,
    body: Result<Json<UrlBody>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(b) = body?;
    sim.set_webhook_url(&b.url);
    Ok(Json(json!({ "ok": true })))
}

async fn stats(State(sim): State<Simulator>) -> Json<crate::SimStats> {
    Json(sim.stats())
}

#[derive(Debug, Deserialize)]
struct IdleQuery {
    timeout_ms: Option<u64>,
}

async fn idle(State(sim): State<Simulator>, Query(q): Query<IdleQuery>) -> Json<Value> {
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000).min(600_000));
    Json(json!({ "idle": sim.wait_webhooks_idle(timeout).await }))
}

async fn list_templates(State(sim): State<Simulator>) -> Json<Vec<Template>> {
    Json(sim.templates())
}

async fn add_template(
    State(sim): State<Simulator>,
    body: Result<Json<Template>, JsonRejection>,
) -> Result<Json<Value>, ControlError> {
    let Json(t) = body?;
    sim.add_template(t);
    Ok(Json(json!({ "ok": true })))
}
