//! `/api/v1/webhooks*`: a tenant's admins manage the endpoints its events are posted to.

use crm_core::{
    AppState,
    error::Problem,
    ids::{DeliveryId, WebhookId},
    model::{CreatedWebhook, RotatedSecret, Webhook, WebhookDelivery},
    pagination::{DeliveryPage, WebhookPage},
    service::webhooks::{self, CreateWebhookInput, UpdateWebhookInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

fn webhook_id(req: &Request) -> Result<WebhookId, crm_core::Error> {
    Ok(WebhookId(http::path_uuid(req, "id")?))
}

/// Registers an endpoint. Deliveries are `POST`ed JSON `{type, timestamp, data}` signed
/// per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); the
/// answer holds the signing secret this once. The URL must be `https` (plain `http` only
/// in local development), and its host must resolve to public addresses only: loopback,
/// private (RFC 1918, IPv6 unique-local), link-local, cloud metadata, carrier-grade NAT
/// and IPv4-mapped forms of them are refused, here and again at every delivery. Admin only.
#[utoipa::path(post, operation_id = "createWebhook", path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = CreateWebhookInput,
    responses((status = 201, description = "The endpoint and, this once, its secret", body = CreatedWebhook),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid: an unknown event type, a URL that is not https or reaches a forbidden address", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let input = http::json_body(&req)?;
    http::json(StatusCode::CREATED, &webhooks::create(&state, &caller, input).await?)
}

/// The tenant's endpoints, newest first, in keyset pages; never a secret. Admin only.
#[utoipa::path(get, operation_id = "listWebhooks", path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of endpoints", body = WebhookPage),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    http::json(StatusCode::OK, &webhooks::list(&state, &caller, page).await?)
}

/// Changes an endpoint. `active: false` stops its deliveries; `active: true` resumes them
/// and forgets its past failures. A new URL is checked as at registration. Admin only.
#[utoipa::path(patch, operation_id = "updateWebhook", path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), request_body = UpdateWebhookInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id")),
    responses((status = 200, description = "The endpoint as changed", body = Webhook),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn update(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = webhook_id(&req)?;
    let input: UpdateWebhookInput = http::json_body(&req)?;
    http::json(StatusCode::OK, &webhooks::update(&state, &caller, id, input).await?)
}

/// Removes an endpoint and its delivery log; deliveries not yet made are dropped. Admin only.
#[utoipa::path(delete, operation_id = "deleteWebhook", path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id")),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    webhooks::delete(&state, &caller, webhook_id(&req)?).await?;
    http::empty(StatusCode::NO_CONTENT)
}

/// Makes a new signing secret, shown this once. For 24 hours every delivery carries two
/// signatures, by the new and by the previous secret, so a receiver can switch without
/// missing one. Admin only.
#[utoipa::path(post, operation_id = "rotateWebhookSecret", path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id")),
    responses((status = 200, description = "The new secret", body = RotatedSecret),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_secret(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::OK, &webhooks::rotate_secret(&state, &caller, webhook_id(&req)?).await?)
}

/// Sends the endpoint a `webhook.test` event (even while it is inactive, to check it before
/// turning it back on). The answer is the queued delivery; its outcome shows in the
/// delivery log. Admin only.
#[utoipa::path(post, operation_id = "testWebhook", path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id")),
    responses((status = 202, description = "The test delivery, queued", body = WebhookDelivery),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn test(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    http::json(StatusCode::ACCEPTED, &webhooks::test(&state, &caller, webhook_id(&req)?).await?)
}

/// The endpoint's deliveries, newest first, each with its last attempt's outcome and when
/// the next is due. Admin only.
#[utoipa::path(get, operation_id = "listWebhookDeliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = webhook_id(&req)?;
    let page = http::page(&req)?;
    http::json(StatusCode::OK, &webhooks::deliveries(&state, &caller, id, page).await?)
}

/// Posts the delivery again now, with the same `webhook-id`, whatever its status; if this
/// attempt fails, what is left of the retry schedule applies. Admin only.
#[utoipa::path(post, operation_id = "redeliverWebhookDelivery", path = "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Webhook id"),
        ("deliveryId" = uuid::Uuid, Path, max_length = 36, description = "Delivery id")),
    responses((status = 202, description = "The delivery, due now", body = WebhookDelivery),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint or delivery in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn redeliver(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = webhook_id(&req)?;
    let delivery = DeliveryId(http::path_uuid(&req, "deliveryId")?);
    http::json(StatusCode::ACCEPTED, &webhooks::redeliver(&state, &caller, id, delivery).await?)
}
