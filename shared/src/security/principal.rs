//! The caller: first as a verified access token claims it ([`Credential`]), then as the
//! database knows it at the start of the unit of work ([`Principal`]).
//!
//! Only the second one authorises. A token is a 15-minute promise made in the past; the
//! user it names may have been disabled or demoted since, and must be refused or limited
//! on its very next request. So a service never asks a credential what its caller may do:
//! it opens its unit of work with [`crate::db::Db::begin_as`], which reads the caller's row
//! in the same round trip as the tenant's `set_config`, refuses a missing or disabled
//! user, checks the role the route [`Requires`], and hands back the [`Principal`].

use crate::{
    error::Error,
    ids::{TenantId, TokenFamilyId, UserId},
    model::Role,
};

/// Who a verified access token names. It grants nothing by itself (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub(crate) user_id: UserId,
    pub(crate) tenant_id: TenantId,
    /// The session (refresh-token family) an access token was issued in.
    pub(crate) session: Option<TokenFamilyId>,
}

impl Credential {
    pub fn new(user_id: UserId, tenant_id: TenantId) -> Self {
        Self { user_id, tenant_id, session: None }
    }

    pub fn in_session(self, session: Option<TokenFamilyId>) -> Self {
        Self { session, ..self }
    }

    /// For log fields; authorisation reads the database, never this.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// For log fields; authorisation reads the database, never this.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }
}

/// The least role a unit of work needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    /// Any active user of the tenant.
    Member,
    Admin,
}

/// The caller as its row stood when the unit of work began: active, with its current role.
/// Only [`crate::db::Db::begin_as`] makes one outside this crate's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub(crate) user_id: UserId,
    pub(crate) tenant_id: TenantId,
    pub(crate) role: Role,
}

impl Principal {
    pub(crate) fn new(credential: &Credential, role: Role) -> Self {
        Self { user_id: credential.user_id, tenant_id: credential.tenant_id, role }
    }

    pub fn user_id(&self) -> UserId {
        self.user_id
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
        match (requires, self.role) {
            (Requires::Member, _) | (Requires::Admin, Role::Admin) => Ok(()),
            (Requires::Admin, Role::Agent) => Err(Error::Forbidden("only an admin may do this")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_a_member_but_not_an_admin() {
        let credential = Credential::new(UserId::generate(), TenantId::generate());
        let agent = Principal::new(&credential, Role::Agent);
        assert!(agent.require(Requires::Member).is_ok());
        assert!(matches!(agent.require(Requires::Admin), Err(Error::Forbidden(_))));
        let admin = Principal::new(&credential, Role::Admin);
        assert!(admin.require(Requires::Admin).is_ok() && admin.require(Requires::Member).is_ok());
    }
}
