//! SQL for tag counts: the sums of each tag's counter slots.

use crate::{
    db::{DbError, Tx},
    ids::TenantId,
    model::TagCount,
};

const COUNTS: &str = "SELECT tag, sum(count)::bigint AS count FROM tag_counts WHERE tenant_id = $1
     GROUP BY tag HAVING sum(count) > 0 ORDER BY sum(count) DESC, tag LIMIT $2";

pub(super) async fn counts(tx: &Tx, tenant: TenantId, limit: i64) -> Result<Vec<TagCount>, DbError> {
    let stmt = tx.client().prepare_cached(COUNTS).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &limit]).await?;
    rows.iter().map(|row| Ok(TagCount { tag: row.try_get("tag")?, count: row.try_get("count")? })).collect()
}
