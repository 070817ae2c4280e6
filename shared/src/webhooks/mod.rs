//! Outgoing webhooks: their settings, the Standard Webhooks signature, where a delivery
//! may go ([`target`]) and how it is posted ([`sender`]).

pub mod sender;
pub mod target;

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;

use crate::error::Error;

/// `webhook-id`, `webhook-timestamp` and `webhook-signature`, as the specification names them.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
const SECRET_PREFIX: &str = "whsec_";
/// How long the secret before a rotation still signs deliveries.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// How long one delivery attempt may take, the receiver's answer included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// An endpoint whose deliveries have all failed for this long is deactivated.
pub const DISABLE_AFTER_FAILING_FOR: Duration = Duration::from_secs(5 * 24 * 3600);

/// The webhook settings of [`crate::Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `WEBHOOK_QUEUE_URL`: the dispatcher's queue. Without it `crm-local` dispatches in process.
    pub queue_url: Option<String>,
    /// `WEBHOOK_RETRY_SCHEDULE`: the waits before each retry of a failed attempt.
    pub retry_schedule: Vec<Duration>,
    /// `WEBHOOK_DISABLE_AFTER_FAILURES`: FAILED deliveries in a row that deactivate an endpoint.
    pub disable_after_failures: u32,
    /// `WEBHOOKS_ALLOW_PRIVATE_TARGETS`: lets local development post to loopback and
    /// private addresses; refused in production.
    pub allow_private_targets: bool,
}

pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";
pub const DEFAULT_DISABLE_AFTER_FAILURES: u32 = 5;

/// Parses `5s,5m,30m,2h`: whole numbers of seconds, minutes, hours or days.
pub fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    let schedule = raw
        .split(',')
        .map(|step| {
            let step = step.trim();
            let split = step.find(|c: char| !c.is_ascii_digit()).unwrap_or(step.len());
            let (number, unit) = step.split_at(split);
            let n: u64 = number.parse().map_err(|_| format!("`{step}` is not a number and a unit (s, m, h, d)"))?;
            let unit = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(format!("`{step}`: the unit must be s, m, h or d")),
            };
            Ok(Duration::from_secs(n * unit))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if schedule.len() > 20 {
        return Err("at most 20 retries".into());
    }
    Ok(schedule)
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` value: one `v1,<signature>` per secret, space-separated (two
/// during a rotation's overlap), over `id.timestamp.body`.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let signer = standardwebhooks::Webhook::new(secret)
            .map_err(|e| Error::Internal(format!("a stored webhook secret is unusable: {e}")))?;
        let signed =
            signer.sign(id, timestamp, body).map_err(|e| Error::Internal(format!("sign a webhook delivery: {e}")))?;
        signatures.push(signed);
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    /// The vector the Standard Webhooks reference libraries are tested with.
    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TIMESTAMP: i64 = 1_649_367_553;
    const SPEC_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_the_specifications_vector() {
        assert_eq!(signature(&[SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY).unwrap(), SPEC_SIGNATURE);
    }

    #[test]
    fn new_secrets_sign_what_an_independent_hmac_verifies_and_a_rotation_signs_twice() {
        let (old, new) = (new_secret(), new_secret());
        assert!(new.starts_with("whsec_") && new.len() == 6 + 44 && old != new);
        let header = signature(&[&new, &old], "evt_1", 1_700_000_000, b"{}").unwrap();
        let signatures: Vec<&str> = header.split(' ').collect();
        assert_eq!(signatures.len(), 2);
        for (secret, sig) in [(&new, signatures[0]), (&old, signatures[1])] {
            let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(b"evt_1.1700000000.{}");
            assert_eq!(sig, format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())));
        }
    }

    #[test]
    fn schedules_parse_and_bad_ones_say_why() {
        let s = parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap();
        assert_eq!(s.len(), 7);
        assert_eq!((s[0], s[1], s[6]), (Duration::from_secs(5), Duration::from_secs(300), Duration::from_secs(36_000)));
        assert_eq!(parse_schedule("1s, 2d").unwrap(), [Duration::from_secs(1), Duration::from_secs(172_800)]);
        for bad in ["", "5", "5x", "s", "-1s", "1s,,2s"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }
}
