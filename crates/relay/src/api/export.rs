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
    let stream = futures_util::stream::unfold(
        (store, ExportCursor::default(), 0i64, true),
        move |(store, cursor, after, first)| {
            let scope = scope.clone();
            async move {
                if csv {
                    let (from, to, contact) = match &scope {
                        Scope::All { from, to } => {
                            (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX), None)
                        }
                        Scope::Contact(c) => (i64::MIN, i64::MAX, Some(*c)),
                    };
                    let page = store
                        .read(move |c| {
                            crate::store::messages::messages_after(
                                c, after, contact, from, to, PAGE,
                            )
                        })
                        .await;
                    let page = match page {
                        Ok(p) => p,
                        Err(e) => {
                            return Some((
                                Err(std::io::Error::other(e.to_string())),
                                (store, cursor, after, false),
                            ))
                        }
                    };
                    if page.is_empty() && !first {
                        return None;
                    }
                    let mut w = csv::Writer::from_writer(Vec::new());
                    if first {
                        let _ = w.write_record(csv_header());
                    }
                    for m in &page {
                        let row = csv_row(m);
                        let _ =
                            w.write_record(row.iter().map(|c| spreadsheet_safe(c).into_owned()));
                    }
                    let bytes = w.into_inner().unwrap_or_default();
                    let next = page.last().map_or(after, |m| m.id);
                    let last = page.len() < PAGE;
                    // A short page is the last one: end after it (the next call sees none).
                    let state = (store, cursor, if last { i64::MAX } else { next }, false);
                    Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), state))
                } else {
                    if cursor.done() {
                        return None;
                    }
                    let mut cur = cursor;
                    let read = store
                        .read(move |c| {
                            let lines = next_lines(c, &scope, &mut cur, PAGE)?;
                            Ok((lines, cur))
                        })
                        .await;
                    match read {
                        Ok((lines, cur)) => {
                            let mut out = String::new();
                            for l in lines {
                                out.push_str(&l);
                                out.push('\n');
                            }
                            Some((Ok(Bytes::from(out)), (store, cur, after, false)))
                        }
                        Err(e) => Some((
                            Err(std::io::Error::other(e.to_string())),
                            (store, done_cursor(), after, false),
                        )),
                    }
                }
            }
        },
    );
    Body::from_stream(stream)
}

/// A cursor that ends the stream (after an error).
fn done_cursor() -> ExportCursor {
    let mut c = ExportCursor::default();
    c.finish();
    c
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
    responses((status = 200, description = "JSON Lines (application/x-ndjson) or CSV (text/csv)", content_type = "application/x-ndjson"),
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
    responses((status = 200, description = "JSON Lines (application/x-ndjson) or CSV (text/csv)", content_type = "application/x-ndjson"),
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
