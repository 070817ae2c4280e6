//! SQL for idempotency keys.

use crate::{
    db::{DbError, Tx},
    ids::TenantId,
};

/// What claiming a key found.
pub enum Claim {
    /// The key is new: this transaction owns it until it commits.
    Claimed,
    /// An earlier request with this key completed: answer what it answered.
    Replay { request_hash: Vec<u8>, status: u16, body: serde_json::Value },
}

/// Claims `(tenant, route, key)`. A concurrent request with the same key waits here on
/// the primary key until the first one commits (then replays it) or rolls back (then
/// claims it itself): the work behind one key is done at most once.
pub(super) async fn claim(
    tx: &Tx,
    tenant: TenantId,
    route: &str,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim, DbError> {
    let insert = tx
        .client()
        .prepare_cached(
            "INSERT INTO idempotency_keys (tenant_id, route, key, request_hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .await?;
    if tx.client().execute(&insert, &[&tenant.0, &route, &key, &request_hash]).await? == 1 {
        return Ok(Claim::Claimed);
    }
    let select = tx
        .client()
        .prepare_cached(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys
             WHERE tenant_id = $1 AND route = $2 AND key = $3",
        )
        .await?;
    let row = tx.client().query_one(&select, &[&tenant.0, &route, &key]).await?;
    let status: Option<i16> = row.try_get("response_status")?;
    let body: Option<serde_json::Value> = row.try_get("response_body")?;
    match (status, body) {
        (Some(status), Some(body)) => {
            Ok(Claim::Replay { request_hash: row.try_get("request_hash")?, status: status as u16, body })
        }
        _ => Err(DbError::Corrupt("idempotency key committed without its response".into())),
    }
}

pub(super) async fn store_response(
    tx: &Tx,
    tenant: TenantId,
    route: &str,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE idempotency_keys SET response_status = $4, response_body = $5
             WHERE tenant_id = $1 AND route = $2 AND key = $3",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &route, &key, &(status as i16), body]).await?;
    Ok(())
}
