//! Units of work for the notification log.

use uuid::Uuid;

use crate::{
    db::{DbError, Tx, notifications::repository},
    error::Error,
    ids::{EventId, NotificationId, TenantId, TicketId},
    model::Notification,
};

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    ticket: Option<TicketId>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, Error> {
    repository::list(tx, tenant, ticket, after, limit).await.map_err(|e| e.into_error("list notifications"))
}

/// `Ok(true)` when written now, `Ok(false)` when this event was recorded before, and
/// `NotFound("ticket")` when the ticket is gone (its customer was deleted meanwhile).
pub async fn record(
    tx: &Tx,
    tenant: TenantId,
    event: EventId,
    ticket: TicketId,
    event_type: &str,
    message: &str,
) -> Result<bool, Error> {
    repository::record(tx, tenant, NotificationId::generate(), event.0, ticket, event_type, message).await.map_err(
        |e: DbError| {
            if e.is_foreign_key_violation("notifications_tenant_id_ticket_id_fkey") {
                Error::NotFound("ticket")
            } else {
                e.into_error("record notification")
            }
        },
    )
}
