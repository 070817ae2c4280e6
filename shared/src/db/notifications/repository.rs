//! SQL for the notification log.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx, keyset::KeysetQuery},
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
    let select = "SELECT id, ticket_id, event_type, message, created_at FROM notifications".to_owned();
    let rows = KeysetQuery::new(select, "tenant_id", &tenant.0)
        .and("ticket_id =", &ticket)
        .fetch(tx, "id", &after, &limit)
        .await?;
    rows.iter().map(notification).collect()
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
