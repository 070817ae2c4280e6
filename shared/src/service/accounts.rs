//! Accounts done right: sign-up that proves the address before anything exists, password
//! reset and change, and invitations. Every mailed link carries a single-use, expiring
//! [`opaque`] token whose hash alone is stored.
//!
//! Sign-up answers the same for a new and a taken address, and mails either way (a
//! verification link, or a note that the address already has an account), so neither the
//! answer nor its timing tells anyone which addresses have accounts.

use crate::security::ActorId;
use chrono::{Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{
    auth::{RegisterInput, open_session},
    validate::{normalize_email, not_blank},
};
use crate::{
    db::{
        Tx,
        accounts::{NewInvitation, NewSignup, manager as accounts_db},
        auth as auth_db,
        users::{NewUser, manager as users_db},
    },
    error::{Error, FieldError},
    ids::{TenantId, TokenFamilyId, UserId},
    mail::Mail,
    model::{AuthSession, Invitation, Role, SignupAccepted},
    security::{Credential, Requires, opaque},
    state::AppState,
};

const SIGNUP_TTL_HOURS: i64 = 24;
const RESET_TTL_HOURS: i64 = 1;
const INVITATION_TTL_HOURS: i64 = 72;
/// The same words for a used, an expired and an unknown token: which one it was is
/// nobody's business.
const INVALID_TOKEN: &str = "the token is used, expired or unknown";

/// Where the mailed links point, under `APP_BASE_URL`.
pub const VERIFY_EMAIL_PATH: &str = "/verify-email";
pub const FORGOT_PASSWORD_PATH: &str = "/forgot-password";
pub const RESET_PASSWORD_PATH: &str = "/reset-password";
pub const ACCEPT_INVITATION_PATH: &str = "/accept-invitation";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenInput {
    /// The `token` of the mailed link.
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForgotPasswordInput {
    #[validate(length(min = 1, max = 254, message = "must be 1 to 254 characters"))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

/// A mailed token and the password its holder chooses.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenPasswordInput {
    #[validate(length(min = 1, max = 512, message = "must be 1 to 512 characters"))]
    #[schema(min_length = 1, max_length = 512)]
    pub token: String,
    #[validate(length(min = 8, max = 128, message = "must be 8 to 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePasswordInput {
    #[validate(length(min = 1, max = 128, message = "must be 1 to 128 characters"))]
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    #[validate(length(min = 8, max = 128, message = "must be 8 to 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteInput {
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    pub role: Role,
}

/// Takes a sign-up: the tenant and its admin are created only when the mailed link comes
/// back ([`verify_email`]). A taken address gets a mail saying so instead, and the same
/// answer; both paths hash the password once and send one mail.
pub async fn register(state: &AppState, input: RegisterInput) -> Result<SignupAccepted, Error> {
    let email = normalize_email(&input.email);
    let password_hash = state.passwords.hash(input.password).await?;
    let tx = state.db.begin_unscoped().await?;
    let existing = auth_db::manager::find_login(&tx, &email).await?;
    tx.commit().await?;
    let mail = match existing {
        Some(_) => Mail {
            to: email,
            subject: "You already have a SimpleCRM account".into(),
            text: format!(
                "Someone, perhaps you, tried to sign up for SimpleCRM with this address, which already has an \
                 account. If you forgot your password, ask for a new one here: {}\n\nIf it was not you, ignore \
                 this mail.",
                state.mailer.page(FORGOT_PASSWORD_PATH)
            ),
        },
        None => {
            let tenant = TenantId::generate();
            let minted = opaque::mint(tenant, Duration::hours(SIGNUP_TTL_HOURS));
            let tx = state.db.begin_for(tenant).await?;
            let signup = NewSignup {
                id: minted.id,
                email: &email,
                name: input.name.as_deref().map(str::trim),
                tenant_name: input.tenant_name.trim(),
                password_hash: &password_hash,
                token_hash: &minted.hash,
                expires_at: minted.expires_at,
            };
            accounts_db::create_signup(&tx, tenant, &signup).await?;
            tx.commit().await?;
            Mail {
                to: email,
                subject: "Confirm your SimpleCRM sign-up".into(),
                text: format!(
                    "Confirm your address to create {} on SimpleCRM (the link works once, for {SIGNUP_TTL_HOURS} \
                     hours): {}\n\nIf you did not sign up, ignore this mail.",
                    input.tenant_name.trim(),
                    state.mailer.link(VERIFY_EMAIL_PATH, &minted.token)
                ),
            }
        }
    };
    state.mailer.send(mail).await?;
    Ok(SignupAccepted { status: "verification_sent" })
}

/// Redeems a sign-up link: creates the tenant and its admin, and logs the admin in.
pub async fn verify_email(state: &AppState, input: TokenInput) -> Result<AuthSession, Error> {
    let presented = opaque::parse(&input.token).ok_or(Error::InvalidToken(INVALID_TOKEN))?;
    let tenant_id = presented.tenant_id;
    let mut tx = state.db.begin_for(tenant_id).await?;
    let signup = match accounts_db::lock_signup(&tx, tenant_id, presented.id).await? {
        Some(s) if presented.matches(&s.token_hash) && s.used_at.is_none() && s.expires_at > Utc::now() => s,
        _ => return refuse(tx, Error::InvalidToken(INVALID_TOKEN)).await,
    };
    let tenant = auth_db::manager::create_tenant(&tx, tenant_id, &signup.tenant_name).await?;
    let new = NewUser {
        id: UserId::generate(),
        email: &signup.email,
        name: signup.name.as_deref(),
        role: Role::Admin,
        password_hash: &signup.password_hash,
    };
    // Two sign-ups of one address: the first link redeemed wins, the other answers 409.
    let user = users_db::create(&tx, tenant_id, &new).await?;
    tx.record_as(tenant_id, ActorId::User(user.id), user.id);
    accounts_db::mark_signup_used(&tx, tenant_id, presented.id).await?;
    let session = open_session(state, &tx, user, tenant, TokenFamilyId::generate()).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant_id, user_id = %session.user.id, "tenant registered");
    Ok(session)
}

/// Mails a reset link to a known, active address; answers the same for any address.
pub async fn forgot_password(state: &AppState, input: ForgotPasswordInput) -> Result<(), Error> {
    let email = normalize_email(&input.email);
    let tx = state.db.begin_unscoped().await?;
    let record = auth_db::manager::find_login(&tx, &email).await?;
    tx.commit().await?;
    let Some(record) = record.filter(|r| !r.disabled) else {
        return Ok(());
    };
    let minted = opaque::mint(record.tenant_id, Duration::hours(RESET_TTL_HOURS));
    let mut tx = state.db.begin_for(record.tenant_id).await?;
    tx.record_as(record.tenant_id, ActorId::User(record.user_id), record.user_id);
    accounts_db::create_reset(&tx, record.tenant_id, minted.id, record.user_id, &minted.hash, minted.expires_at)
        .await?;
    tx.commit().await?;
    state
        .mailer
        .send(Mail {
            to: email,
            subject: "Reset your SimpleCRM password".into(),
            text: format!(
                "Choose a new password here (the link works once, for {RESET_TTL_HOURS} hour): {}\n\nIf you did \
                 not ask for this, ignore this mail; your password stays as it is.",
                state.mailer.link(RESET_PASSWORD_PATH, &minted.token)
            ),
        })
        .await
}

/// Sets the password from a reset link and ends every session of the user.
pub async fn reset_password(state: &AppState, input: TokenPasswordInput) -> Result<(), Error> {
    let presented = opaque::parse(&input.token).ok_or(Error::InvalidToken(INVALID_TOKEN))?;
    let tenant_id = presented.tenant_id;
    let mut tx = state.db.begin_for(tenant_id).await?;
    let reset = match accounts_db::lock_reset(&tx, tenant_id, presented.id).await? {
        Some(r) if presented.matches(&r.token_hash) && r.used_at.is_none() && r.expires_at > Utc::now() => r,
        _ => return refuse(tx, Error::InvalidToken(INVALID_TOKEN)).await,
    };
    // Hashed inside the transaction: only a valid link costs an Argon2 run, and the
    // locked row keeps a second use of the same link waiting until this one is spent.
    let password_hash = state.passwords.hash(input.password).await?;
    tx.record_as(tenant_id, ActorId::User(reset.user_id), reset.user_id);
    users_db::set_password(&tx, tenant_id, reset.user_id, &password_hash).await?;
    accounts_db::spend_resets(&tx, tenant_id, reset.user_id).await?;
    auth_db::manager::revoke_user_tokens(&tx, tenant_id, reset.user_id).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant_id, user_id = %reset.user_id, "password reset");
    Ok(())
}

