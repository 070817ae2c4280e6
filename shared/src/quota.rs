//! Per-tenant request quotas: what one tenant may ask of the shared functions and
//! database, so that one noisy tenant answers 429 while the others go on unaffected.
//!
//! Two limits, counted by the database for every container at once (migrations V20, V25):
//! - the **burst**: requests in any one second (`TENANT_RATE_BURST`, twice the rate);
//! - the **sustained** quota: requests in the last [`WINDOW_SECS`] seconds, that many
//!   times `TENANT_RATE_PER_SECOND`.
//!
//! A container counts a tenant far from its limits in batches ([`tally`]), and every
//! request of a tenant near them one by one.
//!
//! Every authenticated answer says where the tenant stands with the IETF draft's fields
//! (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` names both limits and
//! `RateLimit` gives what remains of each and when it comes back; a refusal adds
//! `Retry-After`. Every request is counted, refused ones too: a client that keeps sending
//! past its quota stays refused, one that waits as told gets through. Each request reads
//! the counts as they were before it, so a burst of concurrent requests can pass a limit
//! by at most its concurrency.

use std::{future::Future, sync::OnceLock};

pub mod tally;

/// The window of the sustained quota.
pub const WINDOW_SECS: u32 = 10;

/// `TENANT_RATE_PER_SECOND` (50) and `TENANT_RATE_BURST` (twice the rate). A rate of 0
/// turns quotas off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaConfig {
    pub per_second: u32,
    pub burst: u32,
}

impl QuotaConfig {
    pub const DEFAULT_PER_SECOND: u32 = 50;

    pub fn enabled(&self) -> bool {
        self.per_second > 0
    }

    /// Requests allowed in the window.
    pub fn quota(&self) -> u32 {
        self.per_second.saturating_mul(WINDOW_SECS)
    }
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self { per_second: Self::DEFAULT_PER_SECOND, burst: 2 * Self::DEFAULT_PER_SECOND }
    }
}

/// Where a tenant stood when its request was counted (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub taken: bool,
    pub burst: u32,
    pub quota: u32,
    /// Left in the current second, this request included.
    pub burst_remaining: u32,
    /// Left in the window, this request included.
    pub quota_remaining: u32,
    /// Seconds until the window's count goes down (its oldest counted second leaves).
    pub quota_reset_secs: u32,
    /// When refused: seconds until the request would be taken.
    pub retry_after_secs: u32,
}

impl Status {
    /// From the database's answer: the counts of the window's seconds before this request,
    /// oldest first, the current second last. The request is taken when its second and its
    /// window still have room; counted either way, so a client that keeps sending past its
    /// quota stays refused, and one that waits `Retry-After` gets through.
    pub fn from_counts(config: &QuotaConfig, before: &[i32]) -> Self {
        let mut counts: Vec<u32> = before.iter().map(|&c| u32::try_from(c).unwrap_or(0)).collect();
        if counts.is_empty() {
            counts.push(0);
        }
        let quota = config.quota();
        let (current, total) = (counts[counts.len() - 1], counts.iter().sum::<u32>());
        let taken = current < config.burst && total < quota;
        // This request, in the current second.
        let last = counts.len() - 1;
        counts[last] += 1;
        let (current, total) = (current + 1, total + 1);
        // The window moves one second at a time: after k seconds, its first k seconds are out.
        let freed_after = |needed: u32| -> u32 {
            let mut freed = 0;
            for (k, count) in counts.iter().enumerate() {
                freed += count;
                if freed >= needed {
                    return k as u32 + 1;
                }
            }
            WINDOW_SECS
        };
        let retry_after_secs = if taken {
            0
        } else {
            let by_burst = u32::from(current > config.burst);
            let by_quota = if total > quota { freed_after(total - quota + 1) } else { 0 };
            by_burst.max(by_quota).max(1)
        };
        Self {
            taken,
            burst: config.burst,
            quota,
            burst_remaining: config.burst.saturating_sub(current),
            quota_remaining: quota.saturating_sub(total),
            quota_reset_secs: freed_after(1),
            retry_after_secs,
        }
    }

