//! SQL for the throttle: three SECURITY DEFINER functions, the runtime role's only door to
//! `auth_throttle` (migration V4).

use crate::db::{DbError, Tx};

/// The limits of one kind of key, as the SQL function takes them.
pub struct Limits {
    pub max_failures: i32,
    pub window_secs: i32,
    pub lock_secs: i32,
    pub max_lock_secs: i32,
}

pub(super) async fn locked_for(tx: &Tx, keys: &[&[u8]]) -> Result<i32, DbError> {
    let stmt = tx.client().prepare_cached("SELECT auth_throttle_locked($1::bytea[])").await?;
    Ok(tx.client().query_one(&stmt, &[&keys]).await?.try_get(0)?)
}

pub(super) async fn record_failure(tx: &Tx, key: &[u8], limits: &Limits) -> Result<i32, DbError> {
    let stmt = tx.client().prepare_cached("SELECT auth_throttle_fail($1, $2, $3, $4, $5)").await?;
    let row = tx
        .client()
        .query_one(&stmt, &[&key, &limits.max_failures, &limits.window_secs, &limits.lock_secs, &limits.max_lock_secs])
        .await?;
    Ok(row.try_get(0)?)
}

pub(super) async fn reset(tx: &Tx, key: &[u8]) -> Result<(), DbError> {
    let stmt = tx.client().prepare_cached("SELECT auth_throttle_reset($1)").await?;
    tx.client().execute(&stmt, &[&key]).await?;
    Ok(())
}
