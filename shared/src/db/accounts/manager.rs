//! Units of work for sign-ups, password resets and invitations, speaking domain errors.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    db::{
        Tx,
        accounts::{NewInvitation, NewSignup, StoredInvitation, StoredReset, StoredSignup, repository},
    },
    error::Error,
    ids::{TenantId, UserId},
    model::Invitation,
};

pub async fn create_signup(tx: &Tx, tenant: TenantId, new: &NewSignup<'_>) -> Result<(), Error> {
    repository::insert_signup(tx, tenant, new).await.map_err(|e| e.into_error("insert sign-up"))
}

pub async fn lock_signup(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredSignup>, Error> {
    repository::lock_signup(tx, tenant, id).await.map_err(|e| e.into_error("lock sign-up"))
}

pub async fn mark_signup_used(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<(), Error> {
    repository::mark_signup_used(tx, tenant, id).await.map_err(|e| e.into_error("mark sign-up used"))
}

pub async fn create_reset(
    tx: &Tx,
    tenant: TenantId,
    id: Uuid,
    user: UserId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    repository::insert_reset(tx, tenant, id, user, token_hash, expires_at)
        .await
        .map_err(|e| e.into_error("insert password reset"))
}

pub async fn lock_reset(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredReset>, Error> {
    repository::lock_reset(tx, tenant, id).await.map_err(|e| e.into_error("lock password reset"))
}

pub async fn spend_resets(tx: &Tx, tenant: TenantId, user: UserId) -> Result<(), Error> {
    repository::spend_resets(tx, tenant, user).await.map_err(|e| e.into_error("spend password resets"))
}

pub async fn create_invitation(tx: &Tx, tenant: TenantId, new: &NewInvitation<'_>) -> Result<Invitation, Error> {
    repository::insert_invitation(tx, tenant, new).await.map_err(|e| e.into_error("insert invitation"))
}

pub async fn lock_invitation(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<Option<StoredInvitation>, Error> {
    repository::lock_invitation(tx, tenant, id).await.map_err(|e| e.into_error("lock invitation"))
}

pub async fn mark_invitation_accepted(tx: &Tx, tenant: TenantId, id: Uuid) -> Result<(), Error> {
    repository::mark_invitation_accepted(tx, tenant, id).await.map_err(|e| e.into_error("mark invitation accepted"))
}
