//! `/api/v1/auth/*`: register, login, refresh, logout, me.

use crm_core::{AppState, service::auth};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

pub async fn register(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::register(&state, input).await?;
    http::json(StatusCode::CREATED, &session)
}

pub async fn login(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::login(&state, input).await?;
    http::json(StatusCode::OK, &session)
}

pub async fn refresh(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::refresh(&state, input).await?;
    http::json(StatusCode::OK, &session)
}

pub async fn logout(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    auth::logout(&state, input).await?;
    http::no_content()
}

pub async fn me(state: AppState, req: Request) -> HandlerResult {
    let principal = http::principal(&state, &req)?;
    let me = auth::me(&state, &principal).await?;
    http::json(StatusCode::OK, &me)
}
