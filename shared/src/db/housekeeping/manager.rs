//! Units of work for pruning, speaking domain errors.

use crate::{
    db::{
        Tx,
        housekeeping::{Pruned, repository},
    },
    error::Error,
};

/// Deletes up to `limit` dead rows per table (the function caps it at 1000).
pub async fn prune_dead_rows(tx: &Tx, limit: i32) -> Result<Pruned, Error> {
    repository::prune_dead_rows(tx, limit).await.map_err(|e| e.into_error("prune dead rows"))
}
