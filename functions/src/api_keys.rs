//! `/api/v1/api-keys*`: an admin manages the tenant's keys for integrations.

use crm_core::{
    AppState,
    error::Problem,
    ids::ApiKeyId,
    model::CreatedApiKey,
    pagination::ApiKeyPage,
    service::api_keys::{self, CreateApiKeyInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Creates an API key. The answer holds the whole key (`crm_<prefix>_<secret>`) once; it is
/// stored as a hash and cannot be shown again. Admin only.
#[utoipa::path(post, operation_id = "createApiKey", path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = CreateApiKeyInput,
    responses((status = 201, description = "The key's details and, this once, the key", body = CreatedApiKey),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (an `expiresAt` in the past)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    let created = api_keys::create(&state, &caller, input).await?;
    http::json(StatusCode::CREATED, &created)
}

/// The tenant's API keys, revoked ones included, newest first, in keyset pages; never a
/// secret. Admin only.
#[utoipa::path(get, operation_id = "listApiKeys", path = "/api/v1/api-keys", tag = "api-keys", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of API keys", body = ApiKeyPage),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let page = api_keys::list(&state, &caller, page).await?;
    http::json(StatusCode::OK, &page)
}

/// Revokes an API key: it is refused from its very next request. Revoking a revoked key
/// answers 204 again. Admin only.
#[utoipa::path(delete, operation_id = "revokeApiKey", path = "/api/v1/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "API key id")),
    responses((status = 204, description = "Revoked"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = ApiKeyId(http::path_uuid(&req, "id")?);
    api_keys::revoke(&state, &caller, id).await?;
    http::empty(StatusCode::NO_CONTENT)
}
