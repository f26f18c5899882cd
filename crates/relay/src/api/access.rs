//! Which permission each route needs, in one table ([`RULES`]), enforced for every request
//! before its body is read ([`enforce`]): a caller whose role lacks the permission gets 403 and
//! learns nothing about the route's input rules. The OpenAPI document names each route's
//! permission from the same table (`api::document_common_errors`).
//!
//! A route absent from the table needs only a valid session; what such a route shows still
//! follows the caller's permissions (conversations, customers and the event log show everything
//! only with `see_all_conversations`; taking a colleague's conversation needs `reassign`).

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use switchboard_protocol::api::Permission;

use crate::auth::AuthSession;
use crate::error::ApiError;
use crate::AppState;

/// A route and the permissions of which the caller needs at least one.
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub any_of: &'static [Permission],
}

use Permission::*;

const fn rule(method: Method, path: &'static str, any_of: &'static [Permission]) -> Rule {
    Rule {
        method,
        path,
        any_of,
    }
}

/// Every route that needs a permission. Read-only routes a supervisor's tools also use accept
/// either the managing permission or `monitor`.
pub static RULES: &[Rule] = &[
    // Users and roles.
    rule(Method::GET, "/api/v1/admin/users", &[ManageUsers, Monitor]),
    rule(Method::POST, "/api/v1/admin/users", &[ManageUsers]),
    rule(
        Method::GET,
        "/api/v1/admin/users/{id}",
        &[ManageUsers, Monitor],
    ),
    rule(Method::PATCH, "/api/v1/admin/users/{id}", &[ManageUsers]),
    rule(
        Method::POST,
        "/api/v1/admin/users/{id}/password",
        &[ManageUsers],
    ),
    rule(Method::GET, "/api/v1/admin/permissions", &[ManageUsers]),
    rule(Method::GET, "/api/v1/admin/roles", &[ManageUsers]),
    rule(Method::POST, "/api/v1/admin/roles", &[ManageUsers]),
    rule(Method::GET, "/api/v1/admin/roles/{id}", &[ManageUsers]),
    rule(Method::PATCH, "/api/v1/admin/roles/{id}", &[ManageUsers]),
    rule(Method::DELETE, "/api/v1/admin/roles/{id}", &[ManageUsers]),
    // Numbers and what could not be delivered to them.
    rule(Method::POST, "/api/v1/admin/numbers", &[ManageNumbers]),
    rule(Method::GET, "/api/v1/admin/dead-letters", &[ManageNumbers]),
    // Credentials per business account and Meta app.
    rule(
        Method::GET,
        "/api/v1/admin/business-accounts",
        &[ManageNumbers],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/business-accounts/{waba_id}",
        &[ManageNumbers],
    ),
    rule(Method::GET, "/api/v1/admin/meta-apps", &[ManageNumbers]),
    rule(
        Method::GET,
        "/api/v1/admin/history-imports",
        &[ManageNumbers],
    ),
    rule(Method::GET, "/api/v1/admin/media-archive", &[ManageNumbers]),
    // Exports.
    rule(Method::GET, "/api/v1/admin/export", &[Export]),
    rule(Method::GET, "/api/v1/contacts/{id}/export", &[Export]),
    rule(
        Method::PUT,
        "/api/v1/admin/meta-apps/{app_id}",
        &[ManageNumbers],
    ),
    rule(
        Method::DELETE,
        "/api/v1/admin/meta-apps/{app_id}",
        &[ManageNumbers],
    ),
    // Data governance.
    rule(
        Method::GET,
        "/api/v1/admin/retention",
        &[ManageData, ManageNumbers],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/numbers/{phone_number_id}/retention",
        &[ManageData],
    ),
    rule(Method::GET, "/api/v1/admin/legal-holds", &[ManageData]),
    rule(
        Method::PUT,
        "/api/v1/contacts/{id}/legal-hold",
        &[ManageData],
    ),
    rule(
        Method::DELETE,
        "/api/v1/contacts/{id}/legal-hold",
        &[ManageData],
    ),
    rule(
        Method::PUT,
        "/api/v1/conversations/{id}/legal-hold",
        &[ManageData],
    ),
    rule(
        Method::DELETE,
        "/api/v1/conversations/{id}/legal-hold",
        &[ManageData],
    ),
    rule(Method::DELETE, "/api/v1/contacts/{id}", &[ManageData]),
    // The audit log.
    rule(Method::GET, "/api/v1/admin/audit", &[ViewAudit]),
    rule(Method::GET, "/api/v1/admin/audit/export", &[ViewAudit]),
    // Routing.
    rule(
        Method::GET,
        "/api/v1/admin/routing",
        &[ManageRouting, Monitor],
    ),
    rule(Method::PUT, "/api/v1/admin/routing", &[ManageRouting]),
    rule(
        Method::GET,
        "/api/v1/admin/skills",
        &[ManageRouting, Monitor],
    ),
    rule(Method::PUT, "/api/v1/admin/skills", &[ManageRouting]),
    rule(
        Method::GET,
        "/api/v1/admin/teams",
        &[ManageRouting, Monitor],
    ),
    rule(Method::POST, "/api/v1/admin/teams", &[ManageRouting]),
    rule(
        Method::GET,
        "/api/v1/admin/teams/{id}",
        &[ManageRouting, Monitor],
    ),
    rule(Method::PUT, "/api/v1/admin/teams/{id}", &[ManageRouting]),
    rule(Method::DELETE, "/api/v1/admin/teams/{id}", &[ManageRouting]),
    rule(
        Method::GET,
        "/api/v1/admin/agents/{id}/routing",
        &[ManageRouting, Monitor],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/agents/{id}/routing",
        &[ManageRouting],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/numbers/{phone_number_id}/routing",
        &[ManageRouting, Monitor],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/numbers/{phone_number_id}/routing",
        &[ManageRouting],
    ),
    // Automations and the outbound policy.
    rule(
        Method::GET,
        "/api/v1/admin/sensitive-words",
        &[ManageAutomations],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/sensitive-words",
        &[ManageAutomations],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/auto-replies",
        &[ManageAutomations],
    ),
    rule(
        Method::POST,
        "/api/v1/admin/auto-replies",
        &[ManageAutomations],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/auto-replies/{id}",
        &[ManageAutomations],
    ),
    rule(
        Method::DELETE,
        "/api/v1/admin/auto-replies/{id}",
        &[ManageAutomations],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/auto-replies/{id}",
        &[ManageAutomations],
    ),
    rule(
        Method::POST,
        "/api/v1/admin/auto-replies/test",
        &[ManageAutomations],
    ),
    rule(
        Method::POST,
        "/api/v1/admin/sensitive-words/check",
        &[ManageAutomations],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/business-hours/{phone_number_id}",
        &[ManageAutomations, Monitor],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/business-hours/{phone_number_id}",
        &[ManageAutomations],
    ),
    rule(
        Method::DELETE,
        "/api/v1/admin/business-hours/{phone_number_id}",
        &[ManageAutomations],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/teams/{id}/business-hours",
        &[ManageAutomations, Monitor],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/teams/{id}/business-hours",
        &[ManageAutomations],
    ),
    rule(
        Method::DELETE,
        "/api/v1/admin/teams/{id}/business-hours",
        &[ManageAutomations],
    ),
    rule(
        Method::GET,
        "/api/v1/admin/rate-limits/{phone_number_id}",
        &[ManageAutomations, Monitor],
    ),
    rule(
        Method::PUT,
        "/api/v1/admin/rate-limits/{phone_number_id}",
        &[ManageAutomations],
    ),
    rule(
        Method::POST,
        "/api/v1/admin/templates/sync",
        &[ManageAutomations],
    ),
    // Supervision.
    rule(Method::GET, "/api/v1/policy/blocks", &[ReviewBlocked]),
    rule(
        Method::POST,
        "/api/v1/policy/blocks/{id}/allow",
        &[ReviewBlocked],
    ),
    rule(
        Method::POST,
        "/api/v1/policy/blocks/{id}/reject",
        &[ReviewBlocked],
    ),
    rule(Method::GET, "/api/v1/queue", &[Monitor]),
    rule(Method::GET, "/api/v1/monitor", &[Monitor]),
    rule(Method::GET, "/api/v1/monitor/queue", &[Monitor]),
    rule(
        Method::GET,
        "/api/v1/monitor/agents/{id}/report",
        &[Monitor],
    ),
    rule(
        Method::GET,
        "/api/v1/monitor/agents/{id}/conversations",
        &[Monitor],
    ),
];

