//! `/health`: no token; 200 while PostgreSQL answers, 503 problem+json otherwise.

use crm_core::{
    AppState,
    service::health::{self, Health},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// 200 while PostgreSQL answers; 503 problem+json otherwise.
#[utoipa::path(get, operation_id = "getHealth", path = "/health", tag = "system", security(()), responses((status = 200, description = "Serving", body = Health)))]
pub async fn health(state: AppState, _req: Request) -> HandlerResult {
    let report = health::check(&state).await?;
    http::json(StatusCode::OK, &report)
}