    /// `RateLimit-Policy`, `RateLimit` and, when refused, `Retry-After`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (
                "ratelimit-policy",
                format!("\"burst\";q={};w=1, \"tenant\";q={};w={WINDOW_SECS}", self.burst, self.quota),
            ),
            (
                "ratelimit",
                format!(
                    "\"burst\";r={};t=1, \"tenant\";r={};t={}",
                    self.burst_remaining, self.quota_remaining, self.quota_reset_secs
                ),
            ),
        ];
        if !self.taken {
            headers.push(("retry-after", self.retry_after_secs.to_string()));
        }
        headers
    }
}

tokio::task_local! {
    static STATUS: OnceLock<Status>;
}

/// Runs `work` with room for the status of its request's quota.
pub async fn scope<F: Future>(work: F) -> F::Output {
    STATUS.scope(OnceLock::new(), work).await
}

/// Records the status the answer reports (the first one: a request is counted once).
pub fn record(status: Status) {
    let _ = STATUS.try_with(|slot| slot.set(status));
}

/// The status recorded for this task's request, if it was counted.
pub fn recorded() -> Option<Status> {
    STATUS.try_with(|slot| slot.get().cloned()).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: QuotaConfig = QuotaConfig { per_second: 5, burst: 8 };

    fn window(recent: &[i32]) -> Vec<i32> {
        let mut counts = vec![0; WINDOW_SECS as usize - recent.len()];
        counts.extend_from_slice(recent);
        counts
    }

    #[test]
    fn a_taken_request_counts_itself() {
        let s = Status::from_counts(&CONFIG, &window(&[3, 0, 2]));
        assert!(s.taken);
        assert_eq!((s.burst_remaining, s.quota_remaining, s.retry_after_secs), (5, 44, 0));
        assert_eq!(s.quota_reset_secs, WINDOW_SECS - 2, "the 3 counted 2 seconds before the last leave first");
        assert!(!s.headers().iter().any(|(name, _)| *name == "retry-after"));
    }

    #[test]
    fn a_full_second_refuses_until_the_next() {
        let s = Status::from_counts(&CONFIG, &window(&[8]));
        assert!(!s.taken);
        assert_eq!((s.burst_remaining, s.retry_after_secs), (0, 1));
        let headers = s.headers();
        assert!(headers.contains(&("retry-after", "1".to_owned())));
        assert!(headers.contains(&("ratelimit-policy", "\"burst\";q=8;w=1, \"tenant\";q=50;w=10".to_owned())));
    }

    #[test]
    fn a_full_window_refuses_until_enough_seconds_leave_it() {
        // 50 in the window and this one: the 6 of its 3rd second must leave before one more fits.
        let counts = [0, 0, 6, 8, 8, 8, 8, 8, 4, 0];
        assert_eq!(counts.iter().sum::<i32>(), 50);
        let s = Status::from_counts(&CONFIG, &counts);
        assert!(!s.taken);
        assert_eq!((s.quota_remaining, s.retry_after_secs), (0, 3));
        assert_eq!(s.quota_reset_secs, 3);
        // One request short of the quota: taken, and none left.
        let counts = [0, 0, 5, 8, 8, 8, 8, 8, 4, 0];
        let s = Status::from_counts(&CONFIG, &counts);
        assert!(s.taken && s.quota_remaining == 0);
    }

    #[test]
    fn an_idle_tenant_has_everything_left() {
        let s = Status::from_counts(&CONFIG, &window(&[]));
        assert!(s.taken);
        assert_eq!((s.burst_remaining, s.quota_remaining), (7, 49));
        assert_eq!(s.quota_reset_secs, WINDOW_SECS, "this request leaves the window last");
    }
}
