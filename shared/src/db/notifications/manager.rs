//! Units of work for the notification log.

use uuid::Uuid;

use crate::{
    db::{
        Tx,
        notifications::repository::{self, NewNotification, Written},
    },
    error::Error,
    events::mailer::{Notice, TicketMail},
    ids::{NotificationId, TenantId, TicketId},
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
/// written now (not recorded before, ticket still there) with whom their mail goes to.
pub async fn record_all(tx: &Tx, tenant: TenantId, notices: &[&Notice]) -> Result<Vec<Written>, Error> {
    let rows: Vec<NewNotification<'_>> = notices
        .iter()
        .map(|n| NewNotification {
            id: NotificationId::generate(),
            event_id: n.event_id.0,
            ticket_id: n.ticket_id,
            event_type: &n.event_type,
            message: &n.message,
            mail_user: n.mail.as_ref().and_then(TicketMail::user),
        })
        .collect();
    repository::record_all(tx, tenant, &rows).await.map_err(|e| e.into_error("record notifications"))
}
