//! Units of work for idempotency keys.

use crate::{
    db::{
        Tx,
        idempotency::{Claim, repository},
    },
    error::Error,
    ids::TenantId,
};

pub async fn claim(tx: &Tx, tenant: TenantId, route: &str, key: &str, request_hash: &[u8]) -> Result<Claim, Error> {
    repository::claim(tx, tenant, route, key, request_hash).await.map_err(|e| e.into_error("claim idempotency key"))
}

pub async fn store_response(
    tx: &Tx,
    tenant: TenantId,
    route: &str,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), Error> {
    repository::store_response(tx, tenant, route, key, status, body)
        .await
        .map_err(|e| e.into_error("store idempotent response"))
}
