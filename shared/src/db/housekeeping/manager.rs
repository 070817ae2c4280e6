//! Units of work for pruning, speaking domain errors.

use crate::{
    db::{
        Tx,
        housekeeping::{Pruned, repository},
    },
    error::Error,
    ids::{AttachmentId, TenantId, TicketId},
};

/// Deletes up to `limit` dead rows per table (the function caps it at 1000).
pub async fn prune_dead_rows(tx: &Tx, limit: i32) -> Result<Pruned, Error> {
    repository::prune_dead_rows(tx, limit).await.map_err(|e| e.into_error("prune dead rows"))
}

/// Deletes up to `limit` PENDING attachments a day old; answers their ids.
pub async fn expire_stale_uploads(tx: &Tx, limit: i32) -> Result<Vec<(TenantId, TicketId, AttachmentId)>, Error> {
    repository::expire_stale_uploads(tx, limit).await.map_err(|e| e.into_error("expire stale uploads"))
}
