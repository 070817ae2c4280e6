//! Argon2id. The cost of new hashes comes from `Config` (`ARGON2_*`, defaulting to OWASP's
//! 19 MiB, 2 passes, 1 lane: the argon2 crate's defaults); verification reads the cost from
//! each stored hash, so raising it never locks anyone out.
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on the blocking pool and never
//! stalls the async workers that serve other requests.

use std::sync::{Arc, OnceLock};

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
    /// is unknown, so an unknown email costs what a wrong password costs.
    dummy: Arc<OnceLock<String>>,
}

impl Passwords {
    pub fn new(config: &PasswordHashing) -> Result<Self, Error> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Self { params, dummy: Arc::new(OnceLock::new()) })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
    }

    fn hash_blocking(&self, password: &str) -> Result<String, Error> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    }

    /// Checks `password` against a stored PHC string. With `None` (no such user) it checks
    /// the dummy hash anyway, so an unknown email costs the same time as a wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let known = stored.is_some();
            let stored = match stored {
                Some(s) => s,
                None => this.dummy_hash()?.to_owned(),
            };
            let parsed =
                PasswordHash::new(&stored).map_err(|e| Error::Internal(format!("stored hash unreadable: {e}")))?;
            let matches = this.argon2().verify_password(password.as_bytes(), &parsed).is_ok();
            Ok(known && matches)
        })
        .await
        .map_err(|e| Error::Internal(format!("password verification task failed: {e}")))?
    }

    fn dummy_hash(&self) -> Result<&str, Error> {
        if let Some(h) = self.dummy.get() {
            return Ok(h);
        }
        let h = self.hash_blocking("simplecrm-timing-equaliser")?;
        Ok(self.dummy.get_or_init(|| h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
