//! `/api/v1/stats`: the caller's tenant at a glance.

use crm_core::{AppState, model::Stats, service::stats};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Ticket counts by status and priority, customer count, mean resolution time. Read from
/// counters kept with every change, so it costs the same for 100 tickets or a million.
#[utoipa::path(get, operation_id = "getStats", path = "/api/v1/stats", tag = "stats", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's stats", body = Stats)))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::OK, &stats::get(&state, &caller).await?)
}
