//! `/api/v1/tenant`: the tenant itself, and its exports.

use crm_core::{
    AppState,
    error::Problem,
    ids::ExportId,
    service::{
        exports::{self, TenantExport},
        tenancy::{self, DeleteTenantInput},
    },
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

/// Starts an export of everything the tenant holds (admin): users (without password
/// hashes), API keys (without secrets), invitations, the SLA policy, customers, tickets,
/// their timelines, comments, attachments' details, notifications, webhooks (without
/// signing secrets) and their deliveries, erasures and the audit log. A job writes them as
/// JSON Lines (`{"type": …, "data": <row>}`, one row per line, the first line naming the
/// format) to the blob store; poll `GET /tenant/exports/{id}` until READY. Attachment
/// files are not in the export; their download URLs are on the API.
#[utoipa::path(post, operation_id = "createTenantExport", path = "/api/v1/tenant/exports", tag = "tenant", security(("bearer" = [])),
    responses((status = 202, description = "The export is queued", body = TenantExport),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn create_export(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::ACCEPTED, &exports::create(&state, &caller).await?)
}

/// An export: PENDING or RUNNING while the job writes it, then READY with a download URL
/// that works for five minutes (ask again for a fresh one), or FAILED after three tries.
#[utoipa::path(get, operation_id = "getTenantExport", path = "/api/v1/tenant/exports/{id}", tag = "tenant", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Export id")),
    responses((status = 200, description = "The export", body = TenantExport),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn get_export(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = ExportId(http::path_uuid(&req, "id")?);
    http::json(StatusCode::OK, &exports::get(&state, &caller, id).await?)
}
