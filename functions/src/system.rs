//! `/health`: no token; 200 while PostgreSQL answers, 503 problem+json otherwise.

use crm_core::{AppState, service::health};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

pub async fn health(state: AppState, _req: Request) -> HandlerResult {
    let report = health::check(&state).await?;
    http::json(StatusCode::OK, &report)
}
