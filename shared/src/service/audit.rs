//! The tenant's audit log, for its admins.

use uuid::Uuid;

use crate::{
    db::audit::{self as audit_db, AuditFilter},
    error::Error,
    model::AuditRecord,
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

/// One page of the log, newest first.
pub async fn list(
    state: &AppState,
    caller: &Credential,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditRecord>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let rows = audit_db::manager::list(&tx, principal.tenant_id, &filter, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |r: &AuditRecord| -> Uuid { r.id }))
}
