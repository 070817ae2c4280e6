//! Units of work for service levels, speaking domain errors.

use crate::{
    db::{
        Tx,
        sla::{Breach, PolicyRecord, repository},
    },
    error::Error,
    ids::TenantId,
    model::SlaPolicy,
};

pub async fn get(tx: &Tx, tenant: TenantId) -> Result<Option<SlaPolicy>, Error> {
    repository::get(tx, tenant).await.map_err(|e| e.into_error("read the SLA policy"))
}

/// The stored policy, or a 422 on `timezone` when the IANA database has no such zone.
pub async fn put(tx: &Tx, tenant: TenantId, record: &PolicyRecord<'_>) -> Result<SlaPolicy, Error> {
    repository::put(tx, tenant, record)
        .await
        .map_err(|e| e.into_error("write the SLA policy"))?
        .ok_or_else(|| Error::validation("timezone", "must be an IANA time zone name, e.g. Europe/Berlin"))
}

pub async fn recompute(tx: &Tx, tenant: TenantId, limit: i64, wait: bool) -> Result<u64, Error> {
    repository::recompute(tx, tenant, limit, wait).await.map_err(|e| e.into_error("recompute due dates"))
}

pub async fn record_breaches(tx: &Tx, tenant: TenantId, limit: i64) -> Result<Vec<Breach>, Error> {
    repository::record_breaches(tx, tenant, limit).await.map_err(|e| e.into_error("record SLA breaches"))
}

pub async fn due_tenants(tx: &Tx, limit: i64) -> Result<Vec<TenantId>, Error> {
    repository::due_tenants(tx, limit).await.map_err(|e| e.into_error("find tenants with due SLA clocks"))
}
