//! API keys for integrations: `crm_<prefix>_<secret>`.
//!
//! The prefix (16 characters of lower-case base32, 80 random bits) names the key: it is
//! shown in listings, and a presented key is found by it (see migration V8). The secret
//! (32 random bytes, base64url) is shown once, at creation; only its SHA-256 is stored,
//! so a database leak yields no usable key. A fast hash is right here, unlike for
//! passwords: the secret is random, not chosen by a person.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SCHEME: &str = "crm_";
const PREFIX_LEN: usize = 16;
const PREFIX_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const SECRET_LEN: usize = 32;

/// A key just minted: the whole key for its holder (once), the rest for the database.
pub struct MintedKey {
    pub prefix: String,
    pub key: String,
    pub secret_hash: Vec<u8>,
}

pub fn mint() -> MintedKey {
    let mut rng = rand::rng();
    let prefix: String =
        (0..PREFIX_LEN).map(|_| char::from(PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())])).collect();
    let mut secret = [0u8; SECRET_LEN];
    rng.fill_bytes(&mut secret);
    MintedKey {
        key: format!("{SCHEME}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret)),
        prefix,
        secret_hash: Sha256::digest(secret).to_vec(),
    }
}

/// Does this bearer token look like an API key rather than an access token? (A JWT
/// starts with `eyJ`, never with `crm_`.)
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(SCHEME)
}

/// A key someone presented: its prefix and the hash of its secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PresentedKey {
    prefix: [u8; PREFIX_LEN],
    secret_hash: [u8; 32],
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedKey").field("prefix", &self.prefix()).finish_non_exhaustive()
    }
}

/// `None` for anything this service could not have issued.
pub fn parse(token: &str) -> Option<PresentedKey> {
    let (prefix, secret) = token.strip_prefix(SCHEME)?.split_once('_')?;
    let prefix: [u8; PREFIX_LEN] = prefix.as_bytes().try_into().ok()?;
    if !prefix.iter().all(|b| PREFIX_ALPHABET.contains(b)) {
        return None;
    }
    let secret = URL_SAFE_NO_PAD.decode(secret).ok().filter(|s| s.len() == SECRET_LEN)?;
    Some(PresentedKey { prefix, secret_hash: Sha256::digest(secret).into() })
}

impl PresentedKey {
    /// Only characters of the base32 alphabet: safe to send as SQL text.
    pub fn prefix(&self) -> &str {
        // parse() admitted only ASCII letters and digits.
        std::str::from_utf8(&self.prefix).unwrap_or_default()
    }

    /// The SHA-256 digest of the secret, as stored.
    pub fn secret_hash(&self) -> &[u8] {
        &self.secret_hash
    }

    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        self.secret_hash[..].ct_eq(stored_hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_parse_back_and_match_only_their_hash() {
        let minted = mint();
        assert!(minted.key.starts_with(&format!("crm_{}_", minted.prefix)));
        assert_eq!(minted.prefix.len(), 16);
        let presented = parse(&minted.key).unwrap();
        assert_eq!(presented.prefix(), minted.prefix);
        assert!(presented.matches(&minted.secret_hash));
        assert!(!presented.matches(&mint().secret_hash));
        assert!(is_api_key(&minted.key));
    }

    #[test]
    fn anything_else_is_not_a_key() {
        let minted = mint();
        let secret = minted.key.rsplit_once(&format!("{}_", minted.prefix)).unwrap().1;
        for bad in [
            "crm_",
            "crm_short_abc",
            &format!("crm_{}_", minted.prefix),
            &format!("crm_{}_{secret}x", minted.prefix),
            &format!("crm_{}_{secret}", minted.prefix.to_uppercase()),
            &format!("crm_{}1_{secret}", &minted.prefix[..15]),
            &format!("crm_{}'_{secret}", &minted.prefix[..15]),
            &minted.key[4..],
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
