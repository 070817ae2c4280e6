//! Units of work for tag counts.

use crate::{
    db::{Tx, tags::repository},
    error::Error,
    ids::TenantId,
    model::TagCount,
};

pub async fn counts(tx: &Tx, tenant: TenantId, limit: i64) -> Result<Vec<TagCount>, Error> {
    repository::counts(tx, tenant, limit).await.map_err(|e| e.into_error("count tags"))
}
