//! HTTP surface of the relay. Every route is registered through `utoipa-axum`, so the OpenAPI
//! document served at `/api/v1/openapi.json` is generated from the same annotations that build
//! the router and cannot drift from it.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod autoreplies;
pub mod body_timeout;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod export;
mod export_zip;
pub mod governance;
pub mod media;
mod openapi;
mod openapi_tables;
mod params;
pub use openapi::META_ID_PATH_PARAMS;
pub mod policy;
pub mod roles;
pub mod routing;
pub mod scrape;
pub mod users;
pub mod webhooks;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard relay API", description = "Team inbox relay for the WhatsApp Cloud API. All `*_at` fields are Unix milliseconds."),
    modifiers(&BearerAuth),
    components(schemas(switchboard_protocol::api::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, registered with its OpenAPI annotation.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(scrape::metrics))
        .routes(routes!(webhooks::verify, webhooks::receive))
        // The one anonymous, CPU-heavy route reads at most a few KiB: a flood of huge sign-ins
        // is answered 413 without holding their bodies.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(auth::login))
                .layer(axum::extract::DefaultBodyLimit::max(auth::MAX_LOGIN_BODY)),
        )
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::list_sessions))
        .routes(routes!(auth::end_session))
        .routes(routes!(conversations::list_numbers))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get_one))
        .routes(routes!(conversations::messages, conversations::send))
        .routes(routes!(conversations::mark_read))
        .routes(routes!(media::download))
        .routes(routes!(events::page))
        .routes(routes!(events::stream))
        .routes(routes!(admin::dead_letters))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(users::reset_password))
        .routes(routes!(roles::permissions))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(
            roles::get_role,
            roles::update_role,
            roles::delete_role
        ))
        .routes(routes!(admin::add_number))
        .routes(routes!(accounts::list_accounts))
        .routes(routes!(export::export_all))
        .routes(routes!(export::export_contact))
        .routes(routes!(governance::list_retention))
        .routes(routes!(governance::put_retention))
        .routes(routes!(governance::list_holds))
        .routes(routes!(
            governance::hold_contact,
            governance::release_contact
        ))
        .routes(routes!(
            governance::hold_conversation,
            governance::release_conversation
        ))
        .routes(routes!(governance::erase_contact))
        .routes(routes!(admin::history_imports))
        .routes(routes!(admin::media_archive))
        .routes(routes!(accounts::put_account))
        .routes(routes!(accounts::list_apps))
        .routes(routes!(accounts::put_app, accounts::delete_app))
        .routes(routes!(
            policy::get_sensitive_words,
            policy::put_sensitive_words
        ))
        .routes(routes!(
            autoreplies::list_auto_replies,
            autoreplies::create_auto_reply
        ))
        .routes(routes!(
            autoreplies::get_auto_reply,
            autoreplies::update_auto_reply,
            autoreplies::delete_auto_reply
        ))
        .routes(routes!(autoreplies::test_auto_reply))
        .routes(routes!(policy::check_sensitive_words))
        .routes(routes!(
            policy::get_business_hours,
            policy::put_business_hours,
            policy::delete_business_hours
        ))
        .routes(routes!(policy::get_rate_limit, policy::put_rate_limit))
        .routes(routes!(policy::sync_templates))
        .routes(routes!(policy::list_templates))
        .routes(routes!(policy::list_blocks))
        .routes(routes!(policy::allow_block))
        .routes(routes!(policy::reject_block))
        .routes(routes!(policy::queue))
        .routes(routes!(
            policy::get_team_business_hours,
            policy::put_team_business_hours,
            policy::delete_team_business_hours
        ))
        .routes(routes!(routing::assign))
        .routes(routes!(routing::resolve))
        .routes(routes!(routing::reopen))
        .routes(routes!(routing::measures))
        .routes(routes!(routing::get_status, routing::put_status))
        .routes(routes!(routing::monitor))
        .routes(routes!(routing::agent_conversations))
        .routes(routes!(routing::agent_report))
        .routes(routes!(routing::queue))
        .routes(routes!(routing::get_settings, routing::put_settings))
        .routes(routes!(routing::get_skills, routing::put_skills))
        .routes(routes!(routing::list_teams, routing::create_team))
        .routes(routes!(
            routing::get_team,
            routing::put_team,
            routing::delete_team
        ))
        .routes(routes!(routing::get_agent, routing::put_agent))
        .routes(routes!(routing::get_policy, routing::put_policy))
        .routes(routes!(contacts::get_tags, contacts::put_tags))
        .routes(routes!(contacts::list_notes, contacts::add_note))
        .routes(routes!(contacts::get_directory))
        // Files for sending are larger than any other body.
        .merge(OpenApiRouter::new().routes(routes!(media::upload)).layer(
            axum::extract::DefaultBodyLimit::max(media::MAX_UPLOAD_BYTES + 1),
        ))
}

