//! SQL for tenant exports. Every statement names its tenant, besides row-level security.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{ExportId, TenantId, UserId},
};

/// An export job as stored.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: ExportId,
    pub status: String,
    pub size_bytes: Option<i64>,
    pub rows_written: Option<i64>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, status, size_bytes, rows_written, attempts, created_at, finished_at";

fn export(row: &Row) -> Result<ExportRow, DbError> {
    Ok(ExportRow {
        id: ExportId(row.try_get("id")?),
        status: row.try_get("status")?,
        size_bytes: row.try_get("size_bytes")?,
        rows_written: row.try_get("rows_written")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

pub(super) async fn create(tx: &Tx, tenant: TenantId, id: ExportId, by: Option<UserId>) -> Result<ExportRow, DbError> {
    let sql =
        format!("INSERT INTO tenant_exports (tenant_id, id, requested_by) VALUES ($1, $2, $3) RETURNING {COLUMNS}");
    let stmt = tx.client().prepare_cached(&sql).await?;
    export(&tx.client().query_one(&stmt, &[&tenant.0, &id.0, &by.map(|u| u.0)]).await?)
}

pub(super) async fn get(tx: &Tx, tenant: TenantId, id: ExportId) -> Result<Option<ExportRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM tenant_exports WHERE tenant_id = $1 AND id = $2");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(export).transpose()
}

/// Takes the export for one run of `lease_secs`: a PENDING one, or a RUNNING one whose
/// run's lease has passed (it died, or ran out of time). None when it is done, failed, or
/// running elsewhere. An export whose `max_attempts` runs all died is FAILED instead: a
/// tenant too large for one run must not be retried for ever.
pub(super) async fn claim(
    tx: &Tx,
    tenant: TenantId,
    id: ExportId,
    lease_secs: f64,
    max_attempts: i32,
) -> Result<Option<ExportRow>, DbError> {
    let sql = format!(
        "UPDATE tenant_exports
         SET status = CASE WHEN attempts >= $4 THEN 'FAILED' ELSE 'RUNNING' END,
             attempts = attempts + CASE WHEN attempts >= $4 THEN 0 ELSE 1 END,
             started_at = now(),
             finished_at = CASE WHEN attempts >= $4 THEN now() END,
             error = CASE WHEN attempts >= $4 THEN 'no run finished in time' ELSE error END,
             leased_until = CASE WHEN attempts >= $4 THEN NULL ELSE now() + make_interval(secs => $3) END
         WHERE tenant_id = $1 AND id = $2
           AND (status = 'PENDING' OR (status = 'RUNNING' AND leased_until < now()))
         RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx.client().query_opt(&stmt, &[&tenant.0, &id.0, &lease_secs, &max_attempts]).await?;
    Ok(row.as_ref().map(export).transpose()?.filter(|e| e.status == "RUNNING"))
}

pub(super) async fn finish(tx: &Tx, tenant: TenantId, id: ExportId, size: i64, rows: i64) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE tenant_exports SET status = 'READY', size_bytes = $3, rows_written = $4, finished_at = now(),
                    leased_until = NULL, error = NULL
             WHERE tenant_id = $1 AND id = $2 AND status = 'RUNNING'",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0, &size, &rows]).await? == 1)
}

/// A run that failed: back to PENDING for another try, or FAILED once `max_attempts` ran.
pub(super) async fn release(
    tx: &Tx,
    tenant: TenantId,
    id: ExportId,
    error: &str,
    max_attempts: i32,
) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE tenant_exports
             SET status = CASE WHEN attempts >= $4 THEN 'FAILED' ELSE 'PENDING' END,
                 finished_at = CASE WHEN attempts >= $4 THEN now() END,
                 leased_until = NULL, error = left($3, 500)
             WHERE tenant_id = $1 AND id = $2 AND status = 'RUNNING'",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &id.0, &error, &max_attempts]).await?;
    Ok(())
}

/// Unfinished exports created at least `min_age_secs` ago whose run is not under lease.
pub(super) async fn due(tx: &Tx, min_age_secs: f64, limit: i32) -> Result<Vec<(TenantId, ExportId)>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("SELECT tenant_id, id FROM tenant_exports_due(make_interval(secs => $1), $2)")
        .await?;
    tx.client()
        .query(&stmt, &[&min_age_secs, &limit])
        .await?
        .iter()
        .map(|r| Ok((TenantId(r.try_get(0)?), ExportId(r.try_get(1)?))))
        .collect()
}

