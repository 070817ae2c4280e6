//! SQL for tenants, the caller's row, the login lookup and refresh tokens.

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;

use crate::{
    db::{Ahead, DbError, Tx},
    ids::{RefreshTokenId, TenantId, TokenFamilyId, UserId},
    model::{Role, Tenant},
    security::refresh::NewRefreshToken,
};

/// What authorises a request: the caller's row as it is now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub role: Role,
    pub disabled: bool,
}

/// The caller's row by primary key. Row-level security applies: the statement runs after
/// the `set_config` of the same tenant, inside the transaction.
pub(in crate::db) const CALLER_SQL: &str = "SELECT role, disabled FROM users WHERE tenant_id = $1 AND id = $2";

/// Opens the transaction (`begin` is its `BEGIN; SELECT set_config(..)` batch) and reads
/// the caller in the same round trip ([`crate::db::begin_and_query_opt`]), after `ahead`.
pub(in crate::db) async fn begin_reading_caller(
    client: &ClientWrapper,
    begin: &str,
    tenant: TenantId,
    user: UserId,
    ahead: Option<Ahead<'_>>,
) -> Result<(Option<Caller>, Option<Result<Row, DbError>>), DbError> {
    let (row, counted) =
        crate::db::begin_and_query_opt(client, begin, CALLER_SQL, &[&tenant.0, &user.0], ahead).await?;
    let Some(row) = row else {
        return Ok((None, counted));
    };
    let role: &str = row.try_get("role")?;
    let caller = Caller {
        role: role.parse().map_err(|_| DbError::Corrupt(format!("user role `{role}`")))?,
        disabled: row.try_get("disabled")?,
    };
    Ok((Some(caller), counted))
}

pub struct LoginRecord {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub password_hash: String,
    pub disabled: bool,
}

pub struct StoredRefreshToken {
    pub user_id: UserId,
    pub family_id: TokenFamilyId,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn tenant(row: &Row) -> Result<Tenant, DbError> {
    Ok(Tenant { id: TenantId(row.try_get("id")?), name: row.try_get("name")?, created_at: row.try_get("created_at")? })
}

pub(super) async fn insert_tenant(tx: &Tx, id: TenantId, name: &str) -> Result<Tenant, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at")
        .await?;
    tenant(&tx.client().query_one(&stmt, &[&id.0, &name]).await?)
}

pub(super) async fn get_tenant(tx: &Tx, id: TenantId) -> Result<Option<Tenant>, DbError> {
    let stmt = tx.client().prepare_cached("SELECT id, name, created_at FROM tenants WHERE id = $1").await?;
    tx.client().query_opt(&stmt, &[&id.0]).await?.as_ref().map(tenant).transpose()
}

pub(super) async fn login_lookup(tx: &Tx, email: &str) -> Result<Option<LoginRecord>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("SELECT user_id, tenant_id, password_hash, disabled FROM auth_login_lookup($1)")
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&email]).await? else {
        return Ok(None);
    };
    Ok(Some(LoginRecord {
        user_id: UserId(row.try_get("user_id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get("disabled")?,
    }))
}

pub(super) async fn insert_refresh_token(
    tx: &Tx,
    tenant: TenantId,
    user: UserId,
    family: TokenFamilyId,
    token: &NewRefreshToken,
) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &token.id.0, &user.0, &family.0, &token.hash, &token.expires_at]).await?;
    Ok(())
}

/// Locks the row so two concurrent refreshes of one token cannot both rotate it.
pub(super) async fn lock_refresh_token(
    tx: &Tx,
    tenant: TenantId,
    id: RefreshTokenId,
) -> Result<Option<StoredRefreshToken>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT user_id, family_id, token_hash, expires_at, used_at, revoked_at
             FROM refresh_tokens WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredRefreshToken {
        user_id: UserId(row.try_get("user_id")?),
        family_id: TokenFamilyId(row.try_get("family_id")?),
        token_hash: row.try_get("token_hash")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    }))
}

pub(super) async fn mark_refresh_token_used(tx: &Tx, tenant: TenantId, id: RefreshTokenId) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached("UPDATE refresh_tokens SET used_at = now() WHERE tenant_id = $1 AND id = $2")
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &id.0]).await?;
    Ok(())
}

pub(super) async fn revoke_family(tx: &Tx, tenant: TenantId, family: TokenFamilyId) -> Result<u64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &family.0]).await?)
}

pub(super) async fn revoke_user_tokens(tx: &Tx, tenant: TenantId, user: UserId) -> Result<u64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &user.0]).await?)
}

/// Every refresh token of the user but those of `keep` (the caller's own session).
pub(super) async fn revoke_user_tokens_except(
    tx: &Tx,
    tenant: TenantId,
    user: UserId,
    keep: TokenFamilyId,
) -> Result<u64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE tenant_id = $1 AND user_id = $2 AND family_id <> $3 AND revoked_at IS NULL",
        )
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &user.0, &keep.0]).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_ceilings_read_the_caller_as_every_request_does() {
        let sql = CALLER_SQL.replace("$1", ":tenant").replace("$2", ":actor");
        for file in [
            "create.sql",
            "get.sql",
            "list.sql",
            "list-deep.sql",
            "list-status.sql",
            "stats.sql",
            "comment.sql",
            "comments.sql",
        ] {
            crate::db::assert_ceiling_runs(file, &sql);
        }
    }
}
