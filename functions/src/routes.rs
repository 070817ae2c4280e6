//! The route table: the single source for the Lambda binaries, `crm-local` and the test
//! that `template.yaml` declares exactly these routes.

use std::{collections::HashMap, future::Future, pin::Pin};

use crm_core::{AppState, config::Needs};
use lambda_http::{Request, http::Method};

use crate::{
    HandlerResult, api_keys, attachments, audit, auth, comments, customers, docs, feed, notifications, sla, stats,
    system, tags, tenancy, tickets, users, webhooks,
};

pub type BoxedHandler = fn(AppState, Request) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>>;

pub struct Route {
    pub method: Method,
    /// API Gateway's template syntax: `/api/v1/users/{id}`.
    pub path: &'static str,
    /// The binary and SAM function name (kebab-case).
    pub function: &'static str,
    /// The controller, as its path inside this crate (the binary names the same one).
    pub handler_name: &'static str,
    pub handler: BoxedHandler,
    /// The secrets the function is deployed with (template.yaml) and checks for at start.
    pub needs: Needs,
}

impl Route {
    /// API Gateway's route key, e.g. `GET /api/v1/users/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

// One list makes two tables: `routes()` with the handlers, for crm-local and the tests,
// and `HTTP_NEEDS` without them. A binary asks only the second at start-up, so it links
// its own controller and not every other one (with their AWS clients): the zips stay small.
macro_rules! route_table {
    ($($method:ident $path:literal => $function:literal, $($handler:ident)::+; $needs:ident,)+) => {
        pub fn routes() -> Vec<Route> {
            vec![$(Route {
                method: Method::$method,
                path: $path,
                function: $function,
                handler_name: stringify!($($handler)::+),
                handler: |state, req| Box::pin($($handler)::+(state, req)),
                needs: $needs,
            }),+]
        }

        /// What each HTTP function needs, without naming its handler.
        const HTTP_NEEDS: &[(&str, Needs)] = &[$(($function, $needs)),+];
    };
}

// What a function needs, for the table below. A bearer token, or a session it opens
// (login, refresh, verify-email, accept-invitation sign access tokens), needs the JWT key.
const DB_JWT: Needs = Needs::DATABASE_AND_JWT;
const DB: Needs = Needs::DATABASE;
const NONE: Needs = Needs::NOTHING;

route_table! {
    POST "/api/v1/auth/register" => "auth-register", auth::register; DB,
    POST "/api/v1/auth/verify-email" => "auth-verify-email", auth::verify_email; DB_JWT,
    POST "/api/v1/auth/login" => "auth-login", auth::login; DB_JWT,
    POST "/api/v1/auth/refresh" => "auth-refresh", auth::refresh; DB_JWT,
    POST "/api/v1/auth/logout" => "auth-logout", auth::logout; DB,
    GET "/api/v1/auth/me" => "auth-me", auth::me; DB_JWT,
    POST "/api/v1/auth/password/forgot" => "auth-password-forgot", auth::forgot_password; DB,
    POST "/api/v1/auth/password/reset" => "auth-password-reset", auth::reset_password; DB,
    POST "/api/v1/auth/password/change" => "auth-password-change", auth::change_password; DB_JWT,
    POST "/api/v1/auth/accept-invitation" => "auth-accept-invitation", auth::accept_invitation; DB_JWT,
    POST "/api/v1/users" => "users-create", users::create; DB_JWT,
    GET "/api/v1/users" => "users-list", users::list; DB_JWT,
    GET "/api/v1/users/{id}" => "users-get", users::get; DB_JWT,
    PATCH "/api/v1/users/{id}" => "users-update", users::update; DB_JWT,
    POST "/api/v1/users/invitations" => "users-invite", users::invite; DB_JWT,
    POST "/api/v1/api-keys" => "api-keys-create", api_keys::create; DB_JWT,
    GET "/api/v1/api-keys" => "api-keys-list", api_keys::list; DB_JWT,
    DELETE "/api/v1/api-keys/{id}" => "api-keys-revoke", api_keys::revoke; DB_JWT,
    POST "/api/v1/customers" => "customers-create", customers::create; DB_JWT,
    GET "/api/v1/customers" => "customers-list", customers::list; DB_JWT,
    GET "/api/v1/customers/{id}" => "customers-get", customers::get; DB_JWT,
    PATCH "/api/v1/customers/{id}" => "customers-update", customers::update; DB_JWT,
    DELETE "/api/v1/customers/{id}" => "customers-delete", customers::delete; DB_JWT,
    POST "/api/v1/customers/{id}/erase" => "customers-erase", customers::erase; DB_JWT,
    POST "/api/v1/tickets" => "tickets-create", tickets::create; DB_JWT,
    GET "/api/v1/tickets" => "tickets-list", tickets::list; DB_JWT,
    GET "/api/v1/tickets/{id}" => "tickets-get", tickets::get; DB_JWT,
    PATCH "/api/v1/tickets/{id}" => "tickets-update", tickets::update; DB_JWT,
    PATCH "/api/v1/tickets/{id}/status" => "tickets-status", tickets::set_status; DB_JWT,
    PATCH "/api/v1/tickets/{id}/assign" => "tickets-assign", tickets::assign; DB_JWT,
    GET "/api/v1/tickets/{id}/events" => "tickets-events", tickets::events; DB_JWT,
    POST "/api/v1/tickets/{id}/comments" => "comments-create", comments::create; DB_JWT,
    GET "/api/v1/tickets/{id}/comments" => "comments-list", comments::list; DB_JWT,
    POST "/api/v1/tickets/{id}/attachments" => "attachments-create", attachments::create; DB_JWT,
    POST "/api/v1/tickets/{id}/attachments/{attachmentId}/complete" => "attachments-complete", attachments::complete; DB_JWT,
    GET "/api/v1/tickets/{id}/attachments" => "attachments-list", attachments::list; DB_JWT,
    GET "/api/v1/tickets/{id}/attachments/{attachmentId}" => "attachments-get", attachments::get; DB_JWT,
    DELETE "/api/v1/tickets/{id}/attachments/{attachmentId}" => "attachments-delete", attachments::delete; DB_JWT,
    GET "/api/v1/events" => "events-list", feed::list; DB_JWT,
    POST "/api/v1/webhooks" => "webhooks-create", webhooks::create; DB_JWT,
    GET "/api/v1/webhooks" => "webhooks-list", webhooks::list; DB_JWT,
    PATCH "/api/v1/webhooks/{id}" => "webhooks-update", webhooks::update; DB_JWT,
    DELETE "/api/v1/webhooks/{id}" => "webhooks-delete", webhooks::delete; DB_JWT,
    POST "/api/v1/webhooks/{id}/rotate-secret" => "webhooks-rotate-secret", webhooks::rotate_secret; DB_JWT,
    POST "/api/v1/webhooks/{id}/test" => "webhooks-test", webhooks::test; DB_JWT,
    GET "/api/v1/webhooks/{id}/deliveries" => "webhooks-deliveries", webhooks::deliveries; DB_JWT,
    POST "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver" => "webhooks-redeliver", webhooks::redeliver; DB_JWT,
    GET "/api/v1/notifications" => "notifications-list", notifications::list; DB_JWT,
    GET "/api/v1/stats" => "stats", stats::get; DB_JWT,
    GET "/api/v1/sla-policy" => "sla-policy-get", sla::get; DB_JWT,
    PUT "/api/v1/sla-policy" => "sla-policy-put", sla::put; DB_JWT,
    GET "/api/v1/tags" => "tags-list", tags::list; DB_JWT,
    GET "/api/v1/audit-log" => "audit-log-list", audit::list; DB_JWT,
    DELETE "/api/v1/tenant" => "tenant-delete", tenancy::delete; DB_JWT,
    POST "/api/v1/tenant/exports" => "tenant-exports-create", tenancy::create_export; DB_JWT,
    GET "/api/v1/tenant/exports/{id}" => "tenant-exports-get", tenancy::get_export; DB_JWT,
    GET "/health" => "health", system::health; DB,
    GET "/api-docs" => "docs", docs::serve; NONE,
    GET "/api-docs/openapi.json" => "docs", docs::serve; NONE,
    GET "/api-docs/assets/{file}" => "docs", docs::serve; NONE,
}

/// Functions with no HTTP route (they have a binary and a SAM resource all the same), and
/// what each needs: none verifies a token.
pub const NON_HTTP_FUNCTIONS: &[(&str, Needs)] = &[
    ("migrate", Needs::OWNER_DATABASE),
    ("outbox-sweeper", Needs::DATABASE),
    ("sla-monitor", Needs::DATABASE),
    ("tenant-export", Needs::DATABASE),
    ("ticket-consumer", Needs::DATABASE),
    ("webhook-dispatcher", Needs::DATABASE),
];

/// What `function` (a binary) needs, from the tables above.
pub fn needs(function: &str) -> Option<Needs> {
    HTTP_NEEDS.iter().chain(NON_HTTP_FUNCTIONS).find(|(name, _)| *name == function).map(|(_, needs)| *needs)
}

/// What a path resolves to: a route with its path parameters, or why not.
pub enum Match<'a> {
    Found(&'a Route, HashMap<String, String>),
    /// The path exists under other methods (405 with `Allow`).
    WrongMethod(Vec<String>),
    NotFound,
}

pub fn find<'a>(routes: &'a [Route], method: &Method, path: &str) -> Match<'a> {
    let mut allowed = Vec::new();
    for route in routes {
        if let Some(params) = match_template(route.path, path) {
            if route.method == *method {
                return Match::Found(route, params);
            }
            allowed.push(route.method.to_string());
        }
    }
    if allowed.is_empty() { Match::NotFound } else { Match::WrongMethod(allowed) }
}

/// Matches `/a/{x}/b` against `/a/42/b`, as API Gateway does (one segment per parameter).
fn match_template(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut params = HashMap::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.insert(name.to_owned(), ps.to_owned());
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment_per_parameter() {
        let routes = routes();
        match find(&routes, &Method::GET, "/api/v1/users/abc") {
            Match::Found(r, params) => {
                assert_eq!(r.function, "users-get");
                assert_eq!(params["id"], "abc");
            }
            _ => panic!("users-get should match"),
        }
        assert!(matches!(find(&routes, &Method::GET, "/api/v1/users/abc/def"), Match::NotFound));
        assert!(matches!(find(&routes, &Method::GET, "/api/v1/nope"), Match::NotFound));
        match find(&routes, &Method::DELETE, "/api/v1/users/abc") {
            Match::WrongMethod(allow) => assert_eq!(allow, ["GET", "PATCH"]),
            _ => panic!("should be 405"),
        }
    }

    #[test]
    fn every_route_key_is_unique() {
        let routes = routes();
        let mut keys: Vec<String> = routes.iter().map(Route::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), routes.len());
    }
}