/// The OpenAPI document as served at `/api/v1/openapi.json`.
pub fn openapi_document() -> serde_json::Value {
    let (_, spec) = routes().split_for_parts();
    finished(spec)
}

/// The generated document with the errors common to many routes and `openapi::finish`.
fn finished(mut spec: utoipa::openapi::OpenApi) -> serde_json::Value {
    document_common_errors(&mut spec);
    openapi::finish(&spec)
}

/// The router and the OpenAPI document generated from it (one registration for both).
pub fn router_and_spec(state: AppState) -> (Router, serde_json::Value) {
    let (router, spec) = routes().split_for_parts();
    let router = router
        // Every route's permission, from one table, checked before its body is read.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::enforce,
        ))
        // The span names the method and the path only: a query string can carry a secret (Meta's
        // verification handshake sends `hub.verify_token` in it).
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
        // A body that stops arriving fails after a pause (a client cannot hold a request open).
        .layer(axum::middleware::from_fn(body_timeout::limit_body_pauses))
        // Meta's webhook bodies reach 3 MB; anything beyond 4 MiB is answered 413 unread.
        .layer(axum::extract::DefaultBodyLimit::max(
            webhooks::MAX_WEBHOOK_BYTES,
        ))
        .with_state(state);
    (router, finished(spec))
}

/// The errors every route of a kind can answer, added once to the document instead of to each
/// annotation: 401 where a bearer token is required (none, expired or ended session), 403 and
/// the permission needed on the routes of [`access::RULES`], and 400 and 413 where a body is read
/// (malformed, wrong type, unknown field; too large).
fn document_common_errors(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    use axum::http::Method;
    for (path, item) in spec.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, op) in operations {
            let Some(op) = op else { continue };
            let needed = access::needs(&method, path).map(|any_of| {
                let names: Vec<String> =
                    any_of.iter().map(|p| format!("`{}`", p.as_str())).collect();
                format!("Needs the permission {}.", names.join(" or "))
            });
            if let Some(needed) = &needed {
                op.description = Some(match op.description.take() {
                    Some(d) if !d.is_empty() => format!("{d}\n\n{needed}"),
                    _ => needed.clone(),
                });
            }
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut op.responses.responses;
            if secured {
                responses.entry("401".into()).or_insert_with(|| {
                    error("no bearer token, or its session has expired or was ended").into()
                });
            }
            if let Some(needed) = needed {
                responses.insert(
                    "403".into(),
                    error(&format!("your role lacks the permission: {needed}")).into(),
                );
            }
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.keys().any(|c| c == "application/json"));
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if json_body {
                responses.entry("400".into()).or_insert_with(|| {
                    error("a parameter or the body is not valid (the body: JSON of the expected shape, unknown fields refused); `field` names it").into()
                });
                responses.entry("415".into()).or_insert_with(|| {
                    error("the body is not JSON (Content-Type must be application/json)").into()
                });
            } else if has_params {
                responses.entry("400".into()).or_insert_with(|| {
                    error("a path or query parameter is not valid; `field` names it").into()
                });
            }
            let path_param = op.parameters.as_ref().is_some_and(|ps| {
                ps.iter()
                    .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path))
            });
            if path_param {
                responses.entry("404".into()).or_insert_with(|| {
                    error("what the path names does not exist or is not visible to you").into()
                });
            }
            if op.request_body.is_some() {
                responses
                    .entry("413".into())
                    .or_insert_with(|| error("the body is larger than this route reads").into());
            }
        }
    }
}

pub fn router(state: AppState) -> Router {
    let (router, spec) = router_and_spec(state);
    router.route(
        "/api/v1/openapi.json",
        get(move || async move { Json(spec) }),
    )
}

/// Ready once the store answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "store reachable"), (status = 503, description = "store unreachable")))]
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s
        .store
        .read(|c| Ok(c.query_row("SELECT CAST(1 AS BIGINT)", (), |r| r.get::<i64>(0))?))
        .await
    {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unreachable"),
    }
}

/// Ready for new work: 503 while the relay drains (after SIGTERM), so a load balancer sends
/// traffic elsewhere; otherwise as `/healthz`.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "serving"), (status = 503, description = "draining or store unreachable")))]
async fn readyz(State(s): State<AppState>) -> axum::response::Response {
    if s.lifecycle.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    healthz(State(s)).await.into_response()
}
