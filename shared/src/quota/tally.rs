//! A container's share of its tenants' counts. Counting every request in the database
//! costs a statement per request (a third of a create's database time on the bench
//! machine) to enforce limits most tenants are nowhere near. So a container counts a
//! tenant's requests in the database in batches while the tenant is far from its limits:
//! at most every [`SYNC_EVERY`], it sends what it served since its last count and reads
//! the window back; in between it decides from that window and its own requests since.
//! Once a request would leave less than half of either limit, every request is counted
//! in the database as it comes, as before.
//!
//! What that costs in precision: another container's requests reach this one's view up
//! to [`SYNC_EVERY`] late, and only while the tenant is below half its limits, so a
//! tenant can pass a limit by what its containers serve in that time (one Lambda
//! container serves one request at a time). Counts a container holds when it stops are
//! lost, and a batch that waited longer than the window is dropped, both in the tenant's
//! favour.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{QuotaConfig, Status, WINDOW_SECS};
use crate::ids::TenantId;

/// How stale a container's view of a tenant's window may be.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);

/// Tenants remembered at most; past it, those not counted within the window are forgotten.
const MAX_TENANTS: usize = 4096;

/// What the round trip that opens a request does about the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Count in the database `amount` requests: this one and those served since the last count.
    Count { amount: i32 },
    /// Decide here, once the caller is known ([`Tally::count_here`]).
    Here,
}

#[derive(Default)]
pub struct Tally {
    tenants: Mutex<HashMap<TenantId, TenantView>>,
    /// The tenants of API keys this container has authorised, by prefix: a key's tenant is
    /// otherwise known only once the database has checked its secret.
    keys: Mutex<HashMap<String, TenantId>>,
}

/// A tenant's window as the database last gave it, and this container's requests since.
struct TenantView {
    /// Counts by epoch second, this container's last batch included.
    synced: Vec<(i64, u32)>,
    /// When the last count was planned: the view is fresh until [`SYNC_EVERY`] after.
    planned_at: Instant,
    /// Requests served since the last count, and the second of the first.
    pending: u32,
    pending_since: i64,
}

impl TenantView {
    /// The window's counts before one more request at `now_s`, oldest first.
    fn before(&self, now_s: i64) -> Vec<i32> {
        let first = now_s - i64::from(WINDOW_SECS) + 1;
        let mut counts = vec![0i32; WINDOW_SECS as usize];
        for &(second, count) in &self.synced {
            if let Some(slot) = usize::try_from(second - first).ok().and_then(|at| counts.get_mut(at)) {
                *slot = slot.saturating_add(i32::try_from(count).unwrap_or(i32::MAX));
            }
        }
        if let Some(last) = counts.last_mut() {
            *last = last.saturating_add(i32::try_from(self.pending).unwrap_or(i32::MAX));
        }
        counts
    }
}

/// Whether a request taken with `status` leaves at least half of both limits.
fn far_from_limits(config: &QuotaConfig, status: &Status) -> bool {
    status.taken && status.burst_remaining * 2 >= config.burst && status.quota_remaining * 2 >= config.quota()
}

