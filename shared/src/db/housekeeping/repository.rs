//! SQL for pruning: the SECURITY DEFINER functions of migrations V7 and V9.

use crate::{
    db::{DbError, Tx},
    ids::{AttachmentId, TenantId, TicketId},
};

/// How many rows one run deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub refresh_tokens: u64,
    pub idempotency_keys: u64,
    /// Sign-ups, password resets and invitations together.
    pub account_tokens: u64,
}

pub(super) async fn prune_dead_rows(tx: &Tx, limit: i32) -> Result<Pruned, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT p.refresh_tokens_deleted, p.idempotency_keys_deleted, prune_account_tokens($1) AS account_tokens_deleted
             FROM prune_dead_rows($1) p",
        )
        .await?;
    let row = tx.client().query_one(&stmt, &[&limit]).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Pruned {
        refresh_tokens: count(row.try_get("refresh_tokens_deleted")?),
        idempotency_keys: count(row.try_get("idempotency_keys_deleted")?),
        account_tokens: count(row.try_get("account_tokens_deleted")?),
    })
}

/// Deletes up to `limit` PENDING attachments a day old (migration V13); answers their
/// (tenant, ticket, attachment) ids.
pub(super) async fn expire_stale_uploads(
    tx: &Tx,
    limit: i32,
) -> Result<Vec<(TenantId, TicketId, AttachmentId)>, DbError> {
    let stmt = tx.client().prepare_cached("SELECT tenant_id, ticket_id, id FROM expire_stale_uploads($1)").await?;
    let rows = tx.client().query(&stmt, &[&limit]).await?;
    rows.iter().map(|r| Ok((TenantId(r.try_get(0)?), TicketId(r.try_get(1)?), AttachmentId(r.try_get(2)?)))).collect()
}
