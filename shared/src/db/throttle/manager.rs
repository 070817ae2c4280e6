//! Units of work for the throttle counters, speaking domain errors.

pub use super::repository::Limits;
use crate::{
    db::{Tx, throttle::repository},
    error::Error,
};

/// Seconds until the last lock among `keys` ends (0: none is locked).
pub async fn locked_for(tx: &Tx, keys: &[&[u8]]) -> Result<u64, Error> {
    let secs = repository::locked_for(tx, keys).await.map_err(|e| e.into_error("throttle check"))?;
    Ok(u64::try_from(secs).unwrap_or(0))
}

/// Counts one failure; the seconds of the lock it started, or 0.
pub async fn record_failure(tx: &Tx, key: &[u8], limits: &Limits) -> Result<u64, Error> {
    let secs = repository::record_failure(tx, key, limits).await.map_err(|e| e.into_error("throttle failure"))?;
    Ok(u64::try_from(secs).unwrap_or(0))
}

pub async fn reset(tx: &Tx, key: &[u8]) -> Result<(), Error> {
    repository::reset(tx, key).await.map_err(|e| e.into_error("throttle reset"))
}
