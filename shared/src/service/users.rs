//! Managing the people of a tenant: admins add agents (and admins), change roles, disable.

use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::validate::{normalize_email, not_blank};
use crate::{
    db::{
        auth as auth_db, users as users_db,
        users::{NewUser, UserPatch},
    },
    error::Error,
    ids::UserId,
    model::{Role, User},
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUserInput {
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[validate(length(min = 8, max = 128, message = "must be 8 to 128 characters"))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUserInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

pub async fn create(state: &AppState, caller: &Credential, input: CreateUserInput) -> Result<User, Error> {
    // Authorised before the hash: a caller who may not add users costs no Argon2 run.
    // The transaction stays open through the hash; it holds no lock yet.
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let email = normalize_email(&input.email);
    let password_hash = state.passwords.hash(input.password).await?;
    let new = NewUser {
        id: UserId::generate(),
        email: &email,
        name: Some(input.name.trim()),
        role: input.role,
        password_hash: &password_hash,
    };
    let user = users_db::manager::create(&tx, tenant, &new).await?;
    if let Some(entry) = tx.audit() {
        entry.target("user", user.id.0);
    }
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, new_user_id = %user.id, role = %user.role, "user created");
    Ok(user)
}

pub async fn list(
    state: &AppState,
    caller: &Credential,
    role: Option<Role>,
    page: PageRequest,
) -> Result<Page<User>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let rows = users_db::manager::list(&tx, principal.tenant_id, role, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |u| u.id.0))
}

/// An admin sees anyone of the tenant; an agent only itself.
pub async fn get(state: &AppState, caller: &Credential, id: UserId) -> Result<User, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    if !principal.is_admin() && principal.user_id() != Some(id) {
        tx.rollback().await?;
        return Err(Error::Forbidden("an agent may only see its own user"));
    }
    let user = users_db::manager::get(&tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// A tenant always keeps one active admin: the last one cannot be demoted or disabled.
pub async fn update(state: &AppState, caller: &Credential, id: UserId, input: UpdateUserInput) -> Result<User, Error> {
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let removes_an_admin = input.role == Some(Role::Agent) || input.disabled == Some(true);
    // Lock the admins before the target, always in this order, so concurrent demotions
    // serialise instead of deadlocking or both passing the check.
    let active_admins =
        if removes_an_admin { users_db::manager::lock_active_admins(&tx, tenant).await? } else { Vec::new() };
    let current = users_db::manager::lock(&tx, tenant, id).await?;
    let is_active_admin = current.role == Role::Admin && !current.disabled;
    if removes_an_admin && is_active_admin && active_admins.len() <= 1 {
        tx.rollback().await?;
        return Err(Error::Conflict("the last active admin cannot be demoted or disabled".into()));
    }
    let patch = UserPatch { name: input.name.map(|n| n.trim().to_owned()), role: input.role, disabled: input.disabled };
    let user = users_db::manager::update(&tx, tenant, id, &patch).await?;
    if let Some(entry) = tx.audit() {
        let fields = [
            ("name", serde_json::json!(current.name), serde_json::json!(user.name)),
            ("role", serde_json::json!(current.role), serde_json::json!(user.role)),
            ("disabled", serde_json::json!(current.disabled), serde_json::json!(user.disabled)),
        ];
        for (field, old, new) in fields.into_iter().filter(|(_, old, new)| old != new) {
            entry.changed(field, old, new);
        }
    }
    if input.disabled == Some(true) && !current.disabled {
        // A disabled user's sessions end now; access tokens lapse within their short TTL.
        auth_db::manager::revoke_user_tokens(&tx, tenant, id).await?;
    }
    tx.commit().await?;
    Ok(user)
}
