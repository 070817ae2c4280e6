//! The notification log, as the event consumer wrote it.

use crate::{
    db::notifications as notifications_db,
    error::Error,
    ids::TicketId,
    model::Notification,
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

pub async fn list(
    state: &AppState,
    caller: &Credential,
    ticket: Option<TicketId>,
    page: PageRequest,
) -> Result<Page<Notification>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let rows =
        notifications_db::manager::list(&tx, principal.tenant_id, ticket, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |n| n.id.0))
}
