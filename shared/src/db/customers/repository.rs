//! SQL for customers.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx, keyset::KeysetQuery, like_pattern},
    ids::{CustomerId, TenantId},
    model::Customer,
};

const COLUMNS: &str = "tenant_id, id, name, email, phone, company, created_at, updated_at";

pub struct NewCustomer<'a> {
    pub id: CustomerId,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub company: Option<&'a str>,
}

/// Absent fields stay as they are.
#[derive(Debug, Default)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

fn customer(row: &Row) -> Result<Customer, DbError> {
    Ok(Customer {
        id: CustomerId(row.try_get("id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        company: row.try_get("company")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) async fn insert(tx: &Tx, tenant: TenantId, new: &NewCustomer<'_>) -> Result<Customer, DbError> {
    let sql = format!(
        "INSERT INTO customers (tenant_id, id, name, email, phone, company)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    let row =
        tx.client().query_one(&stmt, &[&tenant.0, &new.id.0, &new.name, &new.email, &new.phone, &new.company]).await?;
    customer(&row)
}

pub(super) async fn get(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM customers WHERE tenant_id = $1 AND id = $2");
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.as_ref().map(customer).transpose()
}

/// Locks the customer: a ticket being created for it (a foreign-key check) waits.
pub(super) async fn lock(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<bool, DbError> {
    let stmt =
        tx.client().prepare_cached("SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE").await?;
    Ok(tx.client().query_opt(&stmt, &[&tenant.0, &id.0]).await?.is_some())
}

/// Newest first; `q` matches a substring of the name or the email, case-insensitively.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    q: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Customer>, DbError> {
    let pattern = q.map(like_pattern);
    let rows = KeysetQuery::new(format!("SELECT {COLUMNS} FROM customers"), "tenant_id", &tenant.0)
        .and("lower(name || ' ' || email) LIKE", &pattern)
        .fetch(tx, "id", &after, &limit)
        .await?;
    rows.iter().map(customer).collect()
}

pub(super) async fn update(
    tx: &Tx,
    tenant: TenantId,
    id: CustomerId,
    patch: &CustomerPatch,
) -> Result<Option<Customer>, DbError> {
    let sql = format!(
        "UPDATE customers SET
             name = coalesce($3, name),
             email = coalesce($4, email),
             phone = coalesce($5, phone),
             company = coalesce($6, company),
             updated_at = now()
         WHERE tenant_id = $1 AND id = $2
         RETURNING {COLUMNS}"
    );
    let stmt = tx.client().prepare_cached(&sql).await?;
    tx.client()
        .query_opt(&stmt, &[&tenant.0, &id.0, &patch.name, &patch.email, &patch.phone, &patch.company])
        .await?
        .as_ref()
        .map(customer)
        .transpose()
}

/// Locks every ticket of the customer and counts the open ones. Locking all of them, not
/// only those open in this snapshot, is what makes a concurrent reopen count: the lock
/// waits for it and then reads the row as it committed.
pub(super) async fn lock_tickets_count_open(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<i64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE status IN ('OPEN', 'IN_PROGRESS'))
             FROM (SELECT status FROM tickets WHERE tenant_id = $1 AND customer_id = $2 FOR UPDATE) locked",
        )
        .await?;
    Ok(tx.client().query_one(&stmt, &[&tenant.0, &id.0]).await?.try_get(0)?)
}

pub(super) async fn delete(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<bool, DbError> {
    let stmt = tx.client().prepare_cached("DELETE FROM customers WHERE tenant_id = $1 AND id = $2").await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &id.0]).await? == 1)
}

/// Erases the customer and everything about it in one statement: its tickets with their
/// timeline, comments, attachment rows, tags and notifications (the cascades), its
/// tickets' events in the outbox (the change feed) and their webhook deliveries, and the
/// remembered answers of idempotent requests that name it or its tickets; then records
/// the erasure (ids only). False when there was no such customer.
pub(super) async fn erase(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<bool, DbError> {
    const SQL: &str = "WITH t AS (SELECT id FROM tickets WHERE tenant_id = $1 AND customer_id = $2),
             e AS (SELECT id FROM outbox WHERE tenant_id = $1 AND ticket_id IN (SELECT id FROM t)),
             d AS (DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND event_id IN (SELECT id FROM e)),
             o AS (DELETE FROM outbox WHERE tenant_id = $1 AND id IN (SELECT id FROM e)),
             k AS (DELETE FROM idempotency_keys
                   WHERE tenant_id = $1 AND (response_body ->> 'id' = $2::text OR response_body ->> 'customerId' = $2::text)),
             c AS (DELETE FROM customers WHERE tenant_id = $1 AND id = $2 RETURNING id),
             x AS (INSERT INTO customer_erasures (tenant_id, customer_id) SELECT $1, id FROM c ON CONFLICT DO NOTHING)
         SELECT (SELECT count(*) FROM c) AS erased, coalesce((SELECT array_agg(id) FROM t), '{}') AS tickets";
    let stmt = tx.client().prepare_cached(SQL).await?;
    let row = tx.client().query_one(&stmt, &[&tenant.0, &id.0]).await?;
    let erased: i64 = row.try_get("erased")?;
    if erased == 0 {
        return Ok(false);
    }
    // The audit log keeps the erasure and the ids; the fields its rows recorded go
    // (migration V18's one door into those rows).
    let tickets: Vec<uuid::Uuid> = row.try_get("tickets")?;
    let redact = tx.client().prepare_cached("SELECT audit_redact_erased($1, $2)").await?;
    tx.client().query_one(&redact, &[&id.0, &tickets]).await?;
    Ok(true)
}

/// Whether the customer was erased before.
pub(super) async fn was_erased(tx: &Tx, tenant: TenantId, id: CustomerId) -> Result<bool, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM customer_erasures WHERE tenant_id = $1 AND customer_id = $2)")
        .await?;
    Ok(tx.client().query_one(&stmt, &[&tenant.0, &id.0]).await?.try_get(0)?)
}
