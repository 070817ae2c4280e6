//! Units of work for tickets, speaking domain errors.

use uuid::Uuid;

use crate::{
    db::{
        DbError, Tx,
        tickets::{NewEvent, NewTicket, TicketFilter, TicketPatch, repository},
    },
    error::Error,
    ids::{TenantId, TicketId, UserId},
    model::{Ticket, TicketEvent, TicketStatus},
    pagination::PageRequest,
};

/// A reference the composite foreign keys refused: the thing is not this tenant's.
fn missing_reference(e: DbError, operation: &'static str) -> Error {
    if e.is_foreign_key_violation("tickets_customer_fkey") {
        Error::NotFound("customer")
    } else if e.is_foreign_key_violation("tickets_assignee_fkey") {
        Error::NotFound("assignee")
    } else {
        e.into_error(operation)
    }
}

fn found(ticket: Option<Ticket>) -> Result<Ticket, Error> {
    ticket.ok_or(Error::NotFound("ticket"))
}

pub async fn create(tx: &Tx, tenant: TenantId, new: &NewTicket<'_>, event: &NewEvent<'_>) -> Result<Ticket, Error> {
    found(repository::insert(tx, tenant, new, event).await.map_err(|e| missing_reference(e, "insert ticket"))?)
}

/// [`create`] as the last step of the unit of work, committed in the same round trip.
pub async fn create_and_commit(
    tx: Tx,
    tenant: TenantId,
    new: &NewTicket<'_>,
    event: &NewEvent<'_>,
) -> Result<Ticket, Error> {
    found(
        repository::insert_and_commit(tx, tenant, new, event)
            .await
            .map_err(|e| missing_reference(e, "insert ticket and commit"))?,
    )
}

pub async fn get(tx: &Tx, tenant: TenantId, id: TicketId) -> Result<Ticket, Error> {
    found(repository::get(tx, tenant, id).await.map_err(|e| e.into_error("get ticket"))?)
}

pub async fn lock(tx: &Tx, tenant: TenantId, id: TicketId) -> Result<Ticket, Error> {
    found(repository::lock(tx, tenant, id).await.map_err(|e| e.into_error("lock ticket"))?)
}

pub async fn update(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    patch: &TicketPatch,
    event: &NewEvent<'_>,
) -> Result<Ticket, Error> {
    found(repository::update(tx, tenant, id, patch, event).await.map_err(|e| e.into_error("update ticket"))?)
}

pub async fn set_status(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    status: TicketStatus,
    event: &NewEvent<'_>,
) -> Result<Ticket, Error> {
    found(repository::set_status(tx, tenant, id, status, event).await.map_err(|e| e.into_error("set ticket status"))?)
}

pub async fn set_assignee(
    tx: &Tx,
    tenant: TenantId,
    id: TicketId,
    assignee: Option<UserId>,
    event: &NewEvent<'_>,
) -> Result<Ticket, Error> {
    found(
        repository::set_assignee(tx, tenant, id, assignee, event)
            .await
            .map_err(|e| missing_reference(e, "assign ticket"))?,
    )
}

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    filter: &TicketFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Ticket>, Error> {
    repository::list(tx, tenant, filter, after, limit).await.map_err(|e| e.into_error("list tickets"))
}

pub async fn events(tx: &Tx, tenant: TenantId, ticket: TicketId, page: PageRequest) -> Result<Vec<TicketEvent>, Error> {
    repository::list_events(tx, tenant, ticket, page).await.map_err(|e| e.into_error("list ticket events"))
}
