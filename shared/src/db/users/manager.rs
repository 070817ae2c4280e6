//! Units of work for users, speaking domain errors.

use uuid::Uuid;

use crate::{
    db::{
        DbError, Tx,
        users::{NewUser, UserPatch, repository},
    },
    error::Error,
    ids::{TenantId, UserId},
    model::{Role, User},
};

fn email_taken(e: DbError, operation: &'static str) -> Error {
    if e.is_unique_violation("users_email_key") {
        Error::Conflict("a user with this email already exists".into())
    } else {
        e.into_error(operation)
    }
}

pub async fn create(tx: &Tx, tenant: TenantId, new: &NewUser<'_>) -> Result<User, Error> {
    repository::insert(tx, tenant, new).await.map_err(|e| email_taken(e, "insert user"))
}

pub async fn get(tx: &Tx, tenant: TenantId, id: UserId) -> Result<User, Error> {
    repository::get(tx, tenant, id).await.map_err(|e| e.into_error("get user"))?.ok_or(Error::NotFound("user"))
}

pub async fn lock(tx: &Tx, tenant: TenantId, id: UserId) -> Result<User, Error> {
    repository::lock(tx, tenant, id).await.map_err(|e| e.into_error("lock user"))?.ok_or(Error::NotFound("user"))
}

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    role: Option<Role>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, Error> {
    repository::list(tx, tenant, role, after, limit).await.map_err(|e| e.into_error("list users"))
}

pub async fn lock_active_admins(tx: &Tx, tenant: TenantId) -> Result<Vec<UserId>, Error> {
    repository::lock_active_admins(tx, tenant).await.map_err(|e| e.into_error("lock admins"))
}

pub async fn update(tx: &Tx, tenant: TenantId, id: UserId, patch: &UserPatch) -> Result<User, Error> {
    repository::update(tx, tenant, id, patch)
        .await
        .map_err(|e| e.into_error("update user"))?
        .ok_or(Error::NotFound("user"))
}

pub async fn password_hash(tx: &Tx, tenant: TenantId, id: UserId) -> Result<String, Error> {
    repository::password_hash(tx, tenant, id)
        .await
        .map_err(|e| e.into_error("read password hash"))?
        .ok_or(Error::NotFound("user"))
}

pub async fn set_password(tx: &Tx, tenant: TenantId, id: UserId, password_hash: &str) -> Result<(), Error> {
    match repository::set_password(tx, tenant, id, password_hash).await {
        Ok(0) => Err(Error::NotFound("user")),
        Ok(_) => Ok(()),
        Err(e) => Err(e.into_error("set password")),
    }
}

/// Whether the tenant has a user with this address.
pub async fn email_exists(tx: &Tx, tenant: TenantId, email: &str) -> Result<bool, Error> {
    repository::email_exists(tx, tenant, email).await.map_err(|e| e.into_error("find user by email"))
}
