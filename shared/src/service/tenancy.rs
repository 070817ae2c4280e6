//! Deleting a tenant: refused credentials at once, then its data in bounded batches.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{attachments, exports};
use crate::{
    db::{exports as exports_db, tenancy as tenancy_db},
    error::Error,
    ids::TenantId,
    security::{Credential, Requires},
    state::AppState,
};

/// Tickets (with their files, one store call each) deleted per transaction: small enough
/// that a batch ends well inside the sweeper's timeout after the budget is checked.
pub const TICKET_BATCH: i64 = 50;
/// How long a tenant marked for deletion waits for the purge: the request that marked it
/// has answered (and its audit row been read, by a test or an operator) before its rows go.
pub const PURGE_AFTER: Duration = Duration::from_secs(5);
/// Rows of the other large tables deleted per statement.
pub const ROW_BATCH: i64 = 2000;

#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteTenantInput {
    /// The tenant's name, exactly as it is: a deletion cannot be undone.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub confirm: String,
}

/// Marks the caller's tenant for deletion (admin, naming it): from this commit every
/// session, access token and API key of the tenant is refused, and the sweeper deletes
/// its data within minutes.
pub async fn delete(state: &AppState, caller: &Credential, input: DeleteTenantInput) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    if let Err(e) = tenancy_db::manager::mark(&tx, tenant, &input.confirm).await {
        tx.rollback().await?;
        return Err(e);
    }
    tx.commit().await?;
    tracing::warn!(tenant_id = %tenant, "tenant marked for deletion");
    Ok(())
}

/// One run of the purge: for each tenant marked at least `min_age` ago, batches of tickets (files
/// first: a file that cannot be deleted keeps its ticket, and the next run tries again),
/// then the other large tables, then the tenant row. Stops taking batches after `budget`.
/// Answers how many tenants were deleted completely.
pub async fn purge(state: &AppState, budget: Duration, min_age: Duration) -> Result<usize, Error> {
    let started = Instant::now();
    let tx = state.db.begin_unscoped().await?;
    let tenants = tenancy_db::manager::being_deleted(&tx, 10, min_age).await?;
    tx.commit().await?;
    let mut deleted = 0;
    for tenant in tenants {
        while started.elapsed() < budget {
            match purge_step(state, tenant).await? {
                Step::More => continue,
                Step::Gone => {
                    deleted += 1;
                    tracing::warn!(tenant_id = %tenant, "tenant deleted");
                    break;
                }
            }
        }
    }
    Ok(deleted)
}

enum Step {
    More,
    Gone,
}

async fn purge_step(state: &AppState, tenant: TenantId) -> Result<Step, Error> {
    let tx = state.db.begin_for(tenant).await?;
    let (tickets, files) = tenancy_db::manager::ticket_batch(&tx, tenant, TICKET_BATCH).await?;
    if !tickets.is_empty() {
        attachments::erase_or_fail(state, tenant, &files).await?;
        tenancy_db::manager::delete_tickets(&tx, tenant, &tickets).await?;
        tx.commit().await?;
        return Ok(Step::More);
    }
    if tenancy_db::manager::delete_rest_batch(&tx, tenant, ROW_BATCH).await? > 0 {
        tx.commit().await?;
        return Ok(Step::More);
    }
    // The last step: the export files, then the tenant row (its export rows go with it).
    exports::delete_files(state, tenant, &exports_db::manager::ready_ids(&tx, tenant).await?).await?;
    tenancy_db::manager::delete_tenant(&tx, tenant).await?;
    tx.commit().await?;
    Ok(Step::Gone)
}
