//! Units of work for tenants and refresh tokens, speaking domain errors.

use crate::{
    db::{
        Tx,
        auth::{LoginRecord, StoredRefreshToken, repository},
    },
    error::Error,
    ids::{RefreshTokenId, TenantId, TokenFamilyId, UserId},
    model::Tenant,
    security::refresh::NewRefreshToken,
};

pub async fn create_tenant(tx: &Tx, id: TenantId, name: &str) -> Result<Tenant, Error> {
    repository::insert_tenant(tx, id, name).await.map_err(|e| e.into_error("insert tenant"))
}

pub async fn get_tenant(tx: &Tx, id: TenantId) -> Result<Tenant, Error> {
    repository::get_tenant(tx, id).await.map_err(|e| e.into_error("get tenant"))?.ok_or(Error::NotFound("tenant"))
}

pub async fn find_login(tx: &Tx, email: &str) -> Result<Option<LoginRecord>, Error> {
    repository::login_lookup(tx, email).await.map_err(|e| e.into_error("login lookup"))
}

pub async fn store_refresh_token(
    tx: &Tx,
    tenant: TenantId,
    user: UserId,
    family: TokenFamilyId,
    token: &NewRefreshToken,
) -> Result<(), Error> {
    repository::insert_refresh_token(tx, tenant, user, family, token)
        .await
        .map_err(|e| e.into_error("insert refresh token"))
}

pub async fn lock_refresh_token(
    tx: &Tx,
    tenant: TenantId,
    id: RefreshTokenId,
) -> Result<Option<StoredRefreshToken>, Error> {
    repository::lock_refresh_token(tx, tenant, id).await.map_err(|e| e.into_error("lock refresh token"))
}

pub async fn mark_refresh_token_used(tx: &Tx, tenant: TenantId, id: RefreshTokenId) -> Result<(), Error> {
    repository::mark_refresh_token_used(tx, tenant, id).await.map_err(|e| e.into_error("mark refresh token used"))
}

pub async fn revoke_family(tx: &Tx, tenant: TenantId, family: TokenFamilyId) -> Result<(), Error> {
    repository::revoke_family(tx, tenant, family).await.map_err(|e| e.into_error("revoke token family"))?;
    Ok(())
}

pub async fn revoke_user_tokens(tx: &Tx, tenant: TenantId, user: UserId) -> Result<(), Error> {
    repository::revoke_user_tokens(tx, tenant, user).await.map_err(|e| e.into_error("revoke user tokens"))?;
    Ok(())
}

pub async fn revoke_user_tokens_except(
    tx: &Tx,
    tenant: TenantId,
    user: UserId,
    keep: TokenFamilyId,
) -> Result<(), Error> {
    repository::revoke_user_tokens_except(tx, tenant, user, keep)
        .await
        .map_err(|e| e.into_error("revoke other sessions"))?;
    Ok(())
}
