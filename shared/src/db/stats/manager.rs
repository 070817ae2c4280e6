//! Units of work for stats.

use crate::{
    db::{Tx, stats::repository},
    error::Error,
    ids::TenantId,
    model::Stats,
};

pub async fn get(tx: &Tx, tenant: TenantId) -> Result<Stats, Error> {
    repository::get(tx, tenant).await.map_err(|e| e.into_error("read stats"))
}
