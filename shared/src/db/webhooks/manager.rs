//! Units of work for webhooks, speaking domain errors.

use std::time::Duration;

use uuid::Uuid;

use crate::{
    db::{
        Tx,
        webhooks::{Leased, NewWebhook, Outcome, Recorded, WebhookChanges, repository},
    },
    error::Error,
    ids::{DeliveryId, EventId, TenantId, WebhookId},
    model::{Webhook, WebhookDelivery},
};

const WEBHOOK: &str = "webhook";
const DELIVERY: &str = "delivery";

pub async fn create(tx: &Tx, tenant: TenantId, new: &NewWebhook<'_>) -> Result<Webhook, Error> {
    repository::insert(tx, tenant, new).await.map_err(|e| e.into_error("create webhook"))
}

pub async fn list(tx: &Tx, tenant: TenantId, after: Option<Uuid>, limit: i64) -> Result<Vec<Webhook>, Error> {
    repository::list(tx, tenant, after, limit).await.map_err(|e| e.into_error("list webhooks"))
}

pub async fn update(tx: &Tx, tenant: TenantId, id: WebhookId, changes: &WebhookChanges<'_>) -> Result<Webhook, Error> {
    repository::update(tx, tenant, id, changes)
        .await
        .map_err(|e| e.into_error("update webhook"))?
        .ok_or(Error::NotFound(WEBHOOK))
}

pub async fn delete(tx: &Tx, tenant: TenantId, id: WebhookId) -> Result<(), Error> {
    let deleted = repository::delete(tx, tenant, id).await.map_err(|e| e.into_error("delete webhook"))?;
    if deleted { Ok(()) } else { Err(Error::NotFound(WEBHOOK)) }
}

pub async fn rotate_secret(
    tx: &Tx,
    tenant: TenantId,
    id: WebhookId,
    secret: &str,
    overlap: Duration,
) -> Result<(), Error> {
    let rotated =
        repository::rotate_secret(tx, tenant, id, secret, overlap).await.map_err(|e| e.into_error("rotate secret"))?;
    if rotated { Ok(()) } else { Err(Error::NotFound(WEBHOOK)) }
}

pub async fn enqueue(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    event: EventId,
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<WebhookDelivery, Error> {
    repository::enqueue(tx, tenant, webhook, DeliveryId::generate(), event, event_type, payload)
        .await
        .map_err(|e| e.into_error("queue a delivery"))?
        .ok_or(Error::NotFound(WEBHOOK))
}

pub async fn deliveries(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WebhookDelivery>, Error> {
    let exists = repository::exists(tx, tenant, webhook).await.map_err(|e| e.into_error("find webhook"))?;
    if !exists {
        return Err(Error::NotFound(WEBHOOK));
    }
    repository::deliveries(tx, tenant, webhook, after, limit).await.map_err(|e| e.into_error("list deliveries"))
}

pub async fn redeliver(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    id: DeliveryId,
) -> Result<WebhookDelivery, Error> {
    repository::redeliver(tx, tenant, webhook, id)
        .await
        .map_err(|e| e.into_error("redeliver"))?
        .ok_or(Error::NotFound(DELIVERY))
}

/// The deliveries of the tenant's events to its subscribed endpoints; ids of the new ones.
pub async fn fan_out(
    tx: &Tx,
    tenant: TenantId,
    events: &[Uuid],
    types: &[&str],
    payloads: &[serde_json::Value],
) -> Result<Vec<DeliveryId>, Error> {
    repository::fan_out(tx, tenant, events, types, payloads).await.map_err(|e| e.into_error("fan out to webhooks"))
}

pub async fn lease(tx: &Tx, tenant: TenantId, id: DeliveryId, lease: Duration) -> Result<Option<Leased>, Error> {
    repository::lease(tx, tenant, id, lease).await.map_err(|e| e.into_error("lease a delivery"))
}

pub async fn record(
    tx: &Tx,
    tenant: TenantId,
    id: DeliveryId,
    outcome: &Outcome<'_>,
    disable_after: u32,
    failing_for: Duration,
) -> Result<Option<Recorded>, Error> {
    let disable_after = i32::try_from(disable_after).unwrap_or(i32::MAX);
    repository::record(tx, tenant, id, outcome, disable_after, failing_for)
        .await
        .map_err(|e| e.into_error("record a delivery"))
}

pub async fn admin_addresses(tx: &Tx, tenant: TenantId) -> Result<Vec<String>, Error> {
    repository::admin_addresses(tx, tenant).await.map_err(|e| e.into_error("find the admins"))
}

pub async fn redrive(
    tx: &Tx,
    min_age: Duration,
    limit: i32,
    requeue: Duration,
) -> Result<Vec<(TenantId, DeliveryId)>, Error> {
    repository::redrive(tx, min_age, limit, requeue).await.map_err(|e| e.into_error("re-drive deliveries"))
}
