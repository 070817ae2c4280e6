//! The caller, as proven by a verified access token.

use crate::{
    error::Error,
    ids::{TenantId, UserId},
    model::Role,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub role: Role,
}

impl Principal {
    pub fn require_admin(&self) -> Result<(), Error> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Agent => Err(Error::Forbidden("only an admin may do this")),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
