//! SQL for the per-tenant request quota (migrations V20, V25). The count is one statement
//! in a transaction of its own, ahead of the request's unit of work and in its round trip
//! (`Ahead`): a count's row lock lasts one statement, and a request that fails later is
//! counted all the same.

use tokio_postgres::Row;

use crate::{
    db::{Ahead, DbError},
    ids::TenantId,
    quota::WINDOW_SECS,
};

/// The count (migration V25's `quota_count`): scopes itself to the tenant, counts the
/// requests (this one and a container's batch, `crate::quota::tally`) in one of the
/// current second's slots and reads the window's counts before them.
const COUNT: &str = "SELECT now_s, counted, seconds, counts FROM quota_count($1, $2, $3)";

/// The same for an API key, only if the secret's digest is the key's
/// (`api_key_quota_tenant`): a wrong secret counts against no one.
const COUNT_FOR_KEY: &str =
    "SELECT now_s, counted, seconds, counts FROM quota_count(api_key_quota_tenant($1, $2), $3, $4)";

/// The window, as the statement's parameter.
pub(in crate::db) const WINDOW: i64 = WINDOW_SECS as i64;

/// Counts `amount` requests of `tenant` (a verified access token's).
pub(in crate::db) fn count_for_tenant(tenant: TenantId, amount: i32) -> Ahead<'static> {
    Ahead { sql: COUNT, params: vec![Box::new(tenant.0), Box::new(WINDOW), Box::new(amount)] }
}

/// Counts `amount` requests of the tenant of the API key `prefix`.
pub(in crate::db) fn count_for_key<'a>(prefix: &'a str, secret_hash: &'a [u8], amount: i32) -> Ahead<'a> {
    Ahead {
        sql: COUNT_FOR_KEY,
        params: vec![Box::new(prefix), Box::new(secret_hash), Box::new(WINDOW), Box::new(amount)],
    }
}

/// The database's current second and the counts of the window's seconds before the
/// counted requests, oldest first, the current second last; none when no tenant was
/// counted (an API key with a wrong secret).
pub(in crate::db) fn window(row: &Row) -> Result<Option<(i64, Vec<i32>)>, DbError> {
    if !row.try_get::<_, bool>("counted")? {
        return Ok(None);
    }
    let now: i64 = row.try_get("now_s")?;
    let seconds: Vec<i64> = row.try_get("seconds")?;
    let counts: Vec<i32> = row.try_get("counts")?;
    let mut window = vec![0; WINDOW_SECS as usize];
    for (second, count) in seconds.into_iter().zip(counts) {
        // Seconds `now - WINDOW + 1 ..= now` map to 0 ..= WINDOW - 1.
        if let Ok(at) = usize::try_from(second - (now - WINDOW + 1))
            && let Some(slot) = window.get_mut(at)
        {
            *slot = count;
        }
    }
    Ok(Some((now, window)))
}
