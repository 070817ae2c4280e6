//! SQL for users. Every statement names its tenant, besides row-level security.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{TenantId, UserId},
    model::{Role, User},
};

const COLUMNS: &str = "tenant_id, id, email, name, role, disabled, created_at";

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Absent fields stay as they are.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

fn user(row: &Row) -> Result<User, DbError> {
    let role: &str = row.try_get("role")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(|_| DbError::Corrupt(format!("user role `{role}`")))?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn insert(tx: &Tx, tenant: TenantId, new: &NewUser<'_>) -> Result<User, DbError> {
    let sql = format!(
        "INSERT INTO users (tenant_id, id, email, name, role, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row = tx
        .client()
        .query_one(&stmt, &[&tenant.0, &new.id.0, &new.email, &new.name, &new.role.as_str(), &new.password_hash])
        .await?;
    user(&row)
}

pub(super) async fn get(tx: &Tx, tenant: TenantId, id: UserId) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(user).transpose()
}

pub(super) async fn lock(tx: &Tx, tenant: TenantId, id: UserId) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(user).transpose()
}

/// Newest first; `after` is the last id of the previous page.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    role: Option<Role>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users
         WHERE tenant_id = $1
           AND ($2::text IS NULL OR role = $2)
           AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC
         LIMIT $4"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let role = role.map(Role::as_str);
    let rows = tx.client().query(&stmt, &[&tenant.0, &role, &after, &limit]).await?;
    rows.iter().map(user).collect()
}

/// Locks every active admin in id order: concurrent demotions queue up here, in the same
/// order, instead of each seeing the other as the admin that remains.
pub(super) async fn lock_active_admins(tx: &Tx, tenant: TenantId) -> Result<Vec<UserId>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' AND NOT disabled
             ORDER BY id FOR UPDATE",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&tenant.0]).await?;
    rows.iter().map(|r| Ok(UserId(r.try_get("id")?))).collect()
}

pub(super) async fn update(tx: &Tx, tenant: TenantId, id: UserId, patch: &UserPatch) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users SET
             name = coalesce($3, name),
             role = coalesce($4, role),
             disabled = coalesce($5, disabled),
             updated_at = now()
         WHERE tenant_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let role = patch.role.map(Role::as_str);
    tx.client()
        .query_opt(&stmt, &[&tenant.0, &id.0, &patch.name, &role, &patch.disabled])
        .await?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn password_hash(tx: &Tx, tenant: TenantId, id: UserId) -> Result<Option<String>, DbError> {
    let stmt = tx.client().prepare_cached("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2").await?;
    Ok(tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.map(|r| r.try_get(0)).transpose()?)
}

pub(super) async fn set_password(tx: &Tx, tenant: TenantId, id: UserId, password_hash: &str) -> Result<u64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("UPDATE users SET password_hash = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2")
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0, &password_hash]).await?)
}

pub(super) async fn email_exists(tx: &Tx, tenant: TenantId, email: &str) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND lower(email) = lower($2))")
        .await?;
    Ok(tx.client().query_one(&stmt, &[&tenant.0, &email]).await?.try_get(0)?)
}
