//! `/api/v1/tags`: the tenant's ticket tags and their counts.

use crm_core::{AppState, model::TagList, service::tags};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Every tag on the tenant's tickets with how many carry it, the most used first (at most
/// 1,000). Read from counters kept with every change, never by scanning tickets.
#[utoipa::path(get, operation_id = "listTags", path = "/api/v1/tags", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's tags", body = TagList)))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::OK, &tags::list(&state, &caller).await?)
}
