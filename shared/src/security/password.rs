//! Argon2id. The cost of new hashes comes from `Config` (`ARGON2_*`, defaulting to OWASP's
//! 19 MiB, 2 passes, 1 lane: the argon2 crate's defaults); verification reads the cost from
//! each stored hash, so raising it never locks anyone out.
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on the blocking pool and never
//! stalls the async workers that serve other requests.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use crate::{config::PasswordHashing, error::Error};

/// Built once per container from the configuration; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A hash of a fixed string with the configured cost, verified against when the email
    /// is unknown, so an unknown email costs what a wrong password costs. Made here, at
    /// start-up: made lazily, the first unknown email on a cold container would pay for two
    /// hashes and stand out from a wrong password.
    dummy: Arc<str>,
}

impl Passwords {
    /// Hashes once (tens of milliseconds), synchronously: call it at init, not per request.
    pub fn new(config: &PasswordHashing) -> Result<Self, Error> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let dummy = hash_with(&params, DUMMY_PASSWORD)?;
        Ok(Self { params, dummy: dummy.into() })
    }

    fn argon2(&self) -> Argon2<'static> {
        argon2(&self.params)
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
    }

    fn hash_blocking(&self, password: &str) -> Result<String, Error> {
        hash_with(&self.params, password)
    }

    /// Checks `password` against a stored PHC string. With `None` (no such user) it checks
    /// the dummy hash anyway, so an unknown email costs the same time as a wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let known = stored.is_some();
            let stored = stored.as_deref().unwrap_or(&this.dummy);
            let parsed =
                PasswordHash::new(stored).map_err(|e| Error::Internal(format!("stored hash unreadable: {e}")))?;
            let matches = this.argon2().verify_password(password.as_bytes(), &parsed).is_ok();
            Ok(known && matches)
        })
        .await
        .map_err(|e| Error::Internal(format!("password verification task failed: {e}")))?
    }
}

const DUMMY_PASSWORD: &str = "simplecrm-timing-equaliser";

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, Error> {
    argon2(params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_made_at_construction_with_the_configured_cost() {
        let p = Passwords::new(&PasswordHashing::default()).unwrap();
        assert!(p.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", p.dummy);
        assert!(PasswordHash::new(&p.dummy).is_ok());
        // Clones share it: the state is cloned per request and must not make another.
        assert!(Arc::ptr_eq(&p.dummy, &p.clone().dummy));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(&PasswordHashing::default()).unwrap();
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p.verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!p.verify("wrong horse".into(), Some(h.clone())).await.unwrap());
        assert!(!p.verify("anything".into(), None).await.unwrap());
        // A stronger configuration still verifies hashes made with the old cost.
        let stronger =
            Passwords::new(&PasswordHashing { memory_kib: 32 * 1024, iterations: 3, parallelism: 1 }).unwrap();
        assert!(stronger.verify("correct horse".into(), Some(h)).await.unwrap());
        let h = stronger.hash("x".repeat(128)).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=32768,t=3,p=1$"), "{h}");
    }
}
