//! The caller: first as a verified access token claims it ([`Credential`]), then as the
//! database knows it at the start of the unit of work ([`Principal`]).
//!
//! Only the second one authorises. A token is a 15-minute promise made in the past; the
//! user it names may have been disabled or demoted since, and must be refused or limited
//! on its very next request. So a service never asks a credential what its caller may do:
//! it opens its unit of work with [`crate::db::Db::begin_as`], which reads the caller's row
//! in the same round trip as the tenant's `set_config`, refuses a missing or disabled
//! user, checks the role the route [`Requires`], and hands back the [`Principal`]. An API
//! key is read the same way: a revoked or expired key is refused on its next request.

use super::api_key::PresentedKey;
use crate::{
    error::Error,
    ids::{ApiKeyId, TenantId, TokenFamilyId, UserId},
    model::Role,
};

/// Who a verified bearer token names: a user (an access token) or an API key (whose
/// secret is checked against its row when the unit of work begins). It grants nothing by
/// itself (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub(crate) subject: Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    User {
        user_id: UserId,
        tenant_id: TenantId,
        /// The session (refresh-token family) an access token was issued in.
        session: Option<TokenFamilyId>,
    },
    ApiKey(PresentedKey),
}

impl Credential {
    pub fn new(user_id: UserId, tenant_id: TenantId) -> Self {
        Self { subject: Subject::User { user_id, tenant_id, session: None } }
    }

    pub fn api_key(key: PresentedKey) -> Self {
        Self { subject: Subject::ApiKey(key) }
    }

    pub fn in_session(self, session: Option<TokenFamilyId>) -> Self {
        match self.subject {
            Subject::User { user_id, tenant_id, .. } => Self { subject: Subject::User { user_id, tenant_id, session } },
            Subject::ApiKey(_) => self,
        }
    }

    /// For log fields; authorisation reads the database, never this. A key's tenant is
    /// known only once its row is read.
    pub fn tenant_id(&self) -> Option<TenantId> {
        match self.subject {
            Subject::User { tenant_id, .. } => Some(tenant_id),
            Subject::ApiKey(_) => None,
        }
    }

    /// For log fields; authorisation reads the database, never this.
    pub fn user_id(&self) -> Option<UserId> {
        match self.subject {
            Subject::User { user_id, .. } => Some(user_id),
            Subject::ApiKey(_) => None,
        }
    }

    /// For log fields: the prefix of an API key (never its secret).
    pub fn api_key_prefix(&self) -> Option<&str> {
        match &self.subject {
            Subject::User { .. } => None,
            Subject::ApiKey(key) => Some(key.prefix()),
        }
    }

    /// The session an access token belongs to.
    pub(crate) fn session(&self) -> Option<TokenFamilyId> {
        match self.subject {
            Subject::User { session, .. } => session,
            Subject::ApiKey(_) => None,
        }
    }
}

/// The least role a unit of work needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    /// Any active user or key of the tenant.
    Member,
    Admin,
    /// A signed-in user with an admin role or not, never an API key: the `/auth/*` session
    /// routes (who am I, change my password).
    Session,
}

/// Who acts, as the timeline, the events and invitations record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorId {
    User(UserId),
    ApiKey(ApiKeyId),
}

impl ActorId {
    /// The pair of columns that store an actor (`…_id`, `…_api_key_id`): one is set.
    pub(crate) fn columns(self) -> (Option<uuid::Uuid>, Option<uuid::Uuid>) {
        match self {
            ActorId::User(id) => (Some(id.0), None),
            ActorId::ApiKey(id) => (None, Some(id.0)),
        }
    }
}

/// The caller as its row stood when the unit of work began: active, with its current role.
/// Only [`crate::db::Db::begin_as`] makes one outside this crate's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub(crate) actor: ActorId,
    pub(crate) tenant_id: TenantId,
    pub(crate) role: Role,
}

impl Principal {
    pub(crate) fn new(actor: ActorId, tenant_id: TenantId, role: Role) -> Self {
        Self { actor, tenant_id, role }
    }

    pub fn actor(&self) -> ActorId {
        self.actor
    }

    /// The user acting, unless a key is.
    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            ActorId::User(id) => Some(id),
            ActorId::ApiKey(_) => None,
        }
    }

    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub(crate) fn require(&self, requires: Requires) -> Result<(), Error> {
        match (requires, self.role, self.actor) {
            (Requires::Session, _, ActorId::ApiKey(_)) => {
                Err(Error::Forbidden("an API key cannot use a user's session routes"))
            }
            (Requires::Member | Requires::Session, _, _) | (Requires::Admin, Role::Admin, _) => Ok(()),
            (Requires::Admin, Role::Agent, _) => Err(Error::Forbidden("only an admin may do this")),
        }
    }

    /// The signed-in user of a [`Requires::Session`] unit of work.
    pub(crate) fn session_user(&self) -> Result<UserId, Error> {
        self.user_id().ok_or(Error::Forbidden("an API key cannot use a user's session routes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_a_member_but_not_an_admin() {
        let (user, tenant) = (ActorId::User(UserId::generate()), TenantId::generate());
        let agent = Principal::new(user, tenant, Role::Agent);
        assert!(agent.require(Requires::Member).is_ok());
        assert!(matches!(agent.require(Requires::Admin), Err(Error::Forbidden(_))));
        let admin = Principal::new(user, tenant, Role::Admin);
        assert!(admin.require(Requires::Admin).is_ok() && admin.require(Requires::Member).is_ok());
        assert!(admin.require(Requires::Session).is_ok());
        let key = Principal::new(ActorId::ApiKey(ApiKeyId::generate()), tenant, Role::Admin);
        assert!(key.require(Requires::Admin).is_ok());
        assert!(matches!(key.require(Requires::Session), Err(Error::Forbidden(_))));
    }
}
