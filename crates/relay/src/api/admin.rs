//! Admin routes: dead letters and numbers (users: `api::users`, roles: `api::roles`, the audit
//! log: `api::audit`). Every change is audited.

use crate::extract::Query;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use switchboard_protocol::api::{DeadLetter, PhoneNumber};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::queries;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LimitQuery {
    /// 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

fn limit(q: &LimitQuery) -> Result<usize, ApiError> {
    let l = q.limit.unwrap_or(100);
    if (1..=1000).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::bad_request("limit must be between 1 and 1000"))
    }
}

/// Webhook bodies that could not be parsed, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/admin/dead-letters", params(LimitQuery), security(("bearer" = [])),
    responses((status = 200, body = [DeadLetter]), (status = 403, body = switchboard_protocol::api::ErrorBody)))]
pub async fn dead_letters(
    State(s): State<AppState>,
    _user: AuthUser,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let l = limit(&q)?;
    Ok(Json(
        s.store.read(move |c| queries::dead_letters(c, l)).await?,
    ))
}

pub use switchboard_protocol::admin::NewNumber;

/// A new number as stored, or what is wrong with it (naming the field): Meta's ids are digits,
/// the phone number is 6 to 15 digits (`+`, spaces, dashes and brackets dropped), the name
/// 1 to 100 characters people can read.
pub fn checked_number(n: NewNumber) -> Result<NewNumber, String> {
    use switchboard_protocol::rules::{fits, LABEL, META_ID, META_ID_OR_EMPTY, PHONE};
    if !fits(META_ID, &n.phone_number_id) {
        return Err("phone_number_id must be Meta's numeric phone number id".into());
    }
    let phone: String = n
        .display_phone_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+' | '/'))
        .collect();
    if !fits(PHONE, &n.display_phone_number) {
        return Err(
            "display_phone_number must be a phone number of 6 to 15 digits (like +49 30 123456)"
                .into(),
        );
    }
    if !fits(LABEL, &n.name) || n.name.chars().count() > 100 {
        return Err("name must have 1 to 100 characters".into());
    }
    let name = n.name.trim();
    let waba_id = match n.waba_id.as_deref() {
        None | Some("") => None,
        Some(w) if fits(META_ID_OR_EMPTY, w) => Some(w.to_string()),
        Some(_) => return Err("waba_id must be Meta's numeric account id".into()),
    };
    Ok(NewNumber {
        phone_number_id: n.phone_number_id.clone(),
        display_phone_number: phone,
        name: name.to_string(),
        waba_id,
    })
}

/// Adds a business number, or adopts one that appeared unconfigured (admins only); the
/// conversations held while it was unconfigured are released in the same write (routed, and
/// shown to agents).
#[utoipa::path(post, path = "/api/v1/admin/numbers", request_body = NewNumber, security(("bearer" = [])),
    responses((status = 200, body = PhoneNumber), (status = 422, body = switchboard_protocol::api::ErrorBody)))]
pub async fn add_number(
    State(s): State<AppState>,
    admin: AuthUser,
    JsonBody(req): JsonBody<NewNumber>,
) -> Result<Json<PhoneNumber>, ApiError> {
    let req = checked_number(req).map_err(|m| ApiError::unprocessable("invalid", m))?;
    let pn = PhoneNumber {
        phone_number_id: req.phone_number_id,
        display_phone_number: req.display_phone_number,
        name: req.name,
        configured: true,
    };
    let actor = admin.0.email.clone();
    let out = pn.clone();
    s.store
        .write(move |ctx| {
            // Releases the conversations held while the number was unconfigured.
            crate::store::numbers::add_number(ctx, &pn, req.waba_id.as_deref())?;
            queries::audit(
                ctx.conn,
                &actor,
                "number.add",
                &serde_json::to_value(&pn)?,
                ctx.now,
            )
        })
        .await?;
    Ok(Json(out))
}

/// How far each number's shared chat history has arrived, or that the business declined.
#[utoipa::path(get, path = "/api/v1/admin/history-imports", security(("bearer" = [])),
    responses((status = 200, body = [switchboard_protocol::admin::HistoryImport])))]
pub async fn history_imports(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<Vec<switchboard_protocol::admin::HistoryImport>>, ApiError> {
    Ok(Json(
        s.store
            .read(crate::store::coexistence::history_imports)
            .await?,
    ))
}

/// The media archive: files kept, waiting, given up or removed, and its limits.
#[utoipa::path(get, path = "/api/v1/admin/media-archive", security(("bearer" = [])),
    responses((status = 200, body = switchboard_protocol::admin::ArchiveSummary)))]
pub async fn media_archive(
    State(s): State<AppState>,
    _admin: AuthUser,
) -> Result<Json<switchboard_protocol::admin::ArchiveSummary>, ApiError> {
    let mut summary = s.store.read(crate::store::archive::summary).await?;
    summary.max_bytes = s.config.media_archive_bytes;
    summary.retention_days = s
        .config
        .media_archive_retention
        .map(|d| d.as_secs() / 86_400);
    Ok(Json(summary))
}

#[cfg(test)]
mod number_tests {
    use super::*;

    fn n(id: &str, phone: &str, name: &str, waba: Option<&str>) -> NewNumber {
        NewNumber {
            phone_number_id: id.into(),
            display_phone_number: phone.into(),
            name: name.into(),
            waba_id: waba.map(String::from),
        }
    }

    #[test]
    fn numbers_are_checked_and_stored_plainly() {
        let ok = checked_number(n(
            "200000000000009",
            "+49 (30) 123-456",
            " Vertrieb ",
            Some(""),
        ))
        .unwrap();
        assert_eq!(ok.phone_number_id, "200000000000009");
        assert_eq!(ok.display_phone_number, "4930123456");
        assert_eq!(ok.name, "Vertrieb");
        assert_eq!(ok.waba_id, None);
        // Ids are digits exactly, as the OpenAPI document's pattern says: no padding.
        assert!(checked_number(n(" 2000 ", "4930123456", "x", None))
            .unwrap_err()
            .contains("phone_number_id"));
        assert!(checked_number(n("1", "4930123456", "x", Some(" ")))
            .unwrap_err()
            .contains("waba_id"));
        assert!(checked_number(n("abc", "4930123456", "x", None))
            .unwrap_err()
            .contains("phone_number_id"));
        assert!(checked_number(n("1", "12345", "x", None))
            .unwrap_err()
            .contains("display_phone_number"));
        assert!(checked_number(n("1", "0800-FLOWERS", "x", None))
            .unwrap_err()
            .contains("display_phone_number"));
        assert!(checked_number(n("1", "4930123456", " ", None))
            .unwrap_err()
            .contains("name"));
        assert!(checked_number(n("1", "4930123456", "x", Some("W1")))
            .unwrap_err()
            .contains("waba_id"));
    }
}
