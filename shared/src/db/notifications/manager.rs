//! Units of work for the notification log.

use uuid::Uuid;

use crate::{
    db::{Tx, notifications::repository},
    error::Error,
    ids::{TenantId, TicketId},
    model::Notification,
};

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    ticket: Option<TicketId>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, Error> {
    repository::list(tx, tenant, ticket, after, limit)
        .await
        .map_err(|e| e.into_error("list notifications"))
}
