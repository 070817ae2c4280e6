//! SQL for the mailed single-use tokens. Every statement names its tenant, besides
//! row-level security; a token row is locked while it is redeemed, so it redeems once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::{DbError, Tx},
    ids::{TenantId, UserId},
    model::{Invitation, Role},
    security::ActorId,
};

pub struct NewSignup<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub tenant_name: &'a str,
    pub password_hash: &'a str,
    pub token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

pub struct StoredSignup {
    pub email: String,
    pub name: Option<String>,
    pub tenant_name: String,
    pub password_hash: String,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub struct StoredReset {
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub struct NewInvitation<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub invited_by: ActorId,
    pub token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

pub struct StoredInvitation {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

pub(super) async fn insert_signup(tx: &Tx, tenant: TenantId, new: &NewSignup<'_>) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO signups (tenant_id, id, email, name, tenant_name, password_hash, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.client()
        .execute(
            &stmt,
            &[
                &tenant.0,
                &new.id,
                &new.email,
                &new.name,
                &new.tenant_name,
                &new.password_hash,
                &new.token_hash,
                &new.expires_at,
            ],
        )
        .await?;
    Ok(())
}

pub(super) async fn lock_signup(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredSignup>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT email, name, tenant_name, password_hash, token_hash, expires_at, used_at
             FROM signups WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&tenant.0, &id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredSignup {
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        tenant_name: row.try_get("tenant_name")?,
        password_hash: row.try_get("password_hash")?,
        token_hash: row.try_get("token_hash")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
    }))
}

pub(super) async fn mark_signup_used(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<(), DbError> {
    let stmt =
        tx.client().prepare_cached("UPDATE signups SET used_at = now() WHERE tenant_id = $1 AND id = $2").await?;
    tx.client().execute(&stmt, &[&tenant.0, &id]).await?;
    Ok(())
}

pub(super) async fn insert_reset(
    tx: &Tx,
    tenant: TenantId,
    id: Uuid,
    user: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO password_resets (tenant_id, id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &id, &user.0, &token_hash, &expires_at]).await?;
    Ok(())
}

pub(super) async fn lock_reset(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredReset>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT user_id, token_hash, expires_at, used_at
             FROM password_resets WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&tenant.0, &id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredReset {
        user_id: UserId(row.try_get("user_id")?),
        token_hash: row.try_get("token_hash")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
    }))
}

/// Spends every reset token of the user, the redeemed one among them: a reset link
/// mailed earlier must not work after the password it was meant to replace is gone.
pub(super) async fn spend_resets(tx: &Tx, tenant: TenantId, user: UserId) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "UPDATE password_resets SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL",
        )
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &user.0]).await?;
    Ok(())
}

pub(super) async fn insert_invitation(
    tx: &Tx,
    tenant: TenantId,
    new: &NewInvitation<'_>,
) -> Result<Invitation, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "INSERT INTO invitations (tenant_id, id, email, name, role, invited_by, invited_by_api_key, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             RETURNING id, email, name, role, expires_at",
        )
        .await?;
    let (by_user, by_key) = new.invited_by.columns();
    let row = tx
        .client()
        .query_one(
            &stmt,
            &[
                &tenant.0,
                &new.id,
                &new.email,
                &new.name,
                &new.role.as_str(),
                &by_user,
                &by_key,
                &new.token_hash,
                &new.expires_at,
            ],
        )
        .await?;
    Ok(Invitation {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role(row.try_get("role")?)?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(super) async fn lock_invitation(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredInvitation>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT email, name, role, token_hash, expires_at, accepted_at
             FROM invitations WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        )
        .await?;
    let Some(row) = tx.client().query_opt(&stmt, &[&tenant.0, &id]).await? else {
        return Ok(None);
    };
    Ok(Some(StoredInvitation {
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role(row.try_get("role")?)?,
        token_hash: row.try_get("token_hash")?,
        expires_at: row.try_get("expires_at")?,
        accepted_at: row.try_get("accepted_at")?,
    }))
}

pub(super) async fn mark_invitation_accepted(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<(), DbError> {
    let stmt = tx
        .client()
        .prepare_cached("UPDATE invitations SET accepted_at = now() WHERE tenant_id = $1 AND id = $2")
        .await?;
    tx.client().execute(&stmt, &[&tenant.0, &id]).await?;
    Ok(())
}

fn role(raw: &str) -> Result<Role, DbError> {
    raw.parse().map_err(|_| DbError::Corrupt(format!("invitation role `{raw}`")))
}
