//! `/api/v1/notifications`: the notification log written by the event consumer.

use crm_core::{AppState, ids::TicketId, pagination::NotificationPage, service::notifications};
use lambda_http::{Request, http::StatusCode};
use uuid::Uuid;

use crate::{HandlerResult, http};

/// The tenant's notifications, newest first, optionally for one ticket.
#[utoipa::path(get, operation_id = "listNotifications", path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(("ticketId" = Option<uuid::Uuid>, Query, max_length = 36, description = "Only this ticket's notifications"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of notifications", body = NotificationPage)))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let ticket = http::query_parsed::<Uuid>(&req, "ticketId", "a UUID")?.map(TicketId);
    http::json(StatusCode::OK, &notifications::list(&state, &caller, ticket, page).await?)
}
