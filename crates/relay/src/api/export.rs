//! Exports (permission `export`, audited): everything, or everything written in a period, as
//! JSON Lines (`GET /api/v1/admin/export`), or one customer (`GET /api/v1/contacts/{id}/export`);
//! `?format=csv` gives the messages as a table. Streamed page by page from the store
//! (`store::export`), so the relay's memory does not grow with the export.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::audit::spreadsheet_safe;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::store::export::{csv_header, csv_row, next_lines, ExportCursor, Scope};
use crate::store::{queries, Store};
use crate::AppState;

/// Lines (or CSV rows) read per store call.
const PAGE: usize = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// Only what was written from this time on (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    from: Option<String>,
    /// Only what was written before this time (RFC 3339).
    to: Option<String>,
    /// `jsonl` (default) or `csv` (the messages as a table).
    format: Option<String>,
}

fn time(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be a time like 2026-01-01T00:00:00Z (RFC 3339)"
                ))
            })
    })
    .transpose()
}

fn csv_wanted(q: &ExportQuery) -> Result<bool, ApiError> {
    match q.format.as_deref() {
        None | Some("jsonl") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad_request("format must be jsonl or csv")),
    }
}

/// The body: JSON Lines, or the messages as CSV, read a page at a time.
fn body(store: Store, scope: Scope, csv: bool) -> Body {
    if csv {
        csv_body(store, scope)
    } else {
        jsonl_body(store, scope)
    }
}

/// JSON Lines, a store page at a time, until the cursor is done (or a read fails).
fn jsonl_body(store: Store, scope: Scope) -> Body {
    let stream = futures_util::stream::unfold(Some(ExportCursor::default()), move |cursor| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            let mut cur = cursor.filter(|c| !c.done())?;
            let read = store
                .read(move |c| Ok((next_lines(c, &scope, &mut cur, PAGE)?, cur)))
                .await;
            Some(match read {
                Ok((lines, cur)) => {
                    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                    (Ok(Bytes::from(text)), Some(cur))
                }
                Err(e) => (Err(std::io::Error::other(e.to_string())), None),
            })
        }
    });
    Body::from_stream(stream)
}

/// The messages as CSV (the header first), a page at a time after the last id written.
fn csv_body(store: Store, scope: Scope) -> Body {
    let (from, to, contact) = match scope {
        Scope::All { from, to } => (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX), None),
        Scope::Contact(c) => (i64::MIN, i64::MAX, Some(c)),
    };
    let stream = futures_util::stream::unfold(Some((0i64, true)), move |state| {
        let store = store.clone();
        async move {
            let (after, first) = state?;
            let page = match store
                .read(move |c| {
                    crate::store::messages::messages_after(c, after, contact, from, to, PAGE)
                })
                .await
            {
                Ok(p) => p,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            if page.is_empty() && !first {
                return None;
            }
            let mut w = csv::Writer::from_writer(Vec::new());
            if first {
                let _ = w.write_record(csv_header());
            }
            for m in &page {
                let _ = w.write_record(csv_row(m).iter().map(|c| spreadsheet_safe(c).into_owned()));
            }
            // A short page is the last one.
            let next = (page.len() == PAGE).then(|| (page.last().map_or(after, |m| m.id), false));
            Some((Ok(Bytes::from(w.into_inner().unwrap_or_default())), next))
        }
    });
    Body::from_stream(stream)
}

fn download(body: Body, csv: bool, name: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/x-ndjson"
        }),
    );
    let file = format!(
        "attachment; filename=\"{name}.{}\"",
        if csv { "csv" } else { "jsonl" }
    );
    if let Ok(v) = HeaderValue::from_str(&file) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Everything (or what was written in `[from, to)`), one JSON object per line with its `kind`
/// (`contact`, `conversation`, `message`, `note`); `format=csv`: the messages as a table.
#[utoipa::path(get, path = "/api/v1/admin/export", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "JSON Lines, or with `format=csv` the messages as CSV", content((String = "application/x-ndjson"), (String = "text/csv"))),
              (status = 400, body = switchboard_protocol::api::ErrorBody)))]
pub async fn export_all(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let csv = csv_wanted(&q)?;
    let (from, to) = (
        time("from", q.from.as_deref())?,
        time("to", q.to.as_deref())?,
    );
    let details = json!({"from": q.from, "to": q.to, "format": if csv { "csv" } else { "jsonl" }});
    s.store
        .write(move |ctx| queries::audit(ctx.conn, &user.email, "export.all", &details, ctx.now))
        .await?;
    Ok(download(
        body(s.store.clone(), Scope::All { from, to }, csv),
        csv,
        "switchboard-export",
    ))
}

/// One customer: their record, conversations, messages and notes (JSON Lines); `format=csv`:
/// their messages as a table.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/export", params(("id" = i64, Path), ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "JSON Lines, or with `format=csv` the messages as CSV", content((String = "application/x-ndjson"), (String = "text/csv"))),
              (status = 400, body = switchboard_protocol::api::ErrorBody), (status = 404, body = switchboard_protocol::api::ErrorBody)))]
pub async fn export_contact(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let csv = csv_wanted(&q)?;
    let u = user.clone();
    s.store
        .read(move |c| crate::store::contacts::check_visible(c, &u, id))
        .await?;
    let details = json!({"contact_id": id, "format": if csv { "csv" } else { "jsonl" }});
    s.store
        .write(move |ctx| {
            queries::audit(ctx.conn, &user.email, "export.contact", &details, ctx.now)
        })
        .await?;
    Ok(download(
        body(s.store.clone(), Scope::Contact(id), csv),
        csv,
        &format!("customer-{id}"),
    ))
}
