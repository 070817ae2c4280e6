//! Units of work for attachments, speaking domain errors.

use crate::{
    db::{
        Tx,
        attachments::{NewAttachment, repository},
    },
    error::Error,
    events::OutboxEvent,
    ids::{AttachmentId, CustomerId, TenantId, TicketId},
    model::Attachment,
    pagination::PageRequest,
};

/// The new PENDING row; `None` when the ticket is not this tenant's or the comment not
/// one of the ticket's (the caller tells which).
pub async fn create(tx: &Tx, tenant: TenantId, new: &NewAttachment<'_>) -> Result<Option<Attachment>, Error> {
    repository::insert(tx, tenant, new).await.map_err(|e| e.into_error("add attachment"))
}

pub async fn get(tx: &Tx, tenant: TenantId, ticket: TicketId, id: AttachmentId) -> Result<Attachment, Error> {
    repository::get(tx, tenant, ticket, id)
        .await
        .map_err(|e| e.into_error("get attachment"))?
        .ok_or(Error::NotFound("attachment"))
}

/// PENDING → READY with `event`; `None` when it is no longer PENDING.
pub async fn mark_ready(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    id: AttachmentId,
    event: &OutboxEvent,
) -> Result<Option<Attachment>, Error> {
    repository::mark_ready(tx, tenant, ticket, id, event).await.map_err(|e| e.into_error("complete attachment"))
}

pub async fn delete(tx: &Tx, tenant: TenantId, ticket: TicketId, id: AttachmentId) -> Result<(), Error> {
    match repository::delete(tx, tenant, ticket, id).await.map_err(|e| e.into_error("delete attachment"))? {
        0 => Err(Error::NotFound("attachment")),
        _ => Ok(()),
    }
}

pub async fn list_ready(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Vec<Attachment>, Error> {
    repository::list_ready(tx, tenant, ticket, page).await.map_err(|e| e.into_error("list attachments"))
}

/// Every attachment on the customer's tickets, as (ticket, attachment) ids.
pub async fn of_customer(
    tx: &Tx,
    tenant: TenantId,
    customer: CustomerId,
) -> Result<Vec<(TicketId, AttachmentId)>, Error> {
    repository::of_customer(tx, tenant, customer).await.map_err(|e| e.into_error("list the customer's attachments"))
}
