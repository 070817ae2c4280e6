//! `/api/v1/customers*`: the people and companies a tenant supports.

use crm_core::{
    AppState,
    error::Problem,
    ids::CustomerId,
    model::Customer,
    pagination::CustomerPage,
    service::customers::{self, CreateCustomerInput, UpdateCustomerInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Adds a customer. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(post, operation_id = "createCustomer", path = "/api/v1/customers", tag = "customers", security(("bearer" = [])), request_body = CreateCustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]+$", description = "Retrying with the same key and body answers the first response; another body answers 422")),
    responses((status = 201, description = "The new customer (or, for a repeated key, the first answer)", body = Customer),
        (status = 409, description = "A customer with this email exists in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let key = http::idempotency_key(&req)?;
    let input = http::json_body(&req)?;
    http::created(customers::create(&state, &caller, input, key).await?)
}

/// The tenant's customers, newest first, in keyset pages.
#[utoipa::path(get, operation_id = "listCustomers", path = "/api/v1/customers", tag = "customers", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page"),
        ("q" = Option<String>, Query, max_length = 200, description = "Part of the name or email, case-insensitive (at most 200 characters)")),
    responses((status = 200, description = "A page of customers", body = CustomerPage)))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let q = http::search(&req)?;
    http::json(StatusCode::OK, &customers::list(&state, &caller, q.as_deref(), page).await?)
}

/// One customer of the tenant.
#[utoipa::path(get, operation_id = "getCustomer", path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Customer id")),
    responses((status = 200, description = "The customer", body = Customer),
        (status = 404, description = "No such customer in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = CustomerId(http::path_uuid(&req, "id")?);
    http::json(StatusCode::OK, &customers::get(&state, &caller, id).await?)
}

/// Changes any of the create fields.
#[utoipa::path(patch, operation_id = "updateCustomer", path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])), request_body = UpdateCustomerInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Customer id")),
    responses((status = 200, description = "The updated customer", body = Customer),
        (status = 404, description = "No such customer in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another customer of this tenant has this email", body = Problem, content_type = "application/problem+json")))]
pub async fn update(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = CustomerId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    http::json(StatusCode::OK, &customers::update(&state, &caller, id, input).await?)
}

/// Deletes a customer and its resolved tickets. Admin only; refused while it has open tickets.
#[utoipa::path(delete, operation_id = "deleteCustomer", path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Customer id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer has open tickets", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = CustomerId(http::path_uuid(&req, "id")?);
    customers::delete(&state, &caller, id).await?;
    http::no_content()
}

/// Erases the customer and everything about it (GDPR Art. 17), open tickets included: its
/// tickets with their timeline, comments, attachments and stored files, notifications,
/// events in the change feed (`GET /events`) and webhook deliveries. Admin only.
/// Idempotent: a customer erased before answers 202 again. What remains is its id and the
/// time of the erasure.
#[utoipa::path(post, operation_id = "eraseCustomer", path = "/api/v1/customers/{id}/erase", tag = "customers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Customer id")),
    responses((status = 202, description = "Erased (or erased before); the stored files are deleted right after"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in this tenant, now or before", body = Problem, content_type = "application/problem+json")))]
pub async fn erase(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = CustomerId(http::path_uuid(&req, "id")?);
    customers::erase(&state, &caller, id).await?;
    http::empty(StatusCode::ACCEPTED)
}
