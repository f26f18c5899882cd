//! Exports (permission `export`, audited): everything, or everything written in a period, as
//! JSON Lines (`GET /api/v1/admin/export`), or one customer (`GET /api/v1/contacts/{id}/export`);
//! `?format=csv` gives the messages as a table, `?format=zip` both with the files the messages
//! carry (`export_zip`). Streamed page by page from the store (`store::export`), so the relay's
//! memory does not grow with the export.

use crate::extract::{Path, Query};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::store::export::{csv_page, next_lines, ExportCursor, Scope};
use crate::store::{queries, Store};
use crate::AppState;

/// Lines (or CSV rows) read per store call.
const PAGE: usize = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// Only what was written from this time on (RFC 3339, e.g. `2026-01-01T00:00:00Z`).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Only what was written before this time (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
    /// `jsonl` (default), `csv` (the messages as a table) or `zip` (both, and the files the
    /// messages carry).
    #[param(pattern = "^(jsonl|csv|zip)$")]
    format: Option<String>,
}

/// The query of a customer's export: the format only (a customer's export holds all of them).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ContactExportQuery {
    /// `jsonl` (default), `csv` or `zip`.
    #[param(pattern = "^(jsonl|csv|zip)$")]
    format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Jsonl,
    Csv,
    Zip,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Zip => "zip",
        }
    }
}

fn time(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|t| {
        super::params::rfc3339_ms(t).ok_or(()).map_err(|_| {
            ApiError::bad_request(format!(
                "{name} must be a time like 2026-01-01T00:00:00Z (RFC 3339)"
            ))
        })
    })
    .transpose()
}

fn format(f: Option<&str>) -> Result<Format, ApiError> {
    match f {
        None | Some("jsonl") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        Some("zip") => Ok(Format::Zip),
        Some(_) => Err(ApiError::bad_request("format must be jsonl, csv or zip")),
    }
}

/// The body: JSON Lines, the messages as CSV, or a zip of both with the files, read a page at a
/// time.
fn body(s: &AppState, scope: Scope, format: Format) -> Body {
    match format {
        Format::Jsonl => jsonl_body(s.store.clone(), scope),
        Format::Csv => csv_body(s.store.clone(), scope),
        Format::Zip => super::export_zip::zip_body(s.clone(), scope),
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
    let stream = futures_util::stream::unfold(Some((0i64, true)), move |state| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            let (after, first) = state?;
            match store
                .read(move |c| csv_page(c, &scope, after, first, PAGE))
                .await
            {
                Ok((bytes, next)) => Some((Ok(Bytes::from(bytes)), next.map(|n| (n, false)))),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    Body::from_stream(stream)
}

fn download(body: Body, format: Format, name: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match format {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
            Format::Zip => "application/zip",
        }),
    );
    let file = format!("attachment; filename=\"{name}.{}\"", format.name());
    if let Ok(v) = HeaderValue::from_str(&file) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Everything (or what was written in `[from, to)`), one JSON object per line with its `kind`
/// (`contact`, `conversation`, `message`, `note`); `format=csv`: the messages as a table.
#[utoipa::path(get, path = "/api/v1/admin/export", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "JSON Lines; with `format=csv` the messages as CSV; with `format=zip` both and the files", content((String = "application/x-ndjson"), (String = "text/csv"), (Vec<u8> = "application/zip"))),
              (status = 400, body = switchboard_protocol::api::ErrorBody)))]
pub async fn export_all(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = format(q.format.as_deref())?;
    let (from, to) = (
        time("from", q.from.as_deref())?,
        time("to", q.to.as_deref())?,
    );
    let details = json!({"from": q.from, "to": q.to, "format": format.name()});
    s.store
        .write(move |ctx| queries::audit(ctx.conn, &user.email, "export.all", &details, ctx.now))
        .await?;
    Ok(download(
        body(&s, Scope::All { from, to }, format),
        format,
        "switchboard-export",
    ))
}

/// One customer: their record, conversations, messages and notes (JSON Lines); `format=csv`:
/// their messages as a table.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/export", params(("id" = i64, Path), ContactExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "JSON Lines; with `format=csv` the messages as CSV; with `format=zip` both and the files", content((String = "application/x-ndjson"), (String = "text/csv"), (Vec<u8> = "application/zip"))),
              (status = 400, body = switchboard_protocol::api::ErrorBody), (status = 404, body = switchboard_protocol::api::ErrorBody)))]
pub async fn export_contact(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<ContactExportQuery>,
) -> Result<Response, ApiError> {
    let format = format(q.format.as_deref())?;
    let u = user.clone();
    s.store
        .read(move |c| crate::store::contacts::check_visible(c, &u, id))
        .await?;
    let details = json!({"contact_id": id, "format": format.name()});
    s.store
        .write(move |ctx| {
            queries::audit(ctx.conn, &user.email, "export.contact", &details, ctx.now)
        })
        .await?;
    Ok(download(
        body(&s, Scope::Contact(id), format),
        format,
        &format!("customer-{id}"),
    ))
}
