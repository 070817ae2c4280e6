//! SQL for webhook endpoints and deliveries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx, keyset::KeysetQuery},
    ids::{DeliveryId, EventId, TenantId, WebhookId},
    model::{DeliveryStatus, Webhook, WebhookDelivery},
};

pub struct NewWebhook<'a> {
    pub id: WebhookId,
    pub url: &'a str,
    pub events: &'a [String],
    pub description: &'a str,
    pub secret: &'a str,
}

/// What an admin's PATCH changes; `None` keeps the field.
pub struct WebhookChanges<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [String]>,
    pub description: Option<&'a str>,
    pub active: Option<bool>,
}

/// A delivery the dispatcher holds, with what posting it needs.
pub struct Leased {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_type: String,
    pub payload: serde_json::Value,
    /// Attempts made before this one.
    pub attempt: i32,
    pub url: String,
    pub active: bool,
    pub secret: String,
    /// The secret before the last rotation, while it still signs.
    pub previous_secret: Option<String>,
}

/// How an attempt ended, as the dispatcher records it.
pub struct Outcome<'a> {
    pub status: DeliveryStatus,
    pub response_status: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<&'a str>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The endpoint after an attempt was recorded.
pub struct Recorded {
    pub url: String,
    /// This attempt deactivated the endpoint.
    pub deactivated: bool,
}

const WEBHOOK: &str = "id, url, events, description, active, created_at";
const DELIVERY: &str =
    "id, event_id, event_type, attempt, status, response_status, duration_ms, error, created_at, next_attempt_at";

fn webhook(row: &Row) -> Result<Webhook, DbError> {
    Ok(Webhook {
        id: WebhookId(row.try_get("id")?),
        url: row.try_get("url")?,
        events: row.try_get("events")?,
        description: row.try_get("description")?,
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
    })
}

fn delivery(row: &Row) -> Result<WebhookDelivery, DbError> {
    let status: String = row.try_get("status")?;
    Ok(WebhookDelivery {
        id: DeliveryId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        event_type: row.try_get("event_type")?,
        attempt: row.try_get("attempt")?,
        status: status.parse().map_err(|()| DbError::Corrupt(format!("delivery status {status:?}")))?,
        response_status: row.try_get("response_status")?,
        duration_ms: row.try_get("duration_ms")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
    })
}

pub(super) async fn insert(tx: &Tx, tenant: TenantId, new: &NewWebhook<'_>) -> Result<Webhook, DbError> {
    let sql = format!(
        "INSERT INTO webhooks (tenant_id, id, url, events, description, secret)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WEBHOOK}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx
        .client()
        .query_one(&stmt, &[&tenant.0, &new.id.0, &new.url, &new.events, &new.description, &new.secret])
        .await?;
    webhook(&row)
}

pub(super) async fn list(tx: &Tx, tenant: TenantId, after: Option<Uuid>, limit: i64) -> Result<Vec<Webhook>, DbError> {
    let rows = KeysetQuery::new(format!("SELECT {WEBHOOK} FROM webhooks"), "tenant_id", &tenant.0)
        .fetch(tx, "id", &after, &limit)
        .await?;
    rows.iter().map(webhook).collect()
}

pub(super) async fn update(
    tx: &Tx,
    tenant: TenantId,
    id: WebhookId,
    changes: &WebhookChanges<'_>,
) -> Result<Option<Webhook>, DbError> {
    // Reactivating an endpoint starts its failure count afresh.
    let sql = format!(
        "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4, events),
             description = coalesce($5, description), active = coalesce($6, active),
             consecutive_failures = CASE WHEN $6 AND NOT active THEN 0 ELSE consecutive_failures END,
             failing_since = CASE WHEN $6 AND NOT active THEN NULL ELSE failing_since END,
             deactivated_at = CASE WHEN $6 IS NULL THEN deactivated_at WHEN $6 THEN NULL
                                   ELSE coalesce(deactivated_at, now()) END,
             updated_at = now()
         WHERE tenant_id = $1 AND id = $2
         RETURNING {WEBHOOK}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx
        .client()
        .query_opt(&stmt, &[&tenant.0, &id.0, &changes.url, &changes.events, &changes.description, &changes.active])
        .await?;
    row.as_ref().map(webhook).transpose()
}

pub(super) async fn delete(tx: &Tx, tenant: TenantId, id: WebhookId) -> Result<bool, DbError> {
    let stmt = tx.client().prepare_cached("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2").await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0]).await? == 1)
}

