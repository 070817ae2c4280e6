//! Pruning of rows nothing will read again (refresh tokens dead for a day, idempotency
//! keys past their day of retention, mailed sign-up, reset and invitation tokens a day
//! after they were spent or expired), run by the outbox sweeper's schedule.

use crate::{
    blobs::BlobKey,
    db::housekeeping::{self as housekeeping_db, Pruned},
    error::Error,
    state::AppState,
};

/// Rows per table per run: a run stays short even after a long pause, and a backlog goes
/// over the next runs (the SQL function caps it at this too).
pub const PRUNE_BATCH: i32 = 1000;

/// One bounded run. The rows belong to every tenant; the functions of migrations V7 and
/// V9 are the only way the runtime role reaches them without one.
pub async fn prune(state: &AppState, limit: i32) -> Result<Pruned, Error> {
    let tx = state.db.begin_unscoped().await?;
    let pruned = housekeeping_db::manager::prune_dead_rows(&tx, limit).await?;
    tx.commit().await?;
    if pruned != Pruned::default() {
        tracing::info!(
            refresh_tokens = pruned.refresh_tokens,
            idempotency_keys = pruned.idempotency_keys,
            account_tokens = pruned.account_tokens,
            "dead rows pruned"
        );
    }
    Ok(pruned)
}

/// Deletes PENDING attachments a day old, objects first: the rows are deleted in a
/// transaction that commits only once every object is gone, so an object the store could
/// not delete keeps its row, and the next run tries again. Answers how many went.
pub async fn expire_stale_uploads(state: &AppState, limit: i32) -> Result<usize, Error> {
    let Some(blobs) = state.blobs.as_ref() else {
        return Ok(0);
    };
    let tx = state.db.begin_unscoped().await?;
    let stale = housekeeping_db::manager::expire_stale_uploads(&tx, limit).await?;
    for (tenant, ticket, id) in &stale {
        blobs.delete(&BlobKey::new(*tenant, *ticket, id.0)).await?;
    }
    tx.commit().await?;
    if !stale.is_empty() {
        tracing::info!(count = stale.len(), "stale uploads expired");
    }
    Ok(stale.len())
}
