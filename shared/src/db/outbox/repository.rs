//! SQL for outbox delivery, through the two functions of migration V3.

use std::time::Duration;

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    events::OutboxEvent,
    ids::{EventId, TenantId, TicketId},
};

fn event(row: &Row) -> Result<OutboxEvent, DbError> {
    Ok(OutboxEvent {
        id: EventId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        event_type: row.try_get("event_type")?,
        ticket_id: TicketId(row.try_get("ticket_id")?),
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Oldest unpublished events at least `min_age` old, locked for this transaction;
/// rows another transaction holds are skipped, never waited for.
pub(super) async fn claim_stale(tx: &Tx, min_age: Duration, limit: i32) -> Result<Vec<OutboxEvent>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT id, tenant_id, event_type, ticket_id, payload, created_at
             FROM outbox_claim_stale(make_interval(secs => $1), $2)",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&min_age.as_secs_f64(), &limit]).await?;
    rows.iter().map(event).collect()
}

/// Leases the oldest unpublished events at least `min_age` old whose lease is free, for
/// `lease`, oldest first; no lock outlives the statement.
pub(super) async fn lease_stale(
    tx: &Tx,
    min_age: Duration,
    limit: i32,
    lease: Duration,
) -> Result<Vec<OutboxEvent>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT id, tenant_id, event_type, ticket_id, payload, created_at
             FROM outbox_lease_stale(make_interval(secs => $1), $2, make_interval(secs => $3))
             ORDER BY created_at",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&min_age.as_secs_f64(), &limit, &lease.as_secs_f64()]).await?;
    rows.iter().map(event).collect()
}

pub(super) async fn release(tx: &Tx, ids: &[Uuid]) -> Result<i64, DbError> {
    let stmt = tx.client().prepare_cached("SELECT outbox_release($1)").await?;
    Ok(tx.client().query_one(&stmt, &[&ids]).await?.try_get(0)?)
}

/// Marks events published: one statement that stands alone (V3's SECURITY DEFINER function).
pub(super) const MARK_PUBLISHED: &str = "SELECT outbox_mark_published($1)";

pub(super) async fn mark_published(tx: &Tx, ids: &[Uuid]) -> Result<i64, DbError> {
    let stmt = tx.client().prepare_cached(MARK_PUBLISHED).await?;
    Ok(tx.client().query_one(&stmt, &[&ids]).await?.try_get(0)?)
}

/// Events of the tenant of this transaction written in one statement, in the caller's
/// unit of work (the change they announce commits with them or not at all).
pub(super) async fn insert(tx: &Tx, tenant: TenantId, events: &[OutboxEvent]) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.id.0).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let tickets: Vec<Uuid> = events.iter().map(|e| e.ticket_id.0).collect();
    let payloads: Vec<&serde_json::Value> = events.iter().map(|e| &e.payload).collect();
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
             SELECT $1, e.id, e.event_type, e.ticket_id, e.payload
             FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::jsonb[]) AS e (id, event_type, ticket_id, payload)",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &ids, &types, &tickets, &payloads]).await?)
}