/// Changes the caller's password; every other session of the caller ends, this one stays.
pub async fn change_password(state: &AppState, caller: &Credential, input: ChangePasswordInput) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Session).await?;
    let (tenant, user) = (principal.tenant_id, principal.session_user()?);
    let stored = users_db::password_hash(&tx, tenant, user).await?;
    if !state.passwords.verify(input.current_password, Some(stored)).await? {
        let wrong = FieldError::new("currentPassword", "is not the current password");
        return refuse(tx, Error::Validation(vec![wrong])).await;
    }
    let password_hash = state.passwords.hash(input.new_password).await?;
    users_db::set_password(&tx, tenant, user, &password_hash).await?;
    match caller.session() {
        Some(session) => auth_db::manager::revoke_user_tokens_except(&tx, tenant, user, session).await?,
        None => auth_db::manager::revoke_user_tokens(&tx, tenant, user).await?,
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, user_id = %user, "password changed");
    Ok(())
}

/// An admin invites someone by mail; the invitee chooses the password ([`accept_invitation`]).
pub async fn invite(state: &AppState, caller: &Credential, input: InviteInput) -> Result<Invitation, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let email = normalize_email(&input.email);
    if users_db::email_exists(&tx, tenant, &email).await? {
        return refuse(tx, Error::Conflict("a user with this email already exists in this tenant".into())).await;
    }
    let minted = opaque::mint(tenant, Duration::hours(INVITATION_TTL_HOURS));
    let new = NewInvitation {
        id: minted.id,
        email: &email,
        name: input.name.trim(),
        role: input.role,
        invited_by: principal.actor,
        token_hash: &minted.hash,
        expires_at: minted.expires_at,
    };
    let invitation = accounts_db::create_invitation(&tx, tenant, &new).await?;
    let tenant_name = auth_db::manager::get_tenant(&tx, tenant).await?.name;
    tx.commit().await?;
    state
        .mailer
        .send(Mail {
            to: email,
            subject: format!("You are invited to {tenant_name} on SimpleCRM"),
            text: format!(
                "Hello {}, you are invited to join {tenant_name} on SimpleCRM as {}. Choose your password here \
                 (the link works once, for {INVITATION_TTL_HOURS} hours): {}",
                invitation.name,
                invitation.role,
                state.mailer.link(ACCEPT_INVITATION_PATH, &minted.token)
            ),
        })
        .await?;
    Ok(invitation)
}

