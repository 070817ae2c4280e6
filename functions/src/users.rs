//! `/api/v1/users*`: an admin manages the people of its tenant.

use crm_core::{
    AppState, Error, ids::UserId, model::Role, pagination::PageRequest, service::users,
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let principal = http::principal(&state, &req)?;
    let input = http::json_body(&req)?;
    let user = users::create(&state, &principal, input).await?;
    http::json(StatusCode::CREATED, &user)
}

pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let principal = http::principal(&state, &req)?;
    let page = PageRequest::parse(
        http::query(&req, "limit").as_deref(),
        http::query(&req, "cursor").as_deref(),
    )?;
    let role = match http::query(&req, "role") {
        None => None,
        Some(raw) => Some(
            raw.parse::<Role>()
                .map_err(|_| Error::invalid_parameter("role", "must be `admin` or `agent`"))?,
        ),
    };
    let page = users::list(&state, &principal, role, page).await?;
    http::json(StatusCode::OK, &page)
}

pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let principal = http::principal(&state, &req)?;
    let id = UserId(http::path_uuid(&req, "id")?);
    let user = users::get(&state, &principal, id).await?;
    http::json(StatusCode::OK, &user)
}

pub async fn update(state: AppState, req: Request) -> HandlerResult {
    let principal = http::principal(&state, &req)?;
    let id = UserId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    let user = users::update(&state, &principal, id, input).await?;
    http::json(StatusCode::OK, &user)
}