pub(super) async fn rotate_secret(
    tx: &Tx,
    tenant: TenantId,
    id: WebhookId,
    secret: &str,
    overlap: Duration,
) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE webhooks SET previous_secret = secret,
                 previous_secret_expires = now() + make_interval(secs => $4), secret = $3, updated_at = now()
             WHERE tenant_id = $1 AND id = $2",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0, &secret, &overlap.as_secs_f64()]).await? == 1)
}

pub(super) async fn exists(tx: &Tx, tenant: TenantId, id: WebhookId) -> Result<bool, DbError> {
    let stmt = tx.client().prepare_cached("SELECT 1 FROM webhooks WHERE tenant_id = $1 AND id = $2").await?;
    Ok(tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.is_some())
}

/// A delivery of `event_type` to the endpoint, due now; `None` when there is no such endpoint.
pub(super) async fn enqueue(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    id: DeliveryId,
    event: EventId,
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<Option<WebhookDelivery>, DbError> {
    let sql = format!(
        "INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, next_attempt_at)
         SELECT $1, $3, w.id, $4, $5, $6, now() FROM webhooks w WHERE w.tenant_id = $1 AND w.id = $2
         RETURNING {DELIVERY}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx.client().query_opt(&stmt, &[&tenant.0, &webhook.0, &id.0, &event.0, &event_type, payload]).await?;
    row.as_ref().map(delivery).transpose()
}

/// The endpoint's deliveries, newest first, after `after`, one more than the page.
pub(super) async fn deliveries(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WebhookDelivery>, DbError> {
    let webhook = Some(webhook.0);
    let rows = KeysetQuery::new(format!("SELECT {DELIVERY} FROM webhook_deliveries"), "tenant_id", &tenant.0)
        .and("webhook_id =", &webhook)
        .fetch(tx, "id", &after, &limit)
        .await?;
    rows.iter().map(delivery).collect()
}

/// Makes the delivery due now; its remaining schedule applies if this attempt fails.
pub(super) async fn redeliver(
    tx: &Tx,
    tenant: TenantId,
    webhook: WebhookId,
    id: DeliveryId,
) -> Result<Option<WebhookDelivery>, DbError> {
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now()
         WHERE tenant_id = $1 AND webhook_id = $2 AND id = $3
         RETURNING {DELIVERY}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx.client().query_opt(&stmt, &[&tenant.0, &webhook.0, &id.0]).await?;
    row.as_ref().map(delivery).transpose()
}

/// One delivery per event and active endpoint subscribed to its type, due now; an event
/// fanned out before (a redelivered message) adds none. Answers the new deliveries' ids.
pub(super) async fn fan_out(
    tx: &Tx,
    tenant: TenantId,
    events: &[Uuid],
    types: &[&str],
    payloads: &[serde_json::Value],
) -> Result<Vec<DeliveryId>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, next_attempt_at)
             SELECT $1, uuid_v7(), w.id, e.event_id, e.event_type, e.payload, now()
             FROM unnest($2::uuid[], $3::text[], $4::jsonb[]) AS e (event_id, event_type, payload)
             JOIN webhooks w ON w.tenant_id = $1 AND w.active AND w.events && ARRAY[e.event_type, '*']
             ON CONFLICT (tenant_id, webhook_id, event_id) DO NOTHING
             RETURNING id",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &events, &types, &payloads]).await?;
    rows.iter().map(|r| Ok(DeliveryId(r.try_get(0)?))).collect()
}

/// Takes the delivery for `lease` if it is due and nobody holds it.
pub(super) async fn lease(
    tx: &Tx,
    tenant: TenantId,
    id: DeliveryId,
    lease: Duration,
) -> Result<Option<Leased>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE webhook_deliveries d SET leased_until = clock_timestamp() + make_interval(secs => $3)
             FROM webhooks w
             WHERE d.tenant_id = $1 AND d.id = $2 AND w.tenant_id = d.tenant_id AND w.id = d.webhook_id
               AND d.status = 'PENDING' AND d.next_attempt_at <= clock_timestamp() + interval '1 second'
               AND (d.leased_until IS NULL OR d.leased_until <= clock_timestamp())
             RETURNING d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.attempt, w.url, w.active, w.secret,
                 CASE WHEN w.previous_secret_expires > now() THEN w.previous_secret END AS previous_secret",
        )
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&tenant.0, &id.0, &lease.as_secs_f64()]).await? else {
        return Ok(None);
    };
    Ok(Some(Leased {
        id: DeliveryId(row.try_get("id")?),
        webhook_id: WebhookId(row.try_get("webhook_id")?),
        event_id: EventId(row.try_get("event_id")?),
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        attempt: row.try_get("attempt")?,
        url: row.try_get("url")?,
        active: row.try_get("active")?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
    }))
}

