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
