//! Refresh tokens: opaque to clients, `base64url(tenant id ‖ token id ‖ 32 random bytes)`.
//!
//! The tenant travels inside the token so a refresh can open a tenant-scoped transaction
//! (row-level security) before it knows anything else; only a SHA-256 of the random part is
//! stored, so a database leak yields no usable token.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::ids::{RefreshTokenId, TenantId};

pub const REFRESH_TOKEN_TTL_DAYS: i64 = 30;
const SECRET_LEN: usize = 32;
const TOKEN_LEN: usize = 16 + 16 + SECRET_LEN;

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
    secret: [u8; SECRET_LEN],
}

pub fn mint(tenant: TenantId) -> NewRefreshToken {
    let id = RefreshTokenId::generate();
    let mut secret = [0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut secret);
    let mut raw = Vec::with_capacity(TOKEN_LEN);
    raw.extend_from_slice(tenant.0.as_bytes());
    raw.extend_from_slice(id.0.as_bytes());
    raw.extend_from_slice(&secret);
    NewRefreshToken {
        id,
        token: URL_SAFE_NO_PAD.encode(raw),
        hash: Sha256::digest(secret).to_vec(),
        expires_at: Utc::now() + Duration::days(REFRESH_TOKEN_TTL_DAYS),
    }
}

/// `None` for anything this service could not have issued.
pub fn parse(token: &str) -> Option<PresentedToken> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if raw.len() != TOKEN_LEN {
        return None;
    }
    let tenant = Uuid::from_slice(&raw[..16]).ok()?;
    let id = Uuid::from_slice(&raw[16..32]).ok()?;
    let secret: [u8; SECRET_LEN] = raw[32..].try_into().ok()?;
    Some(PresentedToken { tenant_id: TenantId(tenant), id: RefreshTokenId(id), secret })
}

impl PresentedToken {
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        let digest = Sha256::digest(self.secret);
        digest[..].ct_eq(stored_hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_back_and_match_only_their_hash() {
        let tenant = TenantId::generate();
        let minted = mint(tenant);
        let presented = parse(&minted.token).unwrap();
        assert_eq!(presented.tenant_id, tenant);
        assert_eq!(presented.id, minted.id);
        assert!(presented.matches(&minted.hash));
        assert!(!presented.matches(&mint(tenant).hash));
        assert!(parse("garbage").is_none());
        assert!(parse(&minted.token[..40]).is_none());
    }
}