/// The current epoch second on this container's clock.
pub fn epoch_second() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Tally {
    /// Before the round trip that opens a request of `tenant` (None: not known before the
    /// database says, as for an API key not seen yet): count it there, or decide here.
    pub fn plan(&self, config: &QuotaConfig, tenant: Option<TenantId>, now: Instant, now_s: i64) -> Plan {
        let Some(tenant) = tenant else {
            return Plan::Count { amount: 1 };
        };
        let mut tenants = self.lock();
        let Some(view) = tenants.get_mut(&tenant) else {
            return Plan::Count { amount: 1 };
        };
        let fresh = now.saturating_duration_since(view.planned_at) < SYNC_EVERY;
        if fresh && far_from_limits(config, &Status::from_counts(config, &view.before(now_s))) {
            return Plan::Here;
        }
        // This request carries the batch; requests meanwhile decide from the view as it is.
        let batch = if now_s - view.pending_since < i64::from(WINDOW_SECS) { view.pending } else { 0 };
        view.pending = 0;
        view.planned_at = now;
        Plan::Count { amount: i32::try_from(batch).unwrap_or(i32::MAX - 1) + 1 }
    }

    /// After the database counted `amount` requests of `tenant` at its second `now_s` and
    /// gave the window's counts before them (`before`, oldest first): the status of the
    /// request that carried them, which the database counted last.
    pub fn counted(
        &self,
        config: &QuotaConfig,
        tenant: TenantId,
        now: Instant,
        now_s: i64,
        before: &[i32],
        amount: i32,
    ) -> Status {
        let mut counts = before.to_vec();
        if let Some(last) = counts.last_mut() {
            *last = last.saturating_add(amount - 1);
        }
        let status = Status::from_counts(config, &counts);
        let first = now_s - counts.len() as i64 + 1;
        let mut synced: Vec<(i64, u32)> =
            counts.iter().enumerate().map(|(k, &c)| (first + k as i64, u32::try_from(c).unwrap_or(0))).collect();
        if let Some(last) = synced.last_mut() {
            last.1 += 1;
        }
        let mut tenants = self.lock();
        if tenants.len() >= MAX_TENANTS && !tenants.contains_key(&tenant) {
            let stale = Duration::from_secs(u64::from(WINDOW_SECS));
            tenants.retain(|_, view| now.saturating_duration_since(view.planned_at) < stale);
        }
        let view = tenants.entry(tenant).or_insert_with(|| TenantView {
            synced: Vec::new(),
            planned_at: now,
            pending: 0,
            pending_since: now_s,
        });
        view.synced = synced;
        status
    }

    /// A count planned for `tenant` failed: the next request counts in the database again,
    /// and what this container had served goes uncounted (as the failed request does).
    pub fn count_failed(&self, tenant: Option<TenantId>) {
        if let Some(tenant) = tenant {
            self.lock().remove(&tenant);
        }
    }

    /// A count planned for `tenant` that the database did not make because the caller was
    /// refused first (an API key's wrong secret): the `batch` it carried waits for the next.
    pub fn not_counted(&self, tenant: TenantId, batch: i32) {
        if let Some(view) = self.lock().get_mut(&tenant) {
            view.pending += u32::try_from(batch).unwrap_or(0);
        }
    }

    /// A request of `tenant` planned [`Plan::Here`], once its caller is authorised: counts
    /// it here, to be sent with the next count, and says where the tenant stands.
    pub fn count_here(&self, config: &QuotaConfig, tenant: TenantId, now_s: i64) -> Option<Status> {
        let mut tenants = self.lock();
        let view = tenants.get_mut(&tenant)?;
        let status = Status::from_counts(config, &view.before(now_s));
        if view.pending == 0 {
            view.pending_since = now_s;
        }
        view.pending += 1;
        Some(status)
    }

    /// The tenant of the API key `prefix`, if this container has authorised it before.
    pub fn tenant_of_key(&self, prefix: &str) -> Option<TenantId> {
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(prefix).copied()
    }

    /// Remembers the tenant of an API key the database has just authorised.
    pub fn key_authorised(&self, prefix: &str, tenant: TenantId) {
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if keys.len() >= MAX_TENANTS && !keys.contains_key(prefix) {
            keys.clear();
        }
        keys.insert(prefix.to_owned(), tenant);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, TenantView>> {
        // A panic while holding it leaves only counts behind, still usable.
        self.tenants.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 a second, 200 in any one second, 1,000 in the window.
    const CONFIG: QuotaConfig = QuotaConfig { per_second: 100, burst: 200 };
    const TENANT: TenantId = TenantId(uuid::Uuid::from_u128(1));
    const NOW_S: i64 = 1_800_000_000;

    fn idle() -> Vec<i32> {
        vec![0; WINDOW_SECS as usize]
    }

    /// Plans a request, and counts it as the database or this container would.
    fn request(tally: &Tally, now: Instant, before_in_db: &[i32]) -> (Plan, Status) {
        let plan = tally.plan(&CONFIG, Some(TENANT), now, NOW_S);
        let status = match plan {
            Plan::Count { amount } => tally.counted(&CONFIG, TENANT, now, NOW_S, before_in_db, amount),
            Plan::Here => tally.count_here(&CONFIG, TENANT, NOW_S).expect("a view to count in"),
        };
        (plan, status)
    }

    #[test]
    fn far_from_its_limits_a_tenant_is_counted_once_per_interval_and_nothing_is_lost() {
        let tally = Tally::default();
        let start = Instant::now();
        assert_eq!(request(&tally, start, &idle()).0, Plan::Count { amount: 1 }, "a tenant not seen yet");
        for n in 2..=10 {
            let (plan, status) = request(&tally, start + Duration::from_millis(n), &idle());
            assert_eq!(plan, Plan::Here);
            assert_eq!(status.burst_remaining, CONFIG.burst - n as u32, "request {n} sees those before it");
        }
        // Past the interval the next request carries the nine served here, and itself.
        let later = start + SYNC_EVERY;
        let mut in_db = idle();
        in_db[9] = 1;
        let (plan, status) = request(&tally, later, &in_db);
        assert_eq!(plan, Plan::Count { amount: 10 });
        assert_eq!(status.burst_remaining, CONFIG.burst - 11, "the database's 1, the batch's 9 and this one");
    }

    #[test]
    fn near_a_limit_every_request_is_counted_in_the_database() {
        let tally = Tally::default();
        let now = Instant::now();
        // Other containers already spent 99 of the 200 this second: one more leaves less than half.
        let mut in_db = idle();
        in_db[9] = 99;
        request(&tally, now, &in_db);
        assert!(matches!(tally.plan(&CONFIG, Some(TENANT), now, NOW_S), Plan::Count { .. }));
        // And near the window's quota likewise, whatever the second.
        let tally = Tally::default();
        let mut in_db = idle();
        in_db[0] = 499;
        request(&tally, now, &in_db);
        assert!(matches!(tally.plan(&CONFIG, Some(TENANT), now, NOW_S), Plan::Count { .. }));
    }

    #[test]
    fn a_failed_count_sends_the_next_request_to_the_database() {
        let tally = Tally::default();
        let now = Instant::now();
        request(&tally, now, &idle());
        assert_eq!(tally.plan(&CONFIG, Some(TENANT), now, NOW_S), Plan::Here);
        tally.count_failed(Some(TENANT));
        assert_eq!(tally.plan(&CONFIG, Some(TENANT), now, NOW_S), Plan::Count { amount: 1 });
        assert_eq!(tally.plan(&CONFIG, None, now, NOW_S), Plan::Count { amount: 1 }, "an unknown tenant");
    }

    #[test]
    fn a_batch_the_database_did_not_count_waits_for_the_next_count() {
        let tally = Tally::default();
        let start = Instant::now();
        request(&tally, start, &idle());
        request(&tally, start, &idle());
        request(&tally, start, &idle());
        let later = start + SYNC_EVERY;
        assert_eq!(tally.plan(&CONFIG, Some(TENANT), later, NOW_S), Plan::Count { amount: 3 });
        tally.not_counted(TENANT, 2);
        assert_eq!(tally.plan(&CONFIG, Some(TENANT), later + SYNC_EVERY, NOW_S), Plan::Count { amount: 3 });
    }

    #[test]
    fn a_batch_older_than_the_window_is_dropped() {
        let tally = Tally::default();
        let now = Instant::now();
        request(&tally, now, &idle());
        tally.count_here(&CONFIG, TENANT, NOW_S);
        let much_later = NOW_S + i64::from(WINDOW_SECS);
        let plan = tally.plan(&CONFIG, Some(TENANT), now + Duration::from_secs(10), much_later);
        assert_eq!(plan, Plan::Count { amount: 1 });
    }

    #[test]
    fn the_view_moves_with_the_clock() {
        let tally = Tally::default();
        let now = Instant::now();
        let mut in_db = idle();
        in_db[9] = 50;
        request(&tally, now, &in_db);
        // A second later the 51 counted are one second older: the burst is whole again.
        let status = tally.count_here(&CONFIG, TENANT, NOW_S + 1).expect("a view");
        assert_eq!(status.burst_remaining, CONFIG.burst - 1);
        assert_eq!(status.quota_remaining, CONFIG.quota() - 52);
    }
}
