//! SQL for service levels. The business-time arithmetic and the due dates of a ticket
//! live in the database (migration V16): written by the statement that writes the ticket.

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{TenantId, TicketId},
    model::{BreachKind, BusinessHours, SlaPolicy, Targets},
};

/// A policy as written: the JSON columns as the API spells them.
pub struct PolicyRecord<'a> {
    pub timezone: &'a str,
    pub business_hours: Option<serde_json::Value>,
    pub holidays: &'a [NaiveDate],
    pub targets: serde_json::Value,
}

const COLUMNS: &str = "timezone, business_hours, holidays, targets, updated_at";

fn policy(row: &Row) -> Result<SlaPolicy, DbError> {
    let hours: Option<serde_json::Value> = row.try_get("business_hours")?;
    let targets: serde_json::Value = row.try_get("targets")?;
    let corrupt = |what: &str, e: serde_json::Error| DbError::Corrupt(format!("{what}: {e}"));
    Ok(SlaPolicy {
        timezone: Some(row.try_get("timezone")?),
        business_hours: hours
            .map(serde_json::from_value::<BusinessHours>)
            .transpose()
            .map_err(|e| corrupt("business_hours", e))?,
        holidays: row.try_get("holidays")?,
        targets: Some(serde_json::from_value::<Targets>(targets).map_err(|e| corrupt("targets", e))?),
        updated_at: Some(row.try_get("updated_at")?),
    })
}

pub(super) async fn get(tx: &Tx, tenant: TenantId) -> Result<Option<SlaPolicy>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM sla_policies WHERE tenant_id = $1");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0]).await?.as_ref().map(policy).transpose()
}

/// Writes the policy as a new version; none when the time zone is not one of the IANA
/// database's names (as PostgreSQL knows them).
pub(super) async fn put(tx: &Tx, tenant: TenantId, record: &PolicyRecord<'_>) -> Result<Option<SlaPolicy>, DbError> {
    let sql = format!(
        "INSERT INTO sla_policies AS p (tenant_id, timezone, business_hours, holidays, targets)
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $2)
         ON CONFLICT (tenant_id) DO UPDATE SET timezone = EXCLUDED.timezone,
             business_hours = EXCLUDED.business_hours, holidays = EXCLUDED.holidays,
             targets = EXCLUDED.targets, version = p.version + 1, updated_at = now()
         RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx
        .client()
        .query_opt(&stmt, &[&tenant.0, &record.timezone, &record.business_hours, &record.holidays, &record.targets])
        .await?;
    row.as_ref().map(policy).transpose()
}

/// Gives up to `limit` open tickets whose due dates follow an older policy the dates of
/// the current one, and answers how many it changed. When that was every such ticket the
/// policy records it is caught up, and the monitor stops looking. With `wait` (a policy
/// change's own request) rows another transaction holds are waited for; without (the
/// monitor) they are skipped and caught up by a later batch.
pub(super) async fn recompute(tx: &Tx, tenant: TenantId, limit: i64, wait: bool) -> Result<u64, DbError> {
    const SQL: &str = "WITH p AS (SELECT version, $2::int8 AS batch FROM sla_policies WHERE tenant_id = $1),
             pending AS (SELECT count(*) AS n FROM (
                             SELECT 1 FROM tickets t, p
                             WHERE t.tenant_id = $1 AND t.resolved_at IS NULL AND t.sla_policy_version < p.version
                             LIMIT (SELECT batch + 1 FROM p)) s),
             stale AS (SELECT t.id FROM tickets t, p
                       WHERE t.tenant_id = $1 AND t.resolved_at IS NULL AND t.sla_policy_version < p.version
                       LIMIT (SELECT batch FROM p) FOR NO KEY UPDATE OF t {skip}),
             changed AS (UPDATE tickets t
                         SET (first_response_due_at, resolution_due_at, sla_policy_version) =
                             (SELECT d.first_response_due_at, d.resolution_due_at, d.version
                              FROM sla_due_dates(t.tenant_id, t.priority, t.created_at) d)
                         FROM stale WHERE t.tenant_id = $1 AND t.id = stale.id
                         RETURNING 1),
             counted AS (SELECT count(*) AS n FROM changed),
             caught_up AS (UPDATE sla_policies SET recomputed_version = (SELECT version FROM p)
                           WHERE tenant_id = $1 AND (SELECT n FROM counted) = (SELECT n FROM pending))
         SELECT n FROM counted";
    // NO KEY UPDATE: the key-share locks of foreign-key checks (a comment or notification
    // being written for the ticket) do not hold it up.
    let sql = SQL.replace("{skip}", if wait { "" } else { "SKIP LOCKED" });
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx.client().query_one(&stmt, &[&tenant.0, &limit]).await?;
    Ok(row.try_get::<_, i64>("n")?.max(0) as u64)
}

