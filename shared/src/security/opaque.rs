//! Opaque tokens: `base64url(tenant id ‖ token id ‖ 32 random bytes)`. Refresh tokens and
//! every mailed link (sign-up, password reset, invitation) are of this shape.
//!
//! The tenant travels inside the token so that redeeming it can open a tenant-scoped
//! transaction (row-level security) before anything else is known; only a SHA-256 of the
//! random part is stored, so a database leak yields no usable token.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::ids::TenantId;

const SECRET_LEN: usize = 32;
const TOKEN_LEN: usize = 16 + 16 + SECRET_LEN;

/// A token just minted: the string for its holder, the hash for the database.
pub struct Minted {
    pub id: Uuid,
    pub token: String,
    pub hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// A token someone presented, split into its parts.
pub struct Presented {
    pub tenant_id: TenantId,
    pub id: Uuid,
    secret: [u8; SECRET_LEN],
}

pub fn mint(tenant: TenantId, ttl: Duration) -> Minted {
    let id = Uuid::now_v7();
    let mut secret = [0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut secret);
    let mut raw = Vec::with_capacity(TOKEN_LEN);
    raw.extend_from_slice(tenant.0.as_bytes());
    raw.extend_from_slice(id.as_bytes());
    raw.extend_from_slice(&secret);
    Minted {
        id,
        token: URL_SAFE_NO_PAD.encode(raw),
        hash: Sha256::digest(secret).to_vec(),
        expires_at: Utc::now() + ttl,
    }
}

/// `None` for anything this service could not have issued.
pub fn parse(token: &str) -> Option<Presented> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if raw.len() != TOKEN_LEN {
        return None;
    }
    let tenant = Uuid::from_slice(&raw[..16]).ok()?;
    let id = Uuid::from_slice(&raw[16..32]).ok()?;
    let secret: [u8; SECRET_LEN] = raw[32..].try_into().ok()?;
    Some(Presented { tenant_id: TenantId(tenant), id, secret })
}

impl Presented {
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
        let minted = mint(tenant, Duration::hours(1));
        let presented = parse(&minted.token).unwrap();
        assert_eq!(presented.tenant_id, tenant);
        assert_eq!(presented.id, minted.id);
        assert!(presented.matches(&minted.hash));
        assert!(!presented.matches(&mint(tenant, Duration::hours(1)).hash));
        assert!(parse("garbage").is_none());
        assert!(parse(&minted.token[..40]).is_none());
    }
}
