//! Units of work for API keys, speaking domain errors.

use crate::{
    db::{
        Tx,
        api_keys::{NewApiKey, repository},
    },
    error::Error,
    ids::{ApiKeyId, TenantId},
    model::ApiKey,
};

pub async fn create(tx: &Tx, tenant: TenantId, new: &NewApiKey<'_>) -> Result<ApiKey, Error> {
    repository::insert(tx, tenant, new).await.map_err(|e| e.into_error("insert API key"))
}

pub async fn list(tx: &Tx, tenant: TenantId, after: Option<uuid::Uuid>, limit: i64) -> Result<Vec<ApiKey>, Error> {
    repository::list(tx, tenant, after, limit).await.map_err(|e| e.into_error("list API keys"))
}

/// 404 for an id the tenant does not have.
pub async fn revoke(tx: &Tx, tenant: TenantId, id: ApiKeyId) -> Result<ApiKey, Error> {
    repository::revoke(tx, tenant, id)
        .await
        .map_err(|e| e.into_error("revoke API key"))?
        .ok_or(Error::NotFound("API key"))
}
