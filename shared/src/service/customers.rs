//! Customers: who a tenant supports. Any user of the tenant manages them; only an admin
//! deletes one, and never while it has open tickets.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::{
    attachments, exports,
    idempotency::{self, Created, IdempotencyKey},
    validate::{normalize_email, not_blank, phone_number},
};
use crate::{
    db::{
        attachments as attachments_db, customers as customers_db,
        customers::{CustomerPatch, NewCustomer},
        exports as exports_db,
    },
    error::Error,
    ids::CustomerId,
    model::Customer,
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

const CREATE_ROUTE: &str = "POST /api/v1/customers";

#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateCustomerInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters"), custom(function = "phone_number"))]
    #[schema(min_length = 1, max_length = 50, pattern = r"^\+?[0-9 ().\-]+$")]
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub company: Option<String>,
}

/// Any of the create fields; absent ones stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateCustomerInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters"), custom(function = "phone_number"))]
    #[schema(min_length = 1, max_length = 50, pattern = r"^\+?[0-9 ().\-]+$")]
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub company: Option<String>,
}

pub async fn create(
    state: &AppState,
    caller: &Credential,
    input: CreateCustomerInput,
    key: Option<IdempotencyKey>,
) -> Result<Created<Customer>, Error> {
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    if let Some(replay) = idempotency::claim(&tx, tenant, CREATE_ROUTE, key.as_ref(), &input).await? {
        tx.rollback().await?;
        return Ok(Created::Replayed(replay));
    }
    let email = normalize_email(&input.email);
    let new = NewCustomer {
        id: CustomerId::generate(),
        name: input.name.trim(),
        email: &email,
        phone: input.phone.as_deref().map(str::trim),
        company: input.company.as_deref().map(str::trim),
    };
    let customer = customers_db::manager::create(&tx, tenant, &new).await?;
    if let Some(entry) = tx.audit() {
        entry.target("customer", customer.id.0);
    }
    idempotency::remember(&tx, tenant, CREATE_ROUTE, key.as_ref(), 201, &customer).await?;
    tx.commit().await?;
    Ok(Created::New(customer))
}

/// Newest first; `q` matches part of the name or the email.
pub async fn list(
    state: &AppState,
    caller: &Credential,
    q: Option<&str>,
    page: PageRequest,
) -> Result<Page<Customer>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let rows = customers_db::manager::list(&tx, principal.tenant_id, q, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |c| c.id.0))
}

pub async fn get(state: &AppState, caller: &Credential, id: CustomerId) -> Result<Customer, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let customer = customers_db::manager::get(&tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(customer)
}

pub async fn update(
    state: &AppState,
    caller: &Credential,
    id: CustomerId,
    input: UpdateCustomerInput,
) -> Result<Customer, Error> {
    let patch = CustomerPatch {
        name: input.name.map(|s| s.trim().to_owned()),
        email: input.email.as_deref().map(normalize_email),
        phone: input.phone.map(|s| s.trim().to_owned()),
        company: input.company.map(|s| s.trim().to_owned()),
    };
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    // Read first only for the audit entry's old values, and only when there is one.
    let before = match tx.audit() {
        Some(_) => Some(customers_db::manager::get(&tx, principal.tenant_id, id).await?),
        None => None,
    };
    let customer = customers_db::manager::update(&tx, principal.tenant_id, id, &patch).await?;
    if let (Some(before), Some(entry)) = (before, tx.audit()) {
        let fields = [
            ("name", json!(before.name), json!(customer.name)),
            ("email", json!(before.email), json!(customer.email)),
            ("phone", json!(before.phone), json!(customer.phone)),
            ("company", json!(before.company), json!(customer.company)),
        ];
        for (field, old, new) in fields.into_iter().filter(|(_, old, new)| old != new) {
            entry.changed(field, old, new);
        }
    }
    tx.commit().await?;
    Ok(customer)
}

/// Erases the customer and everything about it, open tickets included (GDPR Art. 17):
/// its tickets, comments, attachments and their objects, notifications, events in the
/// change feed and webhook deliveries. Idempotent: erasing it again succeeds and does
/// nothing. The objects are deleted after the commit; one that fails is logged.
pub async fn erase(state: &AppState, caller: &Credential, id: CustomerId) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let files = attachments_db::manager::of_customer(&tx, tenant, id).await?;
    if let Err(e) = customers_db::manager::erase(&tx, tenant, id).await {
        tx.rollback().await?;
        return Err(e);
    }
    // Files already exported hold the customer too: those exports are withdrawn.
    let withdrawn = exports_db::manager::withdraw_ready(&tx, tenant).await?;
    tx.commit().await?;
    attachments::erase(state, tenant, &files).await;
    if let Err(e) = exports::delete_files(state, tenant, &withdrawn).await {
        tracing::error!(error = %e, tenant_id = %tenant, "withdrawn exports' files not deleted");
    }
    tracing::info!(tenant_id = %tenant, customer_id = %id, files = files.len(), "customer erased");
    Ok(())
}

/// Deletes the customer and its resolved tickets; refused (409) while any is open.
pub async fn delete(state: &AppState, caller: &Credential, id: CustomerId) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    // The customer's lock makes a ticket being created for it wait, and the tickets' locks
    // make a reopen in flight wait and count, so no open ticket is deleted with it.
    customers_db::manager::lock(&tx, tenant, id).await?;
    let open = customers_db::manager::lock_tickets_count_open(&tx, tenant, id).await?;
    if open > 0 {
        tx.rollback().await?;
        return Err(Error::Conflict(format!("the customer has {open} open ticket(s); resolve them first")));
    }
    let files = attachments_db::manager::of_customer(&tx, tenant, id).await?;
    // The rows of its tickets, comments and attachments go with it (the cascades).
    customers_db::manager::delete(&tx, tenant, id).await?;
    tx.commit().await?;
    attachments::erase(state, tenant, &files).await;
    Ok(())
}
