//! Access tokens: HS256 JWTs. The algorithm is fixed here, never read from the token, so
//! `alg: none`, RS/ES confusion and every other algorithm are refused.
//!
//! Key rotation: every token names its key in the header (`kid`, the first 8 bytes of the
//! key's SHA-256 in hex, which reveals nothing usable about a 32-byte-or-longer secret).
//! Tokens are signed with `JWT_SECRET` and verified with it or with `JWT_PREVIOUS_SECRET`;
//! a token naming any other key, or none, is refused. Rotating: move the current secret
//! to `JWT_PREVIOUS_SECRET`, set a new `JWT_SECRET`, and drop the previous one after one
//! access-token lifetime (15 minutes); refresh tokens are not JWTs and survive it.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    config::Secret,
    error::Error,
    ids::{TenantId, TokenFamilyId, UserId},
    model::Role,
    security::{Credential, api_key},
};

/// Short-lived, though the lifetime bounds nothing that matters for authorisation: every
/// request reads the caller's row (`Db::begin_as`), so a disabled user is refused and a
/// changed role applies on the very next request. The `role` claim is for clients only.
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
    /// The session (refresh-token family) the token was issued in: a password change
    /// ends every other session and keeps this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<TokenFamilyId>,
    exp: i64,
    iat: i64,
    jti: Uuid,
}

#[derive(Clone)]
struct VerifyingKey {
    kid: String,
    decoding: DecodingKey,
}

impl VerifyingKey {
    fn new(secret: &Secret) -> Self {
        Self { kid: key_id(secret), decoding: DecodingKey::from_secret(secret.expose()) }
    }
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    current: VerifyingKey,
    previous: Option<VerifyingKey>,
    validation: Validation,
}

/// A key's public name: the first 8 bytes of its SHA-256, in hex.
pub fn key_id(secret: &Secret) -> String {
    Sha256::digest(secret.expose())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl TokenKeys {
    pub fn new(secret: &Secret, previous: Option<&Secret>) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            current: VerifyingKey::new(secret),
            previous: previous.map(VerifyingKey::new),
            validation,
        }
    }

    /// The `kid` new tokens carry.
    pub fn current_kid(&self) -> &str {
        &self.current.kid
    }

    pub fn issue(&self, user: UserId, tenant: TenantId, role: Role, session: TokenFamilyId) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            tenant_id: tenant,
            role,
            sid: Some(session),
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS as i64,
            jti: Uuid::now_v7(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.current.kid.clone());
        encode(&header, &claims, &self.encoding).map_err(|e| Error::Internal(format!("token signing failed: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Credential, Error> {
        const INVALID: Error = Error::Unauthorized("the access token is not valid");
        let header = jsonwebtoken::decode_header(token).map_err(|_| INVALID)?;
        let key = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| header.kid.as_deref() == Some(k.kid.as_str()))
            .ok_or(Error::Unauthorized("the access token's signing key is not known"))?;
        let data = decode::<Claims>(token, &key.decoding, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => Error::Unauthorized("the access token has expired"),
                _ => Error::Unauthorized("the access token is not valid"),
            }
        })?;
        let c = data.claims;
        Ok(Credential::new(c.sub, c.tenant_id).in_session(c.sid))
    }

    /// Reads `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Credential, Error> {
        let header = authorization.ok_or(Error::Unauthorized("a bearer access token is required"))?;
        let (scheme, token) =
            header.trim().split_once(' ').ok_or(Error::Unauthorized("a bearer access token is required"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::Unauthorized("a bearer access token is required"));
        }
        let token = token.trim();
        if api_key::is_api_key(token) {
            return api_key::parse(token)
                .map(Credential::api_key)
                .ok_or(Error::Unauthorized("the API key is not valid"));
        }
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret.as_bytes().to_vec()), None)
    }

    fn secret(s: &str) -> Secret {
        Secret::new(s.as_bytes().to_vec())
    }

    #[test]
    fn tokens_name_their_key_and_survive_one_rotation() {
        let (old, new, retired) = (
            secret("old-key-old-key-old-key-old-key-0123"),
            secret("new-key-new-key-new-key-new-key-0123"),
            secret("retired-key-retired-key-retired-key-0"),
        );
        let before = TokenKeys::new(&old, Some(&retired));
        let token =
            before.issue(UserId::generate(), TenantId::generate(), Role::Admin, TokenFamilyId::generate()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key_id(&old).as_str()));
        assert_eq!(key_id(&old).len(), 16);

        let after = TokenKeys::new(&new, Some(&old));
        assert!(after.verify(&token).is_ok(), "signed with the previous key");
        let fresh =
            after.issue(UserId::generate(), TenantId::generate(), Role::Agent, TokenFamilyId::generate()).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(), Some(after.current_kid()));

        let next = TokenKeys::new(&secret("next-key-next-key-next-key-next-0123"), Some(&new));
        assert!(next.verify(&token).is_err(), "a retired key is refused");
        assert!(next.verify(&fresh).is_ok());
    }

    #[test]
    fn issued_tokens_verify_to_their_credential() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let (u, t, s) = (UserId::generate(), TenantId::generate(), TokenFamilyId::generate());
        let token = k.issue(u, t, Role::Agent, s).unwrap();
        let p = k.authenticate(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(p, Credential::new(u, t).in_session(Some(s)));
    }

    #[test]
    fn forged_tokens_are_refused() {
        let k = keys("0123456789abcdef0123456789abcdef");
        let other = keys("another-key-another-key-another-key");
        let token =
            other.issue(UserId::generate(), TenantId::generate(), Role::Admin, TokenFamilyId::generate()).unwrap();
        assert!(k.verify(&token).is_err(), "another key");

        let payload = token.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(k.verify(&none).is_err(), "alg none");
        assert!(k.verify("not.a.jwt").is_err());
        assert!(k.authenticate(Some("Basic abc")).is_err());
        assert!(k.authenticate(None).is_err());
    }
}
