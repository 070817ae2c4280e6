//! SQL for API keys. Every statement names its tenant, besides row-level security.

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use crate::{
    db::{Ahead, DbError, Tx},
    ids::{ApiKeyId, TenantId},
    model::{ApiKey, Role},
};

pub struct NewApiKey<'a> {
    pub id: ApiKeyId,
    pub name: &'a str,
    pub role: Role,
    pub prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub expires_at: Option<DateTime<Utc>>,
}

/// A presented key's row, as `Db::begin_as` authorises on it.
pub(in crate::db) struct StoredKey {
    pub tenant_id: TenantId,
    pub id: ApiKeyId,
    pub role: Role,
    pub secret_hash: Vec<u8>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub(in crate::db) const KEY_SQL: &str = "SELECT tenant_id, id, role, secret_hash, last_used_at, expires_at, revoked_at
     FROM api_keys WHERE prefix = $1";

/// Opens the transaction scoped to the tenant the key's prefix names (the SECURITY
/// DEFINER door `api_key_tenant` of V8 answers only that) and reads the key's row under
/// that tenant's row-level security, in one round trip, as `auth::repository` does for a
/// user. An unknown prefix scopes the transaction to no tenant, and the read finds nothing.
/// `prefix` is base32 (`security::api_key::parse` admits nothing else), safe in SQL text.
pub(in crate::db) async fn begin_reading_key(
    client: &ClientWrapper,
    prefix: &str,
    ahead: Option<Ahead<'_>>,
) -> Result<(Option<StoredKey>, Option<Result<Row, DbError>>), DbError> {
    let begin =
        format!("BEGIN; SELECT set_config('app.tenant_id', coalesce(api_key_tenant('{prefix}')::text, ''), true)");
    let (row, counted) = crate::db::begin_and_query_opt(client, &begin, KEY_SQL, &[&prefix], ahead).await?;
    let Some(row) = row else {
        return Ok((None, counted));
    };
    let role: &str = row.try_get("role")?;
    let stored = StoredKey {
        tenant_id: TenantId(row.try_get("tenant_id")?),
        id: ApiKeyId(row.try_get("id")?),
        role: role.parse().map_err(|_| DbError::Corrupt(format!("API key role `{role}`")))?,
        secret_hash: row.try_get("secret_hash")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    };
    Ok((Some(stored), counted))
}

/// Records a use, at most once a minute per key, so a busy integration does not write on
/// every request.
pub(in crate::db) async fn touch(tx: &Tx, tenant: TenantId, id: ApiKeyId) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE api_keys SET last_used_at = now()
             WHERE tenant_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &id.0]).await?;
    Ok(())
}

const COLUMNS: &str = "id, name, role, prefix, created_at, last_used_at, expires_at, revoked_at";

fn api_key(row: &Row) -> Result<ApiKey, DbError> {
    let role: &str = row.try_get("role")?;
    Ok(ApiKey {
        id: ApiKeyId(row.try_get("id")?),
        name: row.try_get("name")?,
        role: role.parse().map_err(|_| DbError::Corrupt(format!("API key role `{role}`")))?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) async fn insert(tx: &Tx, tenant: TenantId, new: &NewApiKey<'_>) -> Result<ApiKey, DbError> {
    let sql = format!(
        "INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx
        .client()
        .query_one(
            &stmt,
            &[&tenant.0, &new.id.0, &new.name, &new.role.as_str(), &new.prefix, &new.secret_hash, &new.expires_at],
        )
        .await?;
    api_key(&row)
}

/// Newest first, after `after` when given.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<ApiKey>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &after, &limit]).await?;
    rows.iter().map(api_key).collect()
}

/// Revokes a key; revoking a revoked key keeps its first revocation time. `None` when
/// the tenant has no such key.
pub(super) async fn revoke(tx: &Tx, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, DbError> {
    let sql = format!(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(api_key).transpose()
}
