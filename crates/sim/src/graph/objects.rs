//! Graph object reads: `GET /{id}` (media descriptor, phone number, WABA) and
//! `GET /{waba_id}/message_templates`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use crate::meta_error::GraphFailure;
use crate::sim::Simulator;

use super::{authorize, check_version};

pub(crate) async fn get_object(
    State(sim): State<Simulator>,
    Path((version, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GraphFailure> {
    check_version(&version, &uri)?;
    match sim.media_number(&id) {
        // A media file: only with its number's account's token.
        Some(n) => super::authorize_number(&sim, &headers, &uri, &n)?,
        None => authorize(&sim, &headers, &uri)?,
    }
    if let Some(d) = sim.media_descriptor(&id, query.get("phone_number_id").map(String::as_str)) {
        return Ok(Json(d).into_response());
    }
    if let Some(n) = sim.number(&id) {
        return Ok(Json(json!({
            "verified_name": "Switchboard Sim",
            "code_verification_status": "VERIFIED",
            "display_phone_number": format!("+{}", n.display_phone_number),
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "whatsapp_business_manager_messaging_limit": "TIER_2K",
            "id": n.phone_number_id,
        }))
        .into_response());
    }
    if sim.phone_numbers().iter().any(|n| n.waba_id == id) {
        return Ok(Json(json!({
            "id": id,
            "name": "Switchboard Sim",
            "timezone_id": "1",
            "message_template_namespace": "switchboard_sim_namespace",
        }))
        .into_response());
    }
    Err(GraphFailure::object_not_found("get", &id))
}

pub(crate) async fn list_templates(
    State(sim): State<Simulator>,
    Path((version, waba_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GraphFailure> {
    check_version(&version, &uri)?;
    super::authorize_for(&sim, &headers, &uri, &waba_id)?;
    if !sim.phone_numbers().iter().any(|n| n.waba_id == waba_id) {
        return Err(GraphFailure::object_not_found("get", &waba_id));
    }
    let matches = |t: &Value, key: &str| {
        query.get(key).is_none_or(|want| {
            t[key]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(want))
        })
    };
    let data: Vec<Value> = sim
        .templates()
        .iter()
        .map(|t| t.to_graph())
        .filter(|t| {
            matches(t, "name")
                && matches(t, "language")
                && matches(t, "status")
                && matches(t, "category")
        })
        .collect();
    let cursor = |i: usize| base64::engine::general_purpose::STANDARD.encode(i.to_string());
    Ok(Json(json!({
        "data": data,
        "paging": {"cursors": {"before": cursor(0), "after": cursor(data.len().saturating_sub(1))}},
    }))
    .into_response())
}
