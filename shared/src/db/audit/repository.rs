//! SQL for the audit log (migration V18): the insert a commit pipelines, and the newest-
//! first keyset read with its filters.

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, types::ToSql};
use uuid::Uuid;

use crate::{
    audit::Entry,
    db::{DbError, Tx, keyset::KeysetQuery},
    ids::TenantId,
    model::{AuditActor, AuditRecord},
    security::ActorId,
};

/// Only a transaction that wrote gets a row (PostgreSQL assigns a transaction id on the
/// first write, and this condition is read before the insert's own): a unit of work that
/// only read, in a request that writes in another, records nothing.
pub(crate) const INSERT: &str = "INSERT INTO audit_log
         (tenant_id, actor_type, actor_id, action, target_type, target_id, changes, request_id, source_ip)
     SELECT $1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::uuid, $7::jsonb, $8::text, $9::text
     WHERE pg_current_xact_id_if_assigned() IS NOT NULL";

/// [`INSERT`]'s parameters for `entry`.
pub(crate) struct InsertParams {
    tenant: Uuid,
    actor_type: &'static str,
    actor_id: Uuid,
    action: String,
    target_type: Option<String>,
    target_id: Option<Uuid>,
    changes: serde_json::Value,
    request_id: Option<String>,
    source_ip: Option<String>,
}

impl InsertParams {
    pub(crate) fn of(entry: Entry) -> Self {
        let (actor_type, actor_id) = match entry.actor {
            ActorId::User(id) => ("user", id.0),
            ActorId::ApiKey(id) => ("apiKey", id.0),
        };
        Self {
            tenant: entry.tenant_id.0,
            actor_type,
            actor_id,
            action: entry.action,
            target_type: entry.target_type,
            target_id: entry.target_id,
            changes: serde_json::Value::Object(entry.changes),
            request_id: entry.request_id,
            source_ip: entry.source_ip,
        }
    }

    pub(crate) fn all(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.tenant,
            &self.actor_type,
            &self.actor_id,
            &self.action,
            &self.target_type,
            &self.target_id,
            &self.changes,
            &self.request_id,
            &self.source_ip,
        ]
    }
}

/// The filters of GET /audit-log; each present one narrows the keyset scan.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

fn record(row: &Row) -> Result<AuditRecord, DbError> {
    let kind: String = row.try_get("actor_type")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: AuditActor {
            kind: kind.parse().map_err(|_| DbError::Corrupt(format!("actor_type `{kind}`")))?,
            id: row.try_get("actor_id")?,
        },
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        changes: row.try_get("changes")?,
        request_id: row.try_get("request_id")?,
        source_ip: row.try_get("source_ip")?,
    })
}

pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    filter: &AuditFilter,
    after_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AuditRecord>, DbError> {
    let select = "SELECT id, at, actor_type, actor_id, action, target_type, target_id, changes, request_id, source_ip
                  FROM audit_log a"
        .to_owned();
    let rows = KeysetQuery::new(select, "a.tenant_id", &tenant.0)
        .and("a.actor_id =", &filter.actor_id)
        .and("a.action =", &filter.action)
        .and("a.target_type =", &filter.target_type)
        .and("a.target_id =", &filter.target_id)
        .and("a.at >", &filter.after)
        .and("a.at <", &filter.before)
        .fetch(tx, "a.id", &after_id, &limit)
        .await?;
    rows.iter().map(record).collect()
}