/// Redeems an invitation: the user exists from here on, with the password chosen now.
pub async fn accept_invitation(state: &AppState, input: TokenPasswordInput) -> Result<AuthSession, Error> {
    let presented = opaque::parse(&input.token).ok_or(Error::InvalidToken(INVALID_TOKEN))?;
    let tenant_id = presented.tenant_id;
    let mut tx = state.db.begin_for(tenant_id).await?;
    let invitation = match accounts_db::lock_invitation(&tx, tenant_id, presented.id).await? {
        Some(i) if presented.matches(&i.token_hash) && i.accepted_at.is_none() && i.expires_at > Utc::now() => i,
        _ => return refuse(tx, Error::InvalidToken(INVALID_TOKEN)).await,
    };
    let password_hash = state.passwords.hash(input.password).await?;
    let new = NewUser {
        id: UserId::generate(),
        email: &invitation.email,
        name: Some(&invitation.name),
        role: invitation.role,
        password_hash: &password_hash,
    };
    let user = users_db::create(&tx, tenant_id, &new).await?;
    tx.record_as(tenant_id, ActorId::User(user.id), user.id);
    accounts_db::mark_invitation_accepted(&tx, tenant_id, presented.id).await?;
    let tenant = auth_db::manager::get_tenant(&tx, tenant_id).await?;
    let session = open_session(state, &tx, user, tenant, TokenFamilyId::generate()).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant_id, user_id = %session.user.id, "invitation accepted");
    Ok(session)
}

/// Ends a unit of work that wrote nothing, then answers `error`.
async fn refuse<T>(tx: Tx, error: Error) -> Result<T, Error> {
    tx.rollback().await?;
    Err(error)
}
