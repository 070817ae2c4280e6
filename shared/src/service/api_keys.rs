//! API keys for integrations: admins create them (the key is shown once), list them
//! without secrets, and revoke them, effective on the key's very next request.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::validate::{bounded_date_time, not_blank};
use crate::{
    db::{api_keys as api_keys_db, api_keys::NewApiKey},
    error::Error,
    ids::ApiKeyId,
    model::{ApiKey, CreatedApiKey, Role},
    pagination::{Page, PageRequest},
    security::{Credential, Requires, api_key},
    state::AppState,
};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. the integration that uses it.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// What the key may do: as an agent or as an admin of the tenant.
    pub role: Role,
    /// When the key stops working; it never expires without one. Must be in the future.
    #[serde(default, deserialize_with = "bounded_date_time")]
    #[schema(max_length = 35)]
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create(state: &AppState, caller: &Credential, input: CreateApiKeyInput) -> Result<CreatedApiKey, Error> {
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(Error::validation("expiresAt", "must be in the future"));
    }
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let minted = api_key::mint();
    let new = NewApiKey {
        id: ApiKeyId::generate(),
        name: input.name.trim(),
        role: input.role,
        prefix: &minted.prefix,
        secret_hash: &minted.secret_hash,
        expires_at: input.expires_at,
    };
    let created = api_keys_db::manager::create(&tx, principal.tenant_id, &new).await?;
    if let Some(entry) = tx.audit() {
        entry.target("api-key", created.id.0);
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %principal.tenant_id, api_key_id = %created.id, prefix = %created.prefix, role = %created.role, "API key created");
    Ok(CreatedApiKey { api_key: created, key: minted.key })
}

/// Newest first, revoked ones included (they still name what they did in timelines).
pub async fn list(state: &AppState, caller: &Credential, page: PageRequest) -> Result<Page<ApiKey>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let rows = api_keys_db::manager::list(&tx, principal.tenant_id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |k| k.id.0))
}

/// Idempotent: revoking a revoked key answers the same. A key may revoke itself.
pub async fn revoke(state: &AppState, caller: &Credential, id: ApiKeyId) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let revoked = api_keys_db::manager::revoke(&tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %principal.tenant_id, api_key_id = %revoked.id, prefix = %revoked.prefix, "API key revoked");
    Ok(())
}
