//! `/api/v1/tenant`: the tenant itself.

use crm_core::{
    AppState,
    error::Problem,
    service::tenancy::{self, DeleteTenantInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Deletes the caller's tenant (admin), naming it in `confirm`. From the answer on, every
/// session, access token and API key of the tenant is refused and its webhooks stop; its
/// rows and files are deleted in batches within minutes, after which its addresses may
/// sign up again. Cannot be undone.
#[utoipa::path(delete, operation_id = "deleteTenant", path = "/api/v1/tenant", tag = "tenant", security(("bearer" = [])), request_body = DeleteTenantInput,
    responses((status = 202, description = "The tenant is being deleted"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    tenancy::delete(&state, &caller, input).await?;
    http::empty(StatusCode::ACCEPTED)
}
