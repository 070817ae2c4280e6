//! `/api/v1/auth/*`: register, login, refresh, logout, me.

use crm_core::{
    AppState,
    error::Problem,
    model::{AuthSession, Me, SignupAccepted},
    service::{
        accounts::{self, ChangePasswordInput, ForgotPasswordInput, TokenInput, TokenPasswordInput},
        auth::{self, LoginInput, RefreshInput, RegisterInput},
    },
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Takes a sign-up and mails a single-use link (24 h) that creates the tenant and its
/// admin. A taken address answers the same (its owner gets a mail saying so instead), so
/// the answer never tells which addresses have accounts.
#[utoipa::path(post, operation_id = "register", path = "/api/v1/auth/register", tag = "auth", security(()), request_body = RegisterInput,
    responses((status = 202, description = "A verification link was mailed (or, for a taken address, a note)", body = SignupAccepted)))]
pub async fn register(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let accepted = accounts::register(&state, input).await?;
    http::json(StatusCode::ACCEPTED, &accepted)
}

/// Redeems the sign-up link: the tenant and its admin exist from here on, logged in.
#[utoipa::path(post, operation_id = "verifyEmail", path = "/api/v1/auth/verify-email", tag = "auth", security(()), request_body = TokenInput,
    responses((status = 200, description = "Tenant, admin and a token pair", body = AuthSession),
        (status = 400, description = "The token is used, expired or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address got an account meanwhile (another sign-up was verified first)", body = Problem, content_type = "application/problem+json")))]
pub async fn verify_email(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = accounts::verify_email(&state, input).await?;
    http::json(StatusCode::OK, &session)
}

/// Mails a single-use reset link (1 h) to a known, active address; answers the same for
/// any address.
#[utoipa::path(post, operation_id = "forgotPassword", path = "/api/v1/auth/password/forgot", tag = "auth", security(()), request_body = ForgotPasswordInput,
    responses((status = 202, description = "If the address has an active account, a reset link was mailed")))]
pub async fn forgot_password(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    accounts::forgot_password(&state, input).await?;
    http::empty(StatusCode::ACCEPTED)
}

/// Sets a new password from a reset link; every session of the user ends.
#[utoipa::path(post, operation_id = "resetPassword", path = "/api/v1/auth/password/reset", tag = "auth", security(()), request_body = TokenPasswordInput,
    responses((status = 204, description = "The password is changed and every refresh token revoked"),
        (status = 400, description = "The token is used, expired or unknown", body = Problem, content_type = "application/problem+json")))]
pub async fn reset_password(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    accounts::reset_password(&state, input).await?;
    http::no_content()
}

/// Changes the caller's password; the caller's other sessions end, this one stays.
#[utoipa::path(post, operation_id = "changePassword", path = "/api/v1/auth/password/change", tag = "auth", security(("bearer" = [])), request_body = ChangePasswordInput,
    responses((status = 204, description = "The password is changed; the caller's other refresh tokens are revoked")))]
pub async fn change_password(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    accounts::change_password(&state, &caller, input).await?;
    http::no_content()
}

/// Redeems an invitation with the password the invitee chooses, and logs them in.
#[utoipa::path(post, operation_id = "acceptInvitation", path = "/api/v1/auth/accept-invitation", tag = "auth", security(()), request_body = TokenPasswordInput,
    responses((status = 200, description = "The new user, its tenant and a token pair", body = AuthSession),
        (status = 400, description = "The token is used, expired or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address already has an account", body = Problem, content_type = "application/problem+json")))]
pub async fn accept_invitation(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = accounts::accept_invitation(&state, input).await?;
    http::json(StatusCode::OK, &session)
}

/// Exchanges email and password for a token pair. A wrong password and an unknown email
/// answer the same 401.
#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginInput,
    responses((status = 200, description = "A token pair", body = AuthSession),
        (status = 401, description = "Wrong email or password, or a disabled account", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this address or from this IP; see `Retry-After`", body = Problem, content_type = "application/problem+json")))]
pub async fn login(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::login(&state, input, http::source_ip(&req).as_deref()).await?;
    http::json(StatusCode::OK, &session)
}

/// Rotates a refresh token: the presented one is spent; presenting a spent one revokes
/// the whole session (token family), unless within the reuse grace of its rotation.
#[utoipa::path(post, operation_id = "refreshSession", path = "/api/v1/auth/refresh", tag = "auth", security(()), request_body = RefreshInput,
    responses((status = 200, description = "A new token pair (also for a spent token presented again within `AUTH_REFRESH_REUSE_GRACE_SECS` of its rotation: a retry or a race, not a copy)", body = AuthSession),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many refused refresh tokens from this IP; see `Retry-After`", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    let session = auth::refresh(&state, input, http::source_ip(&req).as_deref()).await?;
    http::json(StatusCode::OK, &session)
}

/// Ends the session the refresh token belongs to (idempotent).
#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "auth", security(()), request_body = RefreshInput,
    responses((status = 204, description = "The session is over"),
        (status = 401, description = "Not a refresh token this API issued", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(state: AppState, req: Request) -> HandlerResult {
    let input = http::json_body(&req)?;
    auth::logout(&state, input).await?;
    http::no_content()
}

/// The caller and its tenant.
#[utoipa::path(get, operation_id = "getMe", path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me)))]
pub async fn me(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let me = auth::me(&state, &caller).await?;
    http::json(StatusCode::OK, &me)
}
