//! Sign-up, login, refresh-token rotation, logout and "who am I".

use crate::security::ActorId;
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{
    throttle::{self, LoginKeys, RefreshKey},
    validate::{normalize_email, not_blank},
};
use crate::{
    db::{Tx, auth as auth_db, users as users_db},
    error::Error,
    ids::TokenFamilyId,
    model::{AuthSession, Me, Tenant, User},
    security::{Credential, Requires, refresh, tokens::ACCESS_TOKEN_TTL_SECS},
    state::AppState,
};

/// Same words for a wrong password, an unknown email and a disabled account, so the
/// answer never tells which addresses exist.
const INVALID_CREDENTIALS: Error = Error::Unauthorized("the email or password is not correct");
const INVALID_REFRESH: Error = Error::Unauthorized("the refresh token is not valid");

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub tenant_name: String,
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(min = 8, max = 128, message = "must be 8 to 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginInput {
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters"))]
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshInput {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

/// `source_ip` is API Gateway's `requestContext.http.sourceIp` (throttling; see
/// [`throttle`]). An unknown address, a wrong password and a disabled account take the same
/// path: one password verification, one failure counted, the same 401.
pub async fn login(state: &AppState, input: LoginInput, source_ip: Option<&str>) -> Result<AuthSession, Error> {
    let email = normalize_email(&input.email);
    let keys = LoginKeys::new(&email, source_ip);
    let tx = state.db.begin_unscoped().await?;
    throttle::check_login(&tx, &keys).await?;
    let record = auth_db::manager::find_login(&tx, &email).await?;
    tx.commit().await?;

    // Verify even when there is no such user, so both cost the same time.
    let verified = state.passwords.verify(input.password, record.as_ref().map(|r| r.password_hash.clone())).await?;
    let record = match record {
        Some(r) if verified && !r.disabled => r,
        _ => {
            let tx = state.db.begin_unscoped().await?;
            throttle::login_failed(&tx, &state.config.throttle, &keys).await?;
            tx.commit().await?;
            return Err(INVALID_CREDENTIALS);
        }
    };

    let mut tx = state.db.begin_for(record.tenant_id).await?;
    tx.record_as(record.tenant_id, ActorId::User(record.user_id), record.user_id);
    throttle::login_succeeded(&tx, &keys).await?;
    let user = users_db::manager::get(&tx, record.tenant_id, record.user_id).await?;
    let tenant = auth_db::manager::get_tenant(&tx, record.tenant_id).await?;
    let session = open_session(state, &tx, user, tenant, TokenFamilyId::generate()).await?;
    tx.commit().await?;
    Ok(session)
}

/// Rotates a refresh token: the presented one is spent, a new pair is issued. Presenting a
/// spent token means it was copied: the whole family (that login's session) is revoked,
/// unless it comes within the reuse grace of its rotation (see [`Rotation`]).
/// Refused tokens count against the source IP, which is locked (429) past the limit.
pub async fn refresh(state: &AppState, input: RefreshInput, source_ip: Option<&str>) -> Result<AuthSession, Error> {
    let key = RefreshKey::new(source_ip);
    let Some(presented) = refresh::parse(&input.refresh_token) else {
        let tx = state.db.begin_unscoped().await?;
        throttle::check_refresh(&tx, &key).await?;
        return refuse_refresh(state, tx, &key).await;
    };
    let tenant_id = presented.tenant_id;
    let mut tx = state.db.begin_for(tenant_id).await?;
    throttle::check_refresh(&tx, &key).await?;
    let stored = match auth_db::manager::lock_refresh_token(&tx, tenant_id, presented.id).await? {
        Some(s) if presented.matches(&s.token_hash) && s.revoked_at.is_none() && s.expires_at > Utc::now() => s,
        _ => return refuse_refresh(state, tx, &key).await,
    };
    tx.record_as(tenant_id, ActorId::User(stored.user_id), stored.user_id);
    let rotation = Rotation::of(&stored, state.config.refresh_reuse_grace_secs);
    if rotation == Rotation::Reuse {
        auth_db::manager::revoke_family(&tx, tenant_id, stored.family_id).await?;
        tracing::warn!(tenant_id = %tenant_id, user_id = %stored.user_id, "refresh token reused; session revoked");
        return refuse_refresh(state, tx, &key).await;
    }
    // The user is read afresh: a changed role is in the new access token, a disabled user
    // gets none.
    let user = users_db::manager::get(&tx, tenant_id, stored.user_id).await?;
    if user.disabled {
        auth_db::manager::revoke_family(&tx, tenant_id, stored.family_id).await?;
        tx.commit().await?;
        return Err(INVALID_REFRESH);
    }
    match rotation {
        Rotation::First => auth_db::manager::mark_refresh_token_used(&tx, tenant_id, presented.id).await?,
        _ => {
            tracing::info!(tenant_id = %tenant_id, user_id = %stored.user_id, "refresh token retried within the reuse grace")
        }
    }
    let tenant = auth_db::manager::get_tenant(&tx, tenant_id).await?;
    let session = open_session(state, &tx, user, tenant, stored.family_id).await?;
    tx.commit().await?;
    Ok(session)
}

/// What presenting a valid (matching, unrevoked, unexpired) refresh token amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    /// Never presented before: spend it.
    First,
    /// Spent moments ago: a client that retried after a lost answer, or two tabs
    /// refreshing at once. Revoking would log the user out for the network's fault, so it
    /// gets a new pair of the same family; a thief gets no more than this short window.
    WithinGrace,
    /// Spent longer ago: a copy. The family is revoked.
    Reuse,
}

impl Rotation {
    fn of(stored: &auth_db::StoredRefreshToken, grace_secs: u32) -> Self {
        match stored.used_at {
            None => Self::First,
            Some(used) if Utc::now() - used < TimeDelta::seconds(i64::from(grace_secs)) => Self::WithinGrace,
            Some(_) => Self::Reuse,
        }
    }
}

/// Counts a refused refresh token against the IP and answers 401.
async fn refuse_refresh(state: &AppState, tx: Tx, key: &RefreshKey) -> Result<AuthSession, Error> {
    throttle::refresh_failed(&tx, &state.config.throttle, key).await?;
    tx.commit().await?;
    Err(INVALID_REFRESH)
}

/// Ends the session the refresh token belongs to. Idempotent for tokens we issued.
pub async fn logout(state: &AppState, input: RefreshInput) -> Result<(), Error> {
    let presented = refresh::parse(&input.refresh_token).ok_or(INVALID_REFRESH)?;
    let tenant_id = presented.tenant_id;
    let mut tx = state.db.begin_for(tenant_id).await?;
    match auth_db::manager::lock_refresh_token(&tx, tenant_id, presented.id).await? {
        Some(s) if presented.matches(&s.token_hash) => {
            tx.record_as(tenant_id, ActorId::User(s.user_id), s.user_id);
            auth_db::manager::revoke_family(&tx, tenant_id, s.family_id).await?;
            tx.commit().await
        }
        _ => {
            tx.rollback().await?;
            Err(INVALID_REFRESH)
        }
    }
}

pub async fn me(state: &AppState, caller: &Credential) -> Result<Me, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Session).await?;
    let user = users_db::manager::get(&tx, principal.tenant_id, principal.session_user()?).await?;
    let tenant = auth_db::manager::get_tenant(&tx, principal.tenant_id).await?;
    tx.commit().await?;
    Ok(Me { user, tenant })
}

