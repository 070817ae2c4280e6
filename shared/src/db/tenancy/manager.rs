//! Units of work for tenant deletion, speaking domain errors.

use uuid::Uuid;

use crate::{
    db::{Tx, tenancy::repository},
    error::Error,
    ids::{AttachmentId, TenantId, TicketId},
};

/// Marks the tenant for deletion; a 422 on `confirm` when it is not the tenant's name.
pub async fn mark(tx: &Tx, tenant: TenantId, name: &str) -> Result<(), Error> {
    match repository::mark(tx, tenant, name).await.map_err(|e| e.into_error("mark the tenant deleted"))? {
        true => Ok(()),
        false => Err(Error::validation("confirm", "must be the tenant's name, exactly")),
    }
}

pub async fn being_deleted(tx: &Tx, limit: i32, min_age: std::time::Duration) -> Result<Vec<TenantId>, Error> {
    repository::being_deleted(tx, limit, min_age.as_secs_f64())
        .await
        .map_err(|e| e.into_error("find tenants being deleted"))
}

pub async fn ticket_batch(
    tx: &Tx,
    tenant: TenantId,
    limit: i64,
) -> Result<(Vec<Uuid>, Vec<(TicketId, AttachmentId)>), Error> {
    repository::ticket_batch(tx, tenant, limit).await.map_err(|e| e.into_error("read a batch of tickets to delete"))
}

pub async fn delete_tickets(tx: &Tx, tenant: TenantId, ids: &[Uuid]) -> Result<u64, Error> {
    repository::delete_tickets(tx, tenant, ids).await.map_err(|e| e.into_error("delete a batch of tickets"))
}

pub async fn delete_rest_batch(tx: &Tx, tenant: TenantId, limit: i64) -> Result<u64, Error> {
    repository::delete_rest_batch(tx, tenant, limit).await.map_err(|e| e.into_error("delete a batch of rows"))
}

pub async fn delete_tenant(tx: &Tx, tenant: TenantId) -> Result<bool, Error> {
    repository::delete_tenant(tx, tenant).await.map_err(|e| e.into_error("delete the tenant"))
}
