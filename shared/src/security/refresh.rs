//! Refresh tokens: [`opaque`](super::opaque) tokens that live 30 days.

use chrono::{DateTime, Duration, Utc};

use super::opaque;
use crate::ids::{RefreshTokenId, TenantId};

pub const REFRESH_TOKEN_TTL_DAYS: i64 = 30;

/// A token just minted: the string for the client, the hash for the database.
pub struct NewRefreshToken {
    pub id: RefreshTokenId,
    pub token: String,
    pub hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// A token a client presented, split into its parts.
pub struct PresentedToken {
    pub tenant_id: TenantId,
    pub id: RefreshTokenId,
    presented: opaque::Presented,
}

pub fn mint(tenant: TenantId) -> NewRefreshToken {
    let minted = opaque::mint(tenant, Duration::days(REFRESH_TOKEN_TTL_DAYS));
    NewRefreshToken {
        id: RefreshTokenId(minted.id),
        token: minted.token,
        hash: minted.hash,
        expires_at: minted.expires_at,
    }
}

/// `None` for anything this service could not have issued.
pub fn parse(token: &str) -> Option<PresentedToken> {
    let presented = opaque::parse(token)?;
    Some(PresentedToken { tenant_id: presented.tenant_id, id: RefreshTokenId(presented.id), presented })
}

impl PresentedToken {
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        self.presented.matches(stored_hash)
    }
}