/// Records an attempt and its endpoint's failure count; deactivates the endpoint when
/// this FAILED delivery makes `disable_after` in a row, or when it has failed since
/// longer than `failing_for`.
pub(super) async fn record(
    tx: &Tx,
    tenant: TenantId,
    id: DeliveryId,
    outcome: &Outcome<'_>,
    disable_after: i32,
    failing_for: Duration,
) -> Result<Option<Recorded>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "WITH d AS (
                 UPDATE webhook_deliveries SET attempt = attempt + 1, status = $3, response_status = $4,
                     duration_ms = $5, error = $6, next_attempt_at = $7, leased_until = NULL
                 WHERE tenant_id = $1 AND id = $2
                 RETURNING webhook_id, status
             ), judged AS (
                 SELECT w.id, d.status,
                     d.status <> 'SUCCEEDED' AND w.active
                         AND ((d.status = 'FAILED' AND w.consecutive_failures + 1 >= $8)
                              OR coalesce(w.failing_since, now()) <= now() - make_interval(secs => $9)) AS deactivate
                 FROM d JOIN webhooks w ON w.tenant_id = $1 AND w.id = d.webhook_id
             )
             UPDATE webhooks w SET
                 consecutive_failures = CASE judged.status WHEN 'SUCCEEDED' THEN 0
                     WHEN 'FAILED' THEN w.consecutive_failures + 1 ELSE w.consecutive_failures END,
                 failing_since = CASE WHEN judged.status = 'SUCCEEDED' THEN NULL ELSE coalesce(w.failing_since, now()) END,
                 active = w.active AND NOT judged.deactivate,
                 deactivated_at = CASE WHEN judged.deactivate THEN now() ELSE w.deactivated_at END
             FROM judged WHERE w.tenant_id = $1 AND w.id = judged.id
             RETURNING w.url, judged.deactivate",
        )
        .await?;
    let row = tx
        .client()
        .query_opt(
            &stmt,
            &[
                &tenant.0,
                &id.0,
                &outcome.status.as_str(),
                &outcome.response_status,
                &outcome.duration_ms,
                &outcome.error,
                &outcome.next_attempt_at,
                &disable_after,
                &failing_for.as_secs_f64(),
            ],
        )
        .await?;
    row.map(|r| Ok(Recorded { url: r.try_get("url")?, deactivated: r.try_get("deactivate")? })).transpose()
}

/// The addresses of the tenant's active admins.
pub(super) async fn admin_addresses(tx: &Tx, tenant: TenantId) -> Result<Vec<String>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT email FROM users WHERE tenant_id = $1 AND role = 'admin' AND NOT disabled ORDER BY email",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&tenant.0]).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Due deliveries of every tenant whose message may be lost, marked re-driven for `requeue`.
pub(super) async fn redrive(
    tx: &Tx,
    min_age: Duration,
    limit: i32,
    requeue: Duration,
) -> Result<Vec<(TenantId, DeliveryId)>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT tenant_id, id FROM webhook_deliveries_redrive(make_interval(secs => $1), $2, make_interval(secs => $3))",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&min_age.as_secs_f64(), &limit, &requeue.as_secs_f64()]).await?;
    rows.iter().map(|r| Ok((TenantId(r.try_get(0)?), DeliveryId(r.try_get(1)?)))).collect()
}
