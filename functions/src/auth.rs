//! `/api/v1/auth/*`: register, login, refresh, logout, me.

use crm_core::{
    AppState,
    error::Problem,
    model::{AuthSession, Me},
    service::auth::{self, LoginInput, RefreshInput, RegisterInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Creates a tenant and its first user (an admin), and logs them in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterInput,
    responses((status = 201, description = "Tenant, admin and a token pair", body = AuthSession),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json")))]
pub async fn register(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::register(&state, input).await?;
    http::json(StatusCode::CREATED, &session)
}

/// Exchanges email and password for a token pair. A wrong password and an unknown email
/// answer the same 401.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, description = "A token pair", body = AuthSession),
        (status = 401, description = "Wrong email or password, or a disabled account", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this address or from this IP; see `Retry-After`", body = Problem, content_type = "application/problem+json")))]
pub async fn login(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::login(&state, input, http::source_ip(&req).as_deref()).await?;
    http::json(StatusCode::OK, &session)
}

/// Rotates a refresh token: the presented one is spent; presenting a spent one revokes
/// the whole session (token family).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshInput,
    responses((status = 200, description = "A new token pair", body = AuthSession),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many refused refresh tokens from this IP; see `Retry-After`", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::refresh(&state, input, http::source_ip(&req).as_deref()).await?;
    http::json(StatusCode::OK, &session)
}

/// Ends the session the refresh token belongs to (idempotent).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshInput,
    responses((status = 204, description = "The session is over"),
        (status = 401, description = "Not a refresh token this API issued", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    auth::logout(&state, input).await?;
    http::no_content()
}

/// The caller and its tenant.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let me = auth::me(&state, &caller).await?;
    http::json(StatusCode::OK, &me)
}
