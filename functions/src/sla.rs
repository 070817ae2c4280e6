//! `/api/v1/sla-policy`: the tenant's service levels.

use crm_core::{
    AppState,
    error::Problem,
    model::SlaPolicy,
    service::sla::{self, PutPolicyInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// The tenant's service-level policy; a tenant that never set one gets every field null
/// (`holidays` empty) and its tickets have no due dates.
#[utoipa::path(get, operation_id = "getSlaPolicy", path = "/api/v1/sla-policy", tag = "sla", security(("bearer" = [])),
    responses((status = 200, description = "The policy", body = SlaPolicy)))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::OK, &sla::get(&state, &caller).await?)
}

/// Replaces the policy (admin). Due dates are business time from each ticket's
/// `createdAt`: tickets created from now on get them under this policy, and the open
/// tickets are recomputed (the first 1,000 in this request, the rest within minutes).
/// Resolved tickets keep theirs, and a breach already recorded stays recorded. A priority
/// change recomputes its ticket's dates at once.
#[utoipa::path(put, operation_id = "putSlaPolicy", path = "/api/v1/sla-policy", tag = "sla", security(("bearer" = [])), request_body = PutPolicyInput,
    responses((status = 200, description = "The policy as stored (holidays sorted, each once)", body = SlaPolicy),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn put(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    http::json(StatusCode::OK, &sla::put(&state, &caller, input).await?)
}
