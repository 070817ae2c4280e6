//! `/api/v1/audit-log`: who changed what in the tenant.

use crm_core::{
    AppState,
    db::audit::AuditFilter,
    error::{Error, Problem},
    pagination::AuditPage,
    service::audit,
};
use lambda_http::{Request, http::StatusCode};
use uuid::Uuid;

use crate::{HandlerResult, http};

/// The tenant's audit log, newest first: one entry per write of any route, recorded in
/// the write's own transaction (a write that did not commit has none). Admin only. The
/// entries cannot be changed or removed, not even by the service's own database role.
#[utoipa::path(get, operation_id = "listAuditLog", path = "/api/v1/audit-log", tag = "audit", security(("bearer" = [])),
    params(("actorId" = Option<uuid::Uuid>, Query, max_length = 36, description = "Only writes by this user or API key"),
        ("action" = Option<String>, Query, min_length = 1, max_length = 64, pattern = r"^[a-z][a-z-]*$", description = "Only this action: the function that served the write, e.g. `tickets-update`"),
        ("targetType" = Option<String>, Query, min_length = 1, max_length = 64, pattern = r"^[a-z][a-z-]*$", description = "Only writes on this kind of resource, e.g. `ticket`"),
        ("targetId" = Option<uuid::Uuid>, Query, max_length = 36, description = "Only writes on this resource"),
        ("after" = Option<String>, Query, format = DateTime, max_length = 35, description = "Only writes after this RFC 3339 instant"),
        ("before" = Option<String>, Query, format = DateTime, max_length = 35, description = "Only writes before this RFC 3339 instant"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of audit entries", body = AuditPage),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let filter = AuditFilter {
        actor_id: http::query_parsed::<Uuid>(&req, "actorId", "a UUID")?,
        action: name(&req, "action")?,
        target_type: name(&req, "targetType")?,
        target_id: http::query_parsed::<Uuid>(&req, "targetId", "a UUID")?,
        after: http::query_date_time(&req, "after")?,
        before: http::query_date_time(&req, "before")?,
    };
    http::json(StatusCode::OK, &audit::list(&state, &caller, filter, page).await?)
}

/// An action or resource name: lower-case words joined by `-`, at most 64 characters.
fn name(req: &Request, param: &'static str) -> Result<Option<String>, Error> {
    match http::query(req, param) {
        Some(v)
            if v.len() > 64
                || !v.starts_with(|c: char| c.is_ascii_lowercase())
                || !v.chars().all(|c| c.is_ascii_lowercase() || c == '-') =>
        {
            Err(Error::invalid_parameter(param, "must be lower-case words joined by '-', at most 64 characters"))
        }
        v => Ok(v),
    }
}
