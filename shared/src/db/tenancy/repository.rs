//! SQL for tenant deletion (migration V19).

use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{AttachmentId, TenantId, TicketId},
};

/// Marks the tenant named `name` as being deleted and, in the same statement, disables its
/// users, revokes its API keys and sessions and deactivates its webhooks: every credential
/// of the tenant is refused from this commit on. False when the name does not match.
pub(super) async fn mark(tx: &Tx, tenant: TenantId, name: &str) -> Result<bool, DbError> {
    const SQL: &str = "WITH t AS (UPDATE tenants SET deleting_at = coalesce(deleting_at, now())
                       WHERE id = $1 AND name = $2 RETURNING id),
             u AS (UPDATE users SET disabled = true WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM t)),
             k AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                   WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM t)),
             r AS (UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())
                   WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM t)),
             w AS (UPDATE webhooks SET active = false WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM t))
         SELECT count(*) AS marked FROM t";
    let stmt = tx.client().prepare_cached(SQL).await?;
    Ok(tx.client().query_one(&stmt, &[&tenant.0, &name]).await?.try_get::<_, i64>("marked")? == 1)
}

/// Tenants marked at least `min_age_secs` ago, oldest first.
pub(super) async fn being_deleted(tx: &Tx, limit: i32, min_age_secs: f64) -> Result<Vec<TenantId>, DbError> {
    let stmt = tx.client().prepare_cached("SELECT tenants_being_deleted($1, make_interval(secs => $2)) AS id").await?;
    let rows = tx.client().query(&stmt, &[&limit, &min_age_secs]).await?;
    rows.iter().map(|r| Ok(TenantId(r.try_get("id")?))).collect()
}

/// Up to `limit` of the tenant's tickets, with the attachments whose objects go with them.
pub(super) async fn ticket_batch(
    tx: &Tx,
    tenant: TenantId,
    limit: i64,
) -> Result<(Vec<Uuid>, Vec<(TicketId, AttachmentId)>), DbError> {
    let stmt = tx.client().prepare_cached("SELECT id FROM tickets WHERE tenant_id = $1 LIMIT $2").await?;
    let tickets: Vec<Uuid> =
        tx.client().query(&stmt, &[&tenant.0, &limit]).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    let stmt = tx
        .client()
        .prepare_cached("SELECT ticket_id, id FROM attachments WHERE tenant_id = $1 AND ticket_id = ANY ($2)")
        .await?;
    let files = tx
        .client()
        .query(&stmt, &[&tenant.0, &tickets])
        .await?
        .iter()
        .map(|r| Ok((TicketId(r.try_get(0)?), AttachmentId(r.try_get(1)?))))
        .collect::<Result<_, DbError>>()?;
    Ok((tickets, files))
}

/// Deletes those tickets (their timeline, comments, attachment rows, tags and
/// notifications go with them).
pub(super) async fn delete_tickets(tx: &Tx, tenant: TenantId, ids: &[Uuid]) -> Result<u64, DbError> {
    let stmt = tx.client().prepare_cached("DELETE FROM tickets WHERE tenant_id = $1 AND id = ANY ($2)").await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &ids]).await?)
}

/// The tables too large to go with the tenant row in one statement, in the order they can
/// be emptied once the tickets are gone.
const BATCHED: [&str; 3] = ["outbox", "webhook_deliveries", "customers"];

/// Deletes up to `limit` rows of the next of [`BATCHED`] (then of the audit log) that still
/// has any; answers how many went (0: all are empty).
pub(super) async fn delete_rest_batch(tx: &Tx, tenant: TenantId, limit: i64) -> Result<u64, DbError> {
    for table in BATCHED {
        let sql = format!(
            "DELETE FROM {table} WHERE tenant_id = $1
             AND ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE tenant_id = $1 LIMIT $2))"
        );
        let stmt = tx.client().prepare_cached(&sql).await?;
        let gone = tx.client().execute(&stmt, &[&tenant.0, &limit]).await?;
        if gone > 0 {
            return Ok(gone);
        }
    }
    let stmt = tx.client().prepare_cached("SELECT audit_purge_deleted($1, $2::int4)").await?;
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    Ok(tx.client().query_one(&stmt, &[&tenant.0, &limit]).await?.try_get::<_, i64>(0)?.max(0) as u64)
}

/// Deletes the tenant row; what is left of it (users, keys, settings, counters) goes by
/// the cascades, and its sign-up (which names no tenant row: it precedes it) with it.
pub(super) async fn delete_tenant(tx: &Tx, tenant: TenantId) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "WITH s AS (DELETE FROM signups WHERE tenant_id = $1)
             DELETE FROM tenants WHERE id = $1 AND deleting_at IS NOT NULL",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0]).await? == 1)
}