pub(super) async fn open_session(
    state: &AppState,
    tx: &Tx,
    user: User,
    tenant: Tenant,
    family: TokenFamilyId,
) -> Result<AuthSession, Error> {
    let minted = refresh::mint(tenant.id);
    auth_db::manager::store_refresh_token(tx, tenant.id, user.id, family, &minted).await?;
    let access_token = state.tokens()?.issue(user.id, tenant.id, user.role, family)?;
    Ok(AuthSession { user, tenant, access_token, refresh_token: minted.token, expires_in: ACCESS_TOKEN_TTL_SECS })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn used(secs_ago: Option<i64>) -> auth_db::StoredRefreshToken {
        auth_db::StoredRefreshToken {
            user_id: UserId::generate(),
            family_id: TokenFamilyId::generate(),
            token_hash: vec![0; 32],
            expires_at: Utc::now() + TimeDelta::days(1),
            used_at: secs_ago.map(|s| Utc::now() - TimeDelta::seconds(s)),
            revoked_at: None,
        }
    }

    #[test]
    fn a_spent_token_is_a_retry_within_the_grace_and_a_copy_after_it() {
        assert_eq!(Rotation::of(&used(None), 10), Rotation::First);
        assert_eq!(Rotation::of(&used(Some(3)), 10), Rotation::WithinGrace);
        assert_eq!(Rotation::of(&used(Some(11)), 10), Rotation::Reuse);
        assert_eq!(Rotation::of(&used(Some(0)), 0), Rotation::Reuse, "a grace of 0 turns it off");
    }
}
