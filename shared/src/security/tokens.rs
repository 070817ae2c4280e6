//! Access tokens: HS256 JWTs. The algorithm is fixed here, never read from the token, so
//! `alg: none`, RS/ES confusion and every other algorithm are refused.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    config::Secret,
    error::Error,
    ids::{TenantId, UserId},
    model::Role,
    security::Principal,
};

/// Short-lived: a disabled user or a changed role stops mattering within this bound.
pub const ACCESS_TOKEN_TTL_SECS: u64 = 15 * 60;
const ALGORITHM: Algorithm = Algorithm::HS256;
/// Tolerated clock skew between the issuing and the verifying container.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    sub: UserId,
    tenant_id: TenantId,
    role: Role,
    exp: i64,
    iat: i64,
    jti: Uuid,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &Secret) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
    }

    pub fn issue(&self, user: UserId, tenant: TenantId, role: Role) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            tenant_id: tenant,
            role,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS as i64,
            jti: Uuid::now_v7(),
        };
        encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("token signing failed: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, Error> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => Error::Unauthorized("the access token has expired"),
                _ => Error::Unauthorized("the access token is not valid"),
            }
        })?;
        let c = data.claims;
        Ok(Principal { user_id: c.sub, tenant_id: c.tenant_id, role: c.role })
    }

    /// Reads `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Error> {
        let header = authorization.ok_or(Error::Unauthorized("a bearer access token is required"))?;
        let (scheme, token) =
            header.trim().split_once(' ').ok_or(Error::Unauthorized("a bearer access token is required"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unauthorized("a bearer access token is required"));
        }
        self.verify(token.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret.as_bytes().to_vec()))
    }

    #[test]
    fn issued_tokens_verify_to_their_principal() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let (u, t) = (UserId::generate(), TenantId::generate());
        let token = k.issue(u, t, Role::Agent).unwrap();
        let p = k.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(p, Principal { user_id: u, tenant_id: t, role: Role::Agent });
    }

    #[test]
    fn forged_tokens_are_refused() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let other = keys("another-key-another-key-another-key");
        let token = other.issue(UserId::generate(), TenantId::generate(), Role::Admin).unwrap();
        assert!(k.verify(&token).is_err(), "another key");

        let payload = token.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(k.verify(&none).is_err(), "alg none");
        assert!(k.verify("not.a.jwt").is_err());
        assert!(k.authenticate(Some("Basic abc")).is_err());
        assert!(k.authenticate(None).is_err());
    }
}
