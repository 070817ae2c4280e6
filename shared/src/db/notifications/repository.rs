//! SQL for the notification log.

use tokio_postgres::{Row, types::ToSql};
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{NotificationId, TenantId, TicketId},
    model::Notification,
};

fn notification(row: &Row) -> Result<Notification, DbError> {
    Ok(Notification {
        id: NotificationId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        event_type: row.try_get("event_type")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Newest first, optionally for one ticket.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    ticket: Option<TicketId>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, DbError> {
    let ticket = ticket.map(|t| t.0);
    let mut sql =
        String::from("SELECT id, ticket_id, event_type, message, created_at FROM notifications WHERE tenant_id = $1");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant.0];
    if let Some(t) = &ticket {
        params.push(t);
        sql.push_str(&format!(" AND ticket_id = ${}", params.len()));
    }
    if let Some(a) = &after {
        params.push(a);
        sql.push_str(&format!(" AND id < ${}", params.len()));
    }
    params.push(&limit);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", params.len()));
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query(&stmt, &params).await?.iter().map(notification).collect()
}

/// Writes one notification per event id: a redelivered event inserts nothing.
pub(super) async fn record(
    tx: &Tx,
    tenant: TenantId,
    id: NotificationId,
    event_id: uuid::Uuid,
    ticket: TicketId,
    event_type: &str,
    message: &str,
) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO notifications (tenant_id, id, event_id, ticket_id, event_type, message)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0, &event_id, &ticket.0, &event_type, &message]).await? == 1)
}
