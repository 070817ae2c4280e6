//! `Idempotency-Key` for the create routes: a client that retries after a timeout gets
//! the first answer again instead of a second resource (and a second event).
//!
//! Keys are scoped to the tenant and the route, claimed in the same transaction as the
//! resource they create, and bound to the request: the same key with another body is a
//! client bug, answered 422.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    db::{Tx, idempotency as idempotency_db, idempotency::Claim},
    error::Error,
    ids::TenantId,
};

pub const HEADER: &str = "Idempotency-Key";
const MAX_LEN: usize = 255;

/// A validated key: 1 to 255 visible ASCII characters (a UUID is typical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() || raw.len() > MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_parameter(HEADER, "must be 1 to 255 visible ASCII characters"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// An answer given before for the same key and request.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub status: u16,
    pub body: serde_json::Value,
}

/// What a create returns: the new resource, or the first answer to this key.
#[derive(Debug)]
pub enum Created<T> {
    New(T),
    Replayed(Replay),
}

/// Claims the key inside `tx`. `Some(replay)` means the work was done already: answer it.
pub(crate) async fn claim<I: Serialize>(
    tx: &Tx,
    tenant: TenantId,
    route: &str,
    key: Option<&IdempotencyKey>,
    input: &I,
) -> Result<Option<Replay>, Error> {
    let Some(key) = key else { return Ok(None) };
    let hash = request_hash(input)?;
    match idempotency_db::manager::claim(tx, tenant, route, &key.0, &hash).await? {
        Claim::Claimed => Ok(None),
        Claim::Replay { request_hash, .. } if request_hash != hash => Err(Error::validation(
            HEADER,
            "was already used with a different request body; use a new key for a new request",
        )),
        Claim::Replay { status, body, .. } => Ok(Some(Replay { status, body })),
    }
}

/// Stores the answer under the claimed key, in the same transaction as the resource.
pub(crate) async fn remember<T: Serialize>(
    tx: &Tx,
    tenant: TenantId,
    route: &str,
    key: Option<&IdempotencyKey>,
    status: u16,
    value: &T,
) -> Result<(), Error> {
    let Some(key) = key else { return Ok(()) };
    let body = serde_json::to_value(value).map_err(|e| Error::Internal(format!("serialize response: {e}")))?;
    idempotency_db::manager::store_response(tx, tenant, route, &key.0, status, &body).await
}

fn request_hash<I: Serialize>(input: &I) -> Result<Vec<u8>, Error> {
    let canonical = serde_json::to_vec(input).map_err(|e| Error::Internal(format!("serialize request: {e}")))?;
    Ok(Sha256::digest(canonical).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("0b6f7c1e-2d6a-4d7b-9a51-3f1f0e9a7c11").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