/// Withdraws the tenant's READY exports (a customer in them was erased); answers their ids,
/// whose files are to be deleted.
pub(super) async fn withdraw_ready(tx: &Tx, tenant: TenantId) -> Result<Vec<ExportId>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE tenant_exports SET status = 'WITHDRAWN', size_bytes = NULL,
                    error = 'withdrawn: a customer in it was erased; request a new export'
             WHERE tenant_id = $1 AND status = 'READY' RETURNING id",
        )
        .await?;
    tx.client().query(&stmt, &[&tenant.0]).await?.iter().map(|r| Ok(ExportId(r.try_get(0)?))).collect()
}

/// The ids of the tenant's exports that have an object (READY), for deleting them.
pub(super) async fn ready_ids(tx: &Tx, tenant: TenantId) -> Result<Vec<ExportId>, DbError> {
    let stmt =
        tx.client().prepare_cached("SELECT id FROM tenant_exports WHERE tenant_id = $1 AND status = 'READY'").await?;
    tx.client().query(&stmt, &[&tenant.0]).await?.iter().map(|r| Ok(ExportId(r.try_get(0)?))).collect()
}

/// One kind of row an export writes: its `type` on each line, its table, the column that
/// orders and pages it (unique in the tenant), and the columns never written (secrets,
/// hashes, and what only the service's machinery reads).
pub struct Section {
    pub kind: &'static str,
    table: &'static str,
    key: &'static str,
    omit: &'static [&'static str],
}

/// Every resource of a tenant, parents before children. Not written: what the service
/// derives or keeps for itself (the outbox, stats and tag counters, idempotency records,
/// sessions, one-time tokens, request counts) and the exports themselves.
pub const SECTIONS: &[Section] = &[
    Section { kind: "user", table: "users", key: "id", omit: &["password_hash"] },
    Section { kind: "apiKey", table: "api_keys", key: "id", omit: &["secret_hash"] },
    Section { kind: "invitation", table: "invitations", key: "id", omit: &["token_hash"] },
    Section { kind: "slaPolicy", table: "sla_policies", key: "tenant_id", omit: &["recomputed_version"] },
    Section { kind: "customer", table: "customers", key: "id", omit: &[] },
    Section { kind: "ticket", table: "tickets", key: "id", omit: &["sla_watch_at"] },
    Section { kind: "ticketEvent", table: "ticket_events", key: "id", omit: &[] },
    Section { kind: "comment", table: "comments", key: "id", omit: &[] },
    Section { kind: "attachment", table: "attachments", key: "id", omit: &[] },
    Section { kind: "notification", table: "notifications", key: "id", omit: &[] },
    Section { kind: "webhook", table: "webhooks", key: "id", omit: &["secret", "previous_secret"] },
    Section { kind: "webhookDelivery", table: "webhook_deliveries", key: "id", omit: &["leased_until"] },
    Section { kind: "customerErasure", table: "customer_erasures", key: "customer_id", omit: &[] },
    Section { kind: "auditEntry", table: "audit_log", key: "id", omit: &[] },
];

impl Section {
    /// The page after `after` (the nil id first), ordered by the key: each row as one line
    /// of JSON text, made by PostgreSQL, with its key.
    fn page_sql(&self) -> String {
        let omit: Vec<String> = self.omit.iter().map(|c| format!("'{c}'")).collect();
        let json = if omit.is_empty() {
            "to_jsonb(t)::text".to_owned()
        } else {
            format!("(to_jsonb(t) - ARRAY[{}]::text[])::text", omit.join(", "))
        };
        format!(
            "SELECT t.{key}, {json} FROM {table} t WHERE t.tenant_id = $1 AND t.{key} > $2 ORDER BY t.{key} LIMIT $3",
            key = self.key,
            table = self.table,
        )
    }
}

/// Up to `limit` rows of `section` after `after`, as (key, JSON text).
pub(super) async fn page(
    tx: &Tx,
    tenant: TenantId,
    section: &Section,
    after: Uuid,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, DbError> {
    let stmt = tx.client().prepare_cached(&section.page_sql()).await?;
    tx.client()
        .query(&stmt, &[&tenant.0, &after, &limit])
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The tenant's own row.
pub(super) async fn tenant_row(tx: &Tx, tenant: TenantId) -> Result<String, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("SELECT (to_jsonb(t) - ARRAY['deleting_at'])::text FROM tenants t WHERE t.id = $1")
        .await?;
    Ok(tx.client().query_one(&stmt, &[&tenant.0]).await?.try_get(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_leave_out_the_omitted_columns() {
        let users = SECTIONS.iter().find(|s| s.kind == "user").unwrap();
        assert_eq!(
            users.page_sql(),
            "SELECT t.id, (to_jsonb(t) - ARRAY['password_hash']::text[])::text FROM users t \
             WHERE t.tenant_id = $1 AND t.id > $2 ORDER BY t.id LIMIT $3"
        );
        let kinds: std::collections::BTreeSet<_> = SECTIONS.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.len(), SECTIONS.len(), "one section per kind");
    }
}
