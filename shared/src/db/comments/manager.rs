//! Units of work for comments, speaking domain errors.

use crate::{
    db::{
        Tx,
        comments::{NewComment, repository},
    },
    error::Error,
    events::OutboxEvent,
    ids::{TenantId, TicketId},
    model::Comment,
    pagination::PageRequest,
};

/// Adds the comment with its outbox event as the last step of the unit of work,
/// committed in the same round trip. A ticket of another tenant is not found.
pub async fn create_and_commit(
    tx: Tx,
    tenant: TenantId,
    new: &NewComment<'_>,
    event: &OutboxEvent,
) -> Result<Comment, Error> {
    repository::insert_and_commit(tx, tenant, new, event)
        .await
        .map_err(|e| e.into_error("add comment"))?
        .ok_or(Error::NotFound("ticket"))
}

pub async fn list(tx: &Tx, tenant: TenantId, ticket: TicketId, page: PageRequest) -> Result<Vec<Comment>, Error> {
    repository::list(tx, tenant, ticket, page).await.map_err(|e| e.into_error("list comments"))
}
