//! Units of work for customers, speaking domain errors.

use uuid::Uuid;

use crate::{
    db::{
        DbError, Tx,
        customers::{CustomerPatch, NewCustomer, repository},
    },
    error::Error,
    ids::{CustomerId, TenantId},
    model::Customer,
};

fn email_taken(e: DbError, operation: &'static str) -> Error {
    if e.is_unique_violation("customers_tenant_email_key") {
        Error::Conflict("a customer with this email already exists".into())
    } else {
        e.into_error(operation)
    }
}

pub async fn create(tx: &Tx, tenant: TenantId, new: &NewCustomer<'_>) -> Result<Customer, Error> {
    repository::insert(tx, tenant, new).await.map_err(|e| email_taken(e, "insert customer"))
}

pub async fn get(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<Customer, Error> {
    repository::get(tx, tenant, id).await.map_err(|e| e.into_error("get customer"))?.ok_or(Error::NotFound("customer"))
}

pub async fn lock(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<(), Error> {
    match repository::lock(tx, tenant, id).await.map_err(|e| e.into_error("lock customer"))? {
        true => Ok(()),
        false => Err(Error::NotFound("customer")),
    }
}

pub async fn list(
    tx: &Tx,
    tenant: TenantId,
    q: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Customer>, Error> {
    repository::list(tx, tenant, q, after, limit).await.map_err(|e| e.into_error("list customers"))
}

pub async fn update(tx: &Tx, tenant: TenantId, id: CustomerId, patch: &CustomerPatch) -> Result<Customer, Error> {
    repository::update(tx, tenant, id, patch)
        .await
        .map_err(|e| email_taken(e, "update customer"))?
        .ok_or(Error::NotFound("customer"))
}

pub async fn lock_tickets_count_open(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<i64, Error> {
    repository::lock_tickets_count_open(tx, tenant, id).await.map_err(|e| e.into_error("lock the customer's tickets"))
}

pub async fn delete(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<(), Error> {
    match repository::delete(tx, tenant, id).await.map_err(|e| e.into_error("delete customer"))? {
        true => Ok(()),
        false => Err(Error::NotFound("customer")),
    }
}

/// Erases the customer (see the repository); a customer erased before is a success, one
/// that never existed in this tenant a 404.
pub async fn erase(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<(), Error> {
    if repository::erase(tx, tenant, id).await.map_err(|e| e.into_error("erase customer"))? {
        return Ok(());
    }
    match repository::was_erased(tx, tenant, id).await.map_err(|e| e.into_error("read customer erasures"))? {
        true => Ok(()),
        false => Err(Error::NotFound("customer")),
    }
}
