//! SQL for the per-tenant request quota (migration V20). The count runs in a little
//! transaction of its own, scoped to the tenant, ahead of the request's unit of work and in
//! its round trip (`Ahead`): a count's row lock lasts one statement, and a request that
//! fails later is counted all the same.

use tokio_postgres::Row;

use crate::{
    db::{Ahead, DbError},
    ids::TenantId,
    quota::WINDOW_SECS,
};

/// Counts the request in one of the current second's 8 slots and reads the counts of the
/// window's seconds as they were before it (a statement does not see its own writes).
/// Now and then it also deletes the tenant's expired seconds, so no job reads across
/// tenants. `now()` rather than the clock: stable, so the window bounds the index scan.
const COUNT: &str = "WITH clock AS (SELECT floor(extract(epoch FROM now()))::bigint AS now_s),
     counted AS (
        INSERT INTO tenant_request_counts AS r (tenant_id, second, slot, count)
        SELECT app_current_tenant(), clock.now_s, floor(random() * 8)::smallint, 1 FROM clock
        WHERE app_current_tenant() IS NOT NULL
        ON CONFLICT (tenant_id, second, slot) DO UPDATE SET count = r.count + 1
        RETURNING 1),
     pruned AS (
        DELETE FROM tenant_request_counts r
        WHERE r.tenant_id = app_current_tenant()
          AND r.second <= floor(extract(epoch FROM now()))::bigint - $1 AND (SELECT random()) < 0.01),
     seconds AS (
        SELECT r.second, sum(r.count)::integer AS n FROM tenant_request_counts r
        WHERE r.tenant_id = app_current_tenant() AND r.second > floor(extract(epoch FROM now()))::bigint - $1
        GROUP BY r.second)
     SELECT clock.now_s, app_current_tenant() IS NOT NULL AS counted,
            coalesce((SELECT array_agg(s.second ORDER BY s.second) FROM seconds s), '{}') AS seconds,
            coalesce((SELECT array_agg(s.n ORDER BY s.second) FROM seconds s), '{}') AS counts
     FROM clock";

/// The window, as the statement's parameter.
pub(in crate::db) const WINDOW: i64 = WINDOW_SECS as i64;

/// Counts a request of `tenant` (a verified access token's). The id is a typed UUID, safe
/// to format into the batch that opens the count's transaction.
pub(in crate::db) fn count_for_tenant(tenant: TenantId) -> Ahead<'static> {
    Ahead {
        open: format!("BEGIN; SELECT set_config('app.tenant_id', '{}', true)", tenant.0),
        sql: COUNT,
        params: vec![&WINDOW],
    }
}

/// Counts a request of the tenant of the API key `prefix`, only if the secret's digest is
/// the key's (`api_key_quota_tenant`): a wrong secret counts against no one. The prefix is
/// base32 and the digest hex, both safe in SQL text.
pub(in crate::db) fn count_for_key(prefix: &str, secret_hash: &[u8]) -> Ahead<'static> {
    let hex: String = secret_hash.iter().map(|b| format!("{b:02x}")).collect();
    Ahead {
        open: format!(
            "BEGIN; SELECT set_config('app.tenant_id', \
             coalesce(api_key_quota_tenant('{prefix}', '\\x{hex}'::bytea)::text, ''), true)"
        ),
        sql: COUNT,
        params: vec![&WINDOW],
    }
}

/// The counts of the window's seconds before this request, oldest first, the current
/// second last; none when no tenant was counted (an API key with a wrong secret).
pub(in crate::db) fn window(row: &Row) -> Result<Option<Vec<i32>>, DbError> {
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
    Ok(Some(window))
}
