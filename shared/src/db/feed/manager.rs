//! Units of work for the change feed.

use crate::{
    db::{
        Tx,
        feed::{FeedPosition, FeedRow, repository},
    },
    error::Error,
    ids::TenantId,
};

/// Up to `limit` committed events after `after` (of `types` when given), in feed order.
pub async fn page(
    tx: &Tx,
    tenant: TenantId,
    after: FeedPosition,
    types: Option<&[String]>,
    limit: i64,
) -> Result<Vec<FeedRow>, Error> {
    repository::page(tx, tenant, after, types, limit).await.map_err(|e| e.into_error("read the event feed"))
}
