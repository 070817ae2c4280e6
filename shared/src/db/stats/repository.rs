//! SQL for the stats counters (kept by triggers, migration V2).

use crate::{
    db::{DbError, Tx},
    ids::TenantId,
    model::{PriorityCounts, Stats},
};

const GET: &str =
    "SELECT coalesce(sum(total_tickets), 0)::bigint AS total_tickets, coalesce(sum(open), 0)::bigint AS open,
        coalesce(sum(in_progress), 0)::bigint AS in_progress, coalesce(sum(resolved), 0)::bigint AS resolved,
        coalesce(sum(total_customers), 0)::bigint AS total_customers,
        coalesce(sum(low), 0)::bigint AS low, coalesce(sum(medium), 0)::bigint AS medium,
        coalesce(sum(high), 0)::bigint AS high, coalesce(sum(urgent), 0)::bigint AS urgent,
        coalesce(sum(resolution_seconds_sum), 0)::double precision AS resolution_seconds_sum,
        coalesce(sum(sla_first_response_met), 0)::bigint AS fr_met,
        coalesce(sum(sla_first_response_breached), 0)::bigint AS fr_breached,
        coalesce(sum(sla_resolution_met), 0)::bigint AS res_met,
        coalesce(sum(sla_resolution_breached), 0)::bigint AS res_breached,
        coalesce(sum(first_responses), 0)::bigint AS first_responses,
        coalesce(sum(first_response_seconds_sum), 0)::double precision AS first_response_seconds_sum
    FROM tenant_stats WHERE tenant_id = $1";

/// Sums the tenant's counter slots: at most 64 rows (one per connection slot, V24),
/// however many tickets it has.
pub(super) async fn get(tx: &Tx, tenant: TenantId) -> Result<Stats, DbError> {
    let stmt = tx.client().prepare_cached(GET).await?;
    let row = tx.client().query_one(&stmt, &[&tenant.0]).await?;
    let resolved: i64 = row.try_get("resolved")?;
    let resolution_sum: f64 = row.try_get("resolution_seconds_sum")?;
    Ok(Stats {
        total_tickets: row.try_get("total_tickets")?,
        open: row.try_get("open")?,
        in_progress: row.try_get("in_progress")?,
        resolved,
        total_customers: row.try_get("total_customers")?,
        by_priority: PriorityCounts {
            low: row.try_get("low")?,
            medium: row.try_get("medium")?,
            high: row.try_get("high")?,
            urgent: row.try_get("urgent")?,
        },
        avg_resolution_seconds: (resolved > 0).then(|| resolution_sum / resolved as f64),
        sla_first_response_met_percent: met_percent(row.try_get("fr_met")?, row.try_get("fr_breached")?),
        sla_resolution_met_percent: met_percent(row.try_get("res_met")?, row.try_get("res_breached")?),
        avg_first_response_seconds: mean(row.try_get("first_response_seconds_sum")?, row.try_get("first_responses")?),
    })
}

fn met_percent(met: i64, breached: i64) -> Option<f64> {
    let settled = met + breached;
    (settled > 0).then(|| met as f64 * 100.0 / settled as f64)
}

fn mean(sum: f64, count: i64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_benchmark_ceiling_sums_the_counters_as_get_does() {
        crate::db::assert_ceiling_runs("stats.sql", &super::GET.replace("$1", ":tenant"));
    }
}