/// A clock the monitor recorded as breached, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub ticket_id: TicketId,
    pub kind: BreachKind,
    pub due_at: DateTime<Utc>,
}

/// Records the breach of every clock of the tenant due by now whose outcome is still
/// unknown, at most `limit` tickets: the breach time is set only while it is null, on a
/// locked row, so two monitors never record the same breach twice. A clock stopped in
/// time is never due (`sla_watch_at`).
pub(super) async fn record_breaches(tx: &Tx, tenant: TenantId, limit: i64) -> Result<Vec<Breach>, DbError> {
    const SQL: &str = "WITH due AS (
             SELECT id,
                 coalesce(first_response_breached_at IS NULL AND first_response_due_at <= now()
                     AND (least(first_responded_at, resolved_at) IS NULL
                          OR least(first_responded_at, resolved_at) > first_response_due_at), false) AS fr,
                 coalesce(resolution_breached_at IS NULL AND resolution_due_at <= now()
                     AND (resolved_at IS NULL OR resolved_at > resolution_due_at), false) AS res
             FROM tickets
             WHERE tenant_id = $1 AND sla_watch_at <= now()
             ORDER BY sla_watch_at
             LIMIT $2
             FOR NO KEY UPDATE SKIP LOCKED)
         UPDATE tickets t SET
             first_response_breached_at = CASE WHEN due.fr THEN t.first_response_due_at ELSE t.first_response_breached_at END,
             resolution_breached_at = CASE WHEN due.res THEN t.resolution_due_at ELSE t.resolution_breached_at END
         FROM due
         WHERE t.tenant_id = $1 AND t.id = due.id AND (due.fr OR due.res)
         RETURNING t.id, due.fr, due.res, t.first_response_due_at, t.resolution_due_at";
    let stmt = tx.client().prepare_cached(SQL).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &limit]).await?;
    let mut breaches = Vec::with_capacity(rows.len());
    for row in &rows {
        let ticket_id = TicketId(row.try_get("id")?);
        for (flag, kind, due) in [
            ("fr", BreachKind::FirstResponse, "first_response_due_at"),
            ("res", BreachKind::Resolution, "resolution_due_at"),
        ] {
            if row.try_get::<_, bool>(flag)? {
                breaches.push(Breach { ticket_id, kind, due_at: row.try_get(due)? });
            }
        }
    }
    Ok(breaches)
}

/// Tenants the monitor has work for: a clock due by now, or open tickets under an older
/// policy. Through the one SECURITY DEFINER door (V16), which shows tenant ids only.
pub(super) async fn due_tenants(tx: &Tx, limit: i64) -> Result<Vec<TenantId>, DbError> {
    let stmt = tx.client().prepare_cached("SELECT sla_monitor_tenants($1::int4) AS tenant_id").await?;
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let rows = tx.client().query(&stmt, &[&limit]).await?;
    rows.iter().map(|row| Ok(TenantId(row.try_get::<_, Uuid>("tenant_id")?))).collect()
}
