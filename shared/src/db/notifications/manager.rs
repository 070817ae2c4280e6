//! Units of work for the notification log.

use uuid::Uuid;

use crate::{
    db::{
        Tx,
        notifications::repository::{self, NewNotification},
    },
    error::Error,
    events::mailer::Notice,
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

/// Writes the notifications of one tenant's events in one statement; answers the events
/// written now (not recorded before, ticket still there).
pub async fn record_all(tx: &Tx, tenant: TenantId, notices: &[&Notice]) -> Result<Vec<EventId>, Error> {
    let rows: Vec<NewNotification<'_>> = notices
        .iter()
        .map(|n| NewNotification {
            id: NotificationId::generate(),
            event_id: n.event_id.0,
            ticket_id: n.ticket_id,
            event_type: &n.event_type,
            message: &n.message,
        })
        .collect();
    let written = repository::record_all(tx, tenant, &rows).await.map_err(|e| e.into_error("record notifications"))?;
    Ok(written.into_iter().map(EventId).collect())
}
