//! Units of work for outbox delivery.

use std::time::Duration;

use crate::{
    db::{Db, Tx, outbox::repository},
    error::Error,
    events::OutboxEvent,
    ids::EventId,
};

pub async fn claim_stale(tx: &Tx, min_age: Duration, limit: i32) -> Result<Vec<OutboxEvent>, Error> {
    repository::claim_stale(tx, min_age, limit).await.map_err(|e| e.into_error("claim outbox events"))
}

pub async fn mark_published(tx: &Tx, ids: &[EventId]) -> Result<i64, Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    repository::mark_published(tx, &ids).await.map_err(|e| e.into_error("mark outbox events published"))
}

/// Marks events published in one round trip of its own, outside any unit of work: the
/// mark after a send needs no BEGIN and COMMIT around it.
pub async fn mark_published_alone(db: &Db, ids: &[EventId]) -> Result<(), Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    db.execute_alone(repository::MARK_PUBLISHED, &[&ids], "mark outbox events published").await.map(drop)
}

pub async fn lease_stale(tx: &Tx, min_age: Duration, limit: i32, lease: Duration) -> Result<Vec<OutboxEvent>, Error> {
    repository::lease_stale(tx, min_age, limit, lease).await.map_err(|e| e.into_error("lease outbox events"))
}

pub async fn release(tx: &Tx, ids: &[EventId]) -> Result<i64, Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    repository::release(tx, &ids).await.map_err(|e| e.into_error("release outbox leases"))
}

pub async fn insert(tx: &Tx, tenant: crate::ids::TenantId, events: &[OutboxEvent]) -> Result<u64, Error> {
    repository::insert(tx, tenant, events).await.map_err(|e| e.into_error("write outbox events"))
}
