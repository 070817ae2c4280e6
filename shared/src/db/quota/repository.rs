//! SQL for the per-tenant request quota. The statement runs on its own, ahead of the
//! request's BEGIN and in its round trip (`Ahead`), so a count's row lock lasts one
//! statement; `tenant_quota_take` scopes itself to the tenant it names.

use tokio_postgres::Row;

use crate::{
    db::{Ahead, DbError},
    quota::{QuotaConfig, WINDOW_SECS},
};

/// The limits as the statement's parameters.
pub(in crate::db) struct Limits {
    burst: i32,
    quota: i32,
    window: i32,
}

impl Limits {
    pub(in crate::db) fn of(config: &QuotaConfig) -> Self {
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        Self { burst: int(config.burst), quota: int(config.quota()), window: int(WINDOW_SECS) }
    }
}

const TAKE_FOR_TENANT: &str = "SELECT taken, counts FROM tenant_quota_take($1, $2, $3, $4)";

/// Counts a request of `tenant` (a verified access token's).
pub(in crate::db) fn take_for_tenant<'a>(tenant: &'a uuid::Uuid, limits: &'a Limits) -> Ahead<'a> {
    Ahead { sql: TAKE_FOR_TENANT, params: vec![tenant, &limits.burst, &limits.quota, &limits.window] }
}

/// Counts a request of the tenant of the API key `prefix`, only if the secret's digest is
/// the key's: a wrong secret counts against no one.
const TAKE_FOR_KEY: &str = "SELECT taken, counts FROM tenant_quota_take(api_key_quota_tenant($1, $2), $3, $4, $5)";

pub(in crate::db) fn take_for_key<'a>(prefix: &'a &'a str, secret_hash: &'a &'a [u8], limits: &'a Limits) -> Ahead<'a> {
    Ahead { sql: TAKE_FOR_KEY, params: vec![prefix, secret_hash, &limits.burst, &limits.quota, &limits.window] }
}

/// Whether the request was taken, and the window's counts before it, oldest first.
pub(in crate::db) fn taken(row: &Row) -> Result<(bool, Vec<i32>), DbError> {
    Ok((row.try_get("taken")?, row.try_get("counts")?))
}
