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

/// Writes one tenant's notifications in one statement, one per event id: an event
/// recorded before, or whose ticket is gone (its customer was deleted meanwhile), writes
/// nothing. Answers the event ids written now.
pub(super) async fn record_all(tx: &Tx, tenant: TenantId, rows: &[NewNotification<'_>]) -> Result<Vec<Uuid>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO notifications (tenant_id, id, event_id, ticket_id, event_type, message)
             SELECT $1, n.id, n.event_id, n.ticket_id, n.event_type, n.message
             FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[])
                  AS n (id, event_id, ticket_id, event_type, message)
             WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = $1 AND t.id = n.ticket_id)
             ON CONFLICT (event_id) DO NOTHING
             RETURNING event_id",
        )
        .await?;
    let column = |f: fn(&NewNotification<'_>) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let text = |f: for<'a> fn(&'a NewNotification<'a>) -> &'a str| rows.iter().map(f).collect::<Vec<_>>();
    let written = tx
        .client()
        .query(
            &stmt,
            &[
                &tenant.0,
                &column(|n| n.id.0),
                &column(|n| n.event_id),
                &column(|n| n.ticket_id.0),
                &text(|n| n.event_type),
                &text(|n| n.message),
            ],
        )
        .await?;
    written.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

/// A notification to write.
pub(super) struct NewNotification<'a> {
    pub id: NotificationId,
    pub event_id: Uuid,
    pub ticket_id: TicketId,
    pub event_type: &'a str,
    pub message: &'a str,
}
