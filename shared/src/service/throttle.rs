//! Login and refresh throttling, shared by every container through PostgreSQL (V4).
//!
//! Keys are SHA-256 digests of a scope and a value, so the table never holds an address:
//! - `login-email-ip`: the normalised (lower-case) address and the source IP together. The
//!   everyday lock: someone hammering an address locks it for their IP only, so they
//!   cannot lock its owner out by guessing (a denial of service) from elsewhere.
//! - `login-email`: the address from any IP, with a much higher limit: the backstop
//!   against guessing spread over many IPs. Both address keys count unknown addresses
//!   exactly like wrong passwords, so a lock (and its 429) never tells which exist.
//! - `login-ip`: the source IP (an IPv6 client by its /64, which it can rotate freely).
//! - `refresh-ip`: the source IP of refused refresh tokens. A reused refresh token
//!   already revokes its whole family, so a per-family counter would add nothing.
//!
//! A locked key answers 429 with `Retry-After` before any password is checked, even when
//! the password would be right: otherwise the lock would be a free password oracle. A
//! successful login clears its own pair's and the address-wide counters, never an IP's
//! (one valid account must not buy an attacker fresh attempts at others) nor another
//! pair's (the owner signing in must not unlock the attacker's IP). Concurrent attempts
//! that pass the check together are counted all the same, so the limit can be overshot
//! by the concurrency of one burst, never more.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::{
    config::ThrottleConfig,
    db::{Tx, throttle::manager as throttle_db, throttle::manager::Limits},
    error::Error,
};

/// The keys one login attempt is counted under.
pub struct LoginKeys {
    email_ip: Vec<u8>,
    email: Vec<u8>,
    ip: Vec<u8>,
}

impl LoginKeys {
    /// `email` must already be normalised (trimmed, lower-case).
    pub fn new(email: &str, source_ip: Option<&str>) -> Self {
        let ip = ip_bucket(source_ip);
        // The IP goes last and holds no `|`, so no other address and IP give this value.
        Self {
            email_ip: key("login-email-ip", &format!("{email}|{ip}")),
            email: key("login-email", email),
            ip: key("login-ip", &ip),
        }
    }
}

/// The key refused refresh tokens are counted under.
pub struct RefreshKey(Vec<u8>);

impl RefreshKey {
    pub fn new(source_ip: Option<&str>) -> Self {
        Self(key("refresh-ip", &ip_bucket(source_ip)))
    }
}

/// 429 when the address from this IP, the address from anywhere, or the IP is locked.
pub async fn check_login(tx: &Tx, keys: &LoginKeys) -> Result<(), Error> {
    refuse_if_locked(throttle_db::locked_for(tx, &[&keys.email_ip, &keys.email, &keys.ip]).await?)
}

/// Counts a failed login against the pair, the address and the IP.
pub async fn login_failed(tx: &Tx, config: &ThrottleConfig, keys: &LoginKeys) -> Result<(), Error> {
    let pair =
        throttle_db::record_failure(tx, &keys.email_ip, &limits(config, config.login_email_max_failures)).await?;
    let email =
        throttle_db::record_failure(tx, &keys.email, &limits(config, config.login_email_any_ip_max_failures)).await?;
    let ip = throttle_db::record_failure(tx, &keys.ip, &limits(config, config.login_ip_max_failures)).await?;
    if pair > 0 || email > 0 || ip > 0 {
        // Lock lengths only, never the address: logs must not become an address book.
        tracing::warn!(pair_lock_secs = pair, email_lock_secs = email, ip_lock_secs = ip, "login throttled");
    }
    Ok(())
}

/// A success clears the pair's and the address's counters (and their lock history).
pub async fn login_succeeded(tx: &Tx, keys: &LoginKeys) -> Result<(), Error> {
    throttle_db::reset(tx, &keys.email_ip).await?;
    throttle_db::reset(tx, &keys.email).await
}

pub async fn check_refresh(tx: &Tx, key: &RefreshKey) -> Result<(), Error> {
    refuse_if_locked(throttle_db::locked_for(tx, &[&key.0]).await?)
}

pub async fn refresh_failed(tx: &Tx, config: &ThrottleConfig, key: &RefreshKey) -> Result<(), Error> {
    let locked = throttle_db::record_failure(tx, &key.0, &limits(config, config.refresh_ip_max_failures)).await?;
    if locked > 0 {
        tracing::warn!(ip_lock_secs = locked, "refresh throttled");
    }
    Ok(())
}

fn refuse_if_locked(secs: u64) -> Result<(), Error> {
    if secs > 0 { Err(Error::TooManyRequests { retry_after_secs: secs }) } else { Ok(()) }
}

fn limits(config: &ThrottleConfig, max_failures: u32) -> Limits {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    Limits {
        max_failures: int(max_failures),
        window_secs: int(config.window_secs),
        lock_secs: int(config.lock_secs),
        max_lock_secs: int(config.max_lock_secs),
    }
}

fn key(scope: &str, value: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    hasher.update(b":");
    hasher.update(value.as_bytes());
    hasher.finalize().to_vec()
}

/// An IPv4 address as it is; an IPv6 address by its /64 (one subscriber's usual
/// allocation); anything unparsable (no source IP) in one shared bucket.
fn ip_bucket(source_ip: Option<&str>) -> String {
    match source_ip.map(str::trim).and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_digests_scoped_by_kind() {
        let a = LoginKeys::new("ann@acme.test", Some("192.0.2.1"));
        assert_eq!(a.email.len(), 32);
        assert_ne!(a.email, key("login-email", "bob@acme.test"));
        assert_ne!(key("login-ip", "192.0.2.1"), key("refresh-ip", "192.0.2.1"));
        assert_eq!(a.ip, key("login-ip", "192.0.2.1"));
        let other_ip = LoginKeys::new("ann@acme.test", Some("192.0.2.2"));
        assert_eq!(a.email, other_ip.email, "the address-wide key ignores the IP");
        assert_ne!(a.email_ip, other_ip.email_ip, "the pair key does not");
        assert_ne!(a.email_ip, a.email);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        assert_eq!(ip_bucket(Some("2001:db8:1:2:aaaa::1")), ip_bucket(Some("2001:db8:1:2:bbbb::2")));
        assert_ne!(ip_bucket(Some("2001:db8:1:2::1")), ip_bucket(Some("2001:db8:1:3::1")));
        assert_eq!(ip_bucket(Some("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(ip_bucket(None), "unknown");
        assert_eq!(ip_bucket(Some("not an ip")), "unknown");
    }
}