/// The permissions (any of) a route needs, by its method and path template.
pub fn needs(method: &Method, path: &str) -> Option<&'static [Permission]> {
    RULES
        .iter()
        .find(|r| r.method == *method && r.path == path)
        .map(|r| r.any_of)
}

/// The middleware: for a route in [`RULES`], the caller's session is checked (401) and then
/// their role's permissions (403) before the handler or its body extractor runs; the session
/// is handed on so the handler does not look it up again.
pub async fn enforce(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let any_of = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| needs(req.method(), p.as_str()));
    let Some(any_of) = any_of else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let session = match AuthSession::from_request_parts(&mut parts, &s).await {
        Ok(session) => session,
        Err(e) => return e.into_response(),
    };
    if !any_of.iter().any(|p| session.user.can(*p)) {
        let names: Vec<&str> = any_of.iter().map(|p| p.as_str()).collect();
        return ApiError::forbidden(format!(
            "your role ({}) does not have the permission {}",
            session.user.role,
            names.join(" or ")
        ))
        .into_response();
    }
    parts.extensions.insert(session);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_unique_and_names_a_permission() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(!r.any_of.is_empty(), "{} {}", r.method, r.path);
            assert!(
                RULES[..i]
                    .iter()
                    .all(|o| !(o.method == r.method && o.path == r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
        }
        assert_eq!(needs(&Method::GET, "/api/v1/monitor"), Some(&[Monitor][..]));
        assert_eq!(needs(&Method::GET, "/api/v1/conversations"), None);
    }
}
