//! The audit log as admins read it: `GET /api/v1/admin/audit` (filtered by person, action and
//! period, paged newest first) and `GET /api/v1/admin/audit/export` (the same filter as CSV, a
//! download). Both need `view_audit`; an export is itself audited.

use crate::extract::Query;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use switchboard_protocol::admin::{AuditEntry, AuditQuery};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::store::audit::{audit_entries, AuditFilter};
use crate::store::queries;
use crate::AppState;

type ErrorBody = switchboard_protocol::api::ErrorBody;

/// Most entries one export holds (newest first); narrow the period for more.
pub const EXPORT_MAX: usize = 100_000;

/// The store's filter for a query, each value checked.
fn filter(q: AuditQuery, limit: usize) -> Result<AuditFilter, ApiError> {
    let text = |v: Option<String>, max: usize, what: &str| match v {
        Some(s) if s.chars().count() > max => {
            Err(ApiError::bad_request(format!("{what} has at most {max} characters")).at(what))
        }
        Some(s) if s.trim().is_empty() => Ok(None),
        other => Ok(other.map(|s| s.trim().to_string())),
    };
    // A period that ends before it starts holds nothing: an empty answer, not an error.
    Ok(AuditFilter {
        actor: text(q.actor, 254, "actor")?,
        action: text(q.action, 100, "action")?,
        since: q.since,
        until: q.until,
        before: q.before,
        limit,
    })
}

/// The audit log, newest first: who did what when, filtered by person, action (or its start)
/// and period; page with `before`.
#[utoipa::path(get, path = "/api/v1/admin/audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = [AuditEntry]), (status = 400, description = "a filter out of range", body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    _user: AuthUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let filter = filter(q, limit)?;
    Ok(Json(
        s.store.read(move |c| audit_entries(c, &filter)).await?,
    ))
}

/// The filtered audit log as CSV (`id,at,actor,action,details`; `at` in UTC, RFC 3339; at most
/// 100,000 entries, newest first), as a download. The export is audited.
#[utoipa::path(get, path = "/api/v1/admin/audit/export", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "the CSV file", content_type = "text/csv"),
              (status = 400, description = "a filter out of range", body = ErrorBody)))]
pub async fn export(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    // `limit` does not apply to an export, but a wrong one is still refused.
    if q.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000").at("limit"));
    }
    let filter = filter(q, EXPORT_MAX)?;
    let read = filter.clone();
    let entries = s.store.read(move |c| audit_entries(c, &read)).await?;
    let body = to_csv(&entries).map_err(|_| ApiError::internal())?;
    let details = json!({
        "actor": filter.actor, "action": filter.action, "since": filter.since,
        "until": filter.until, "entries": entries.len(),
    });
    s.store
        .write(move |ctx| queries::audit(ctx.conn, &user.email, "audit.export", &details, ctx.now))
        .await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
    );
    Ok(response)
}

/// A cell a spreadsheet will show as text: one starting like a formula (`=`, `+`, `-`, `@`, a
/// tab or carriage return) gets a leading `'` (OWASP's advice on CSV injection).
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The entries as CSV with a header row.
pub fn to_csv(entries: &[AuditEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "at", "actor", "action", "details"])?;
    for e in entries {
        let at = chrono::DateTime::from_timestamp_millis(e.at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let details = e.details.to_string();
        w.write_record([
            e.id.to_string().as_str(),
            &at,
            &spreadsheet_safe(&e.actor),
            &spreadsheet_safe(&e.action),
            &spreadsheet_safe(&details),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let entries = vec![
            AuditEntry {
                id: 7,
                actor: "=HYPERLINK(\"http://x\")".into(),
                action: "user.update".into(),
                details: json!({"name": "Müller, \"Chef\"\nzwei"}),
                at: 1_795_900_000_123,
            },
            AuditEntry {
                id: 6,
                actor: "cli".into(),
                action: "user.create".into(),
                details: json!({}),
                at: 0,
            },
        ];
        let text = String::from_utf8(to_csv(&entries).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], "7");
        assert_eq!(&rows[0][1], "2026-11-28T21:06:40.123Z");
        assert_eq!(&rows[0][2], "'=HYPERLINK(\"http://x\")");
        let details: serde_json::Value = serde_json::from_str(&rows[0][4]).unwrap();
        assert_eq!(details["name"], "Müller, \"Chef\"\nzwei");
        assert_eq!(&rows[1][1], "1970-01-01T00:00:00.000Z");
        assert_eq!(spreadsheet_safe("-1"), "'-1");
        assert_eq!(spreadsheet_safe("ada@example.com"), "ada@example.com");
    }
}
