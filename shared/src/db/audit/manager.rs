//! Units of work for reading the audit log.

use uuid::Uuid;

use crate::{
    db::{
        Tx,
        audit::{AuditFilter, repository},
    },
    error::Error,
    ids::TenantId,
    model::AuditRecord,
};

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    filter: &AuditFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditRecord>, Error> {
    repository::list(tx, tenant, filter, after, limit).await.map_err(|e| e.into_error("read the audit log"))
}
