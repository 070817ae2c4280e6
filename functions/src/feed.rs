//! `/api/v1/events`: the change feed integrations sync from.

use crm_core::{
    AppState,
    model::FeedPage,
    service::feed::{self, FeedRequest},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Every event of the tenant in one stable order: ticket, comment, attachment and SLA
/// events as they committed. Read with `after=nextCursor` until `endOfStream`, then poll
/// later with the last cursor: each committed event is handed out exactly once, in the
/// same order on every read, even while many writers commit out of order (an event shows
/// once every transaction that began before it has ended, so the newest events can lag
/// by the length of the longest running transaction). Events are kept for the tenant's
/// lifetime, so a full re-read from the start yields the same sequence.
#[utoipa::path(get, operation_id = "listEvents", path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(("after" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page; from the first event without it"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 to 1000 (default 100)"),
        ("types" = Option<String>, Query, max_length = 200, description = "Only these event types, comma-separated (e.g. `ticket.created,comment.created`)")),
    responses((status = 200, description = "The next events of the feed", body = FeedPage)))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let request = FeedRequest::parse(
        http::query(&req, "after").as_deref(),
        http::query(&req, "limit").as_deref(),
        http::query(&req, "types").as_deref(),
    )?;
    http::json(StatusCode::OK, &feed::list(&state, &caller, request).await?)
}
