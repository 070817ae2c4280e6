//! Units of work for tenant exports, speaking domain errors.

use uuid::Uuid;

use super::repository::{self, ExportRow, Section};
use crate::{
    db::Tx,
    error::Error,
    ids::{ExportId, TenantId, UserId},
};

pub async fn create(tx: &Tx, tenant: TenantId, id: ExportId, by: Option<UserId>) -> Result<ExportRow, Error> {
    repository::create(tx, tenant, id, by).await.map_err(|e| e.into_error("record an export"))
}

/// 404 when the tenant has no such export.
pub async fn get(tx: &Tx, tenant: TenantId, id: ExportId) -> Result<ExportRow, Error> {
    repository::get(tx, tenant, id).await.map_err(|e| e.into_error("read an export"))?.ok_or(Error::NotFound("export"))
}

pub async fn claim(
    tx: &Tx,
    tenant: TenantId,
    id: ExportId,
    lease_secs: f64,
    max_attempts: i32,
) -> Result<Option<ExportRow>, Error> {
    repository::claim(tx, tenant, id, lease_secs, max_attempts).await.map_err(|e| e.into_error("claim an export"))
}

/// False when the run had lost its lease to another (which then finishes it).
pub async fn finish(tx: &Tx, tenant: TenantId, id: ExportId, size: u64, rows: u64) -> Result<bool, Error> {
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    repository::finish(tx, tenant, id, int(size), int(rows)).await.map_err(|e| e.into_error("finish an export"))
}

pub async fn release(tx: &Tx, tenant: TenantId, id: ExportId, error: &str, max_attempts: i32) -> Result<(), Error> {
    repository::release(tx, tenant, id, error, max_attempts).await.map_err(|e| e.into_error("release an export"))
}

pub async fn due(tx: &Tx, min_age: std::time::Duration, limit: i32) -> Result<Vec<(TenantId, ExportId)>, Error> {
    repository::due(tx, min_age.as_secs_f64(), limit).await.map_err(|e| e.into_error("find unfinished exports"))
}

pub async fn ready_ids(tx: &Tx, tenant: TenantId) -> Result<Vec<ExportId>, Error> {
    repository::ready_ids(tx, tenant).await.map_err(|e| e.into_error("list the tenant's exports"))
}

pub async fn page(
    tx: &Tx,
    tenant: TenantId,
    section: &Section,
    after: Uuid,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, Error> {
    repository::page(tx, tenant, section, after, limit).await.map_err(|e| e.into_error("read a page to export"))
}

pub async fn tenant_row(tx: &Tx, tenant: TenantId) -> Result<String, Error> {
    repository::tenant_row(tx, tenant).await.map_err(|e| e.into_error("read the tenant to export"))
}

pub async fn withdraw_ready(tx: &Tx, tenant: TenantId) -> Result<Vec<ExportId>, Error> {
    repository::withdraw_ready(tx, tenant).await.map_err(|e| e.into_error("withdraw the tenant's exports"))
}
