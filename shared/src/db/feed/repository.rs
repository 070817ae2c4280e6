//! SQL for the change feed.

use tokio_postgres::Row;

use crate::{
    db::{DbError, Tx},
    ids::{EventId, TenantId, TicketId},
};

/// A place in a tenant's feed: the writing transaction's id and the outbox position.
/// `(0, 0)` is before every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedPosition {
    pub txid: u64,
    pub position: i64,
}

/// One outbox row as the feed hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub at: FeedPosition,
    pub id: EventId,
    pub event_type: String,
    pub ticket_id: TicketId,
    pub payload: serde_json::Value,
}

// xid8 has no binary codec in tokio-postgres: it crosses the wire as text, under another
// name than the column's, so that ORDER BY sorts the xid8 and not its text ('10' < '9').
// Only rows of transactions older than the oldest one running are handed out (see V14).
const PAGE: &str = "SELECT txid::text AS tx, position, id, event_type, ticket_id, payload
     FROM outbox
     WHERE tenant_id = $1
       AND (txid, position) > ($2::text::xid8, $3::bigint)
       AND txid < pg_snapshot_xmin(pg_current_snapshot())
       AND ($4::text[] IS NULL OR event_type = ANY ($4))
     ORDER BY txid, position
     LIMIT $5";

fn feed_row(row: &Row) -> Result<FeedRow, DbError> {
    let txid: String = row.try_get("tx")?;
    Ok(FeedRow {
        at: FeedPosition {
            txid: txid.parse().map_err(|_| DbError::Corrupt(format!("txid {txid:?} is not a u64")))?,
            position: row.try_get("position")?,
        },
        id: EventId(row.try_get("id")?),
        event_type: row.try_get("event_type")?,
        ticket_id: TicketId(row.try_get("ticket_id")?),
        payload: row.try_get("payload")?,
    })
}

/// Up to `limit` events after `after`, of `types` only when given, in feed order.
pub(super) async fn page(
    tx: &Tx,
    tenant: TenantId,
    after: FeedPosition,
    types: Option<&[String]>,
    limit: i64,
) -> Result<Vec<FeedRow>, DbError> {
    let stmt = tx.client().prepare_cached(PAGE).await?;
    let txid = after.txid.to_string();
    let rows = tx.client().query(&stmt, &[&tenant.0, &txid, &after.position, &types, &limit]).await?;
    rows.iter().map(feed_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{as_pgbench, assert_ceiling_runs};

    #[test]
    fn the_benchmark_ceilings_read_the_feed_as_the_app_does() {
        let first = [":tenant", "'0'", "0", "NULL::text[]", "101"];
        assert_ceiling_runs("feed.sql", &as_pgbench(PAGE, &first));
        let deep = [":tenant", ":feed_txid", ":feed_position", "NULL::text[]", "101"];
        assert_ceiling_runs("feed-deep.sql", &as_pgbench(PAGE, &deep));
    }
}
