//! `/api/v1/users*`: an admin manages the people of its tenant.

use crm_core::{
    AppState, Error,
    error::Problem,
    ids::UserId,
    model::{Invitation, Role, User},
    pagination::UserPage,
    service::{
        accounts::{self, InviteInput},
        users::{self, CreateUserInput, UpdateUserInput},
    },
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Adds a user (agent or admin) to the caller's tenant. Admin only.
#[utoipa::path(post, operation_id = "createUser", path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUserInput,
    responses((status = 201, description = "The new user", body = User),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    let user = users::create(&state, &caller, input).await?;
    http::json(StatusCode::CREATED, &user)
}

/// The tenant's users, newest first, in keyset pages. Admin only.
#[utoipa::path(get, operation_id = "listUsers", path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page"),
        ("role" = Option<Role>, Query, description = "Only users with this role")),
    responses((status = 200, description = "A page of users", body = UserPage),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let role = match http::query(&req, "role") {
        None => None,
        Some(raw) => {
            Some(raw.parse::<Role>().map_err(|_| Error::invalid_parameter("role", "must be `admin` or `agent`"))?)
        }
    };
    let page = users::list(&state, &caller, role, page).await?;
    http::json(StatusCode::OK, &page)
}

/// One user of the tenant. Admins see anyone; an agent only itself.
#[utoipa::path(get, operation_id = "getUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "User id")),
    responses((status = 200, description = "The user", body = User),
        (status = 403, description = "An agent asked for someone else", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = UserId(http::path_uuid(&req, "id")?);
    let user = users::get(&state, &caller, id).await?;
    http::json(StatusCode::OK, &user)
}

/// Renames, changes the role of, disables or re-enables a user. Admin only. Disabling
/// ends the user's sessions; the last active admin cannot be demoted or disabled.
#[utoipa::path(patch, operation_id = "updateUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = UpdateUserInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "User id")),
    responses((status = 200, description = "The updated user", body = User),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave the tenant without an active admin", body = Problem, content_type = "application/problem+json")))]
pub async fn update(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = UserId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    let user = users::update(&state, &caller, id, input).await?;
    http::json(StatusCode::OK, &user)
}

/// Invites someone to the tenant by mail (a single-use link, 72 h); they choose their
/// password when they accept. Admin only.
#[utoipa::path(post, operation_id = "inviteUser", path = "/api/v1/users/invitations", tag = "users", security(("bearer" = [])), request_body = InviteInput,
    responses((status = 201, description = "The invitation (its token is only in the mail)", body = Invitation),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already a user of this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn invite(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    let invitation = accounts::invite(&state, &caller, input).await?;
    http::json(StatusCode::CREATED, &invitation)
}
