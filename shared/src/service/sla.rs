//! Service levels: the tenant's policy, due dates kept by the database (migration V16),
//! and the monitor that records breaches exactly once and announces them.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use super::pipeline;
use crate::{
    db::{
        outbox as outbox_db,
        sla::{self as sla_db, Breach, PolicyRecord},
    },
    error::{Error, FieldError},
    events::OutboxEvent,
    ids::{EventId, TenantId},
    metrics,
    model::{BusinessHours, SlaPolicy, Target, Targets},
    security::{Credential, Requires},
    state::AppState,
};

/// The longest target: a year of business minutes.
pub const MAX_TARGET_MINUTES: i32 = 525_600;
pub const MAX_HOLIDAYS: usize = 400;
pub const MAX_INTERVALS_PER_DAY: usize = 6;
/// Open tickets a policy change recomputes in its own request; the monitor does the rest
/// in batches this size.
pub const RECOMPUTE_BATCH: i64 = 1000;
/// Tickets whose breaches one monitor transaction records.
pub const BREACH_BATCH: i64 = 500;

#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutPolicyInput {
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64, example = "Europe/Berlin")]
    pub timezone: String,
    /// Null or absent: around the clock.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
    /// Local dates without business time.
    #[serde(default)]
    #[schema(value_type = Vec<crate::model::IsoDate>, max_items = 400)]
    pub holidays: Vec<NaiveDate>,
    /// Business minutes per priority; a priority absent has no target.
    pub targets: Targets,
}

/// The tenant's policy; every field null when it has none.
pub async fn get(state: &AppState, caller: &Credential) -> Result<SlaPolicy, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let policy = sla_db::manager::get(&tx, principal.tenant_id).await?;
    tx.commit().await?;
    Ok(policy.unwrap_or_default())
}

/// Replaces the policy. Tickets created from now on get due dates under it; the open
/// tickets are recomputed, the first [`RECOMPUTE_BATCH`] in this request and the rest by
/// the monitor within minutes. Resolved tickets keep theirs, and a breach already
/// recorded stays recorded.
pub async fn put(state: &AppState, caller: &Credential, input: PutPolicyInput) -> Result<SlaPolicy, Error> {
    let record = checked(&input)?;
    let record = PolicyRecord {
        timezone: input.timezone.trim(),
        business_hours: record.business_hours,
        holidays: &record.holidays,
        targets: record.targets,
    };
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let policy = match sla_db::manager::put(&tx, tenant, &record).await {
        Ok(policy) => policy,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    let recomputed = sla_db::manager::recompute(&tx, tenant, RECOMPUTE_BATCH, true).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, recomputed, "SLA policy replaced");
    Ok(policy)
}

struct Checked {
    business_hours: Option<Value>,
    holidays: Vec<NaiveDate>,
    targets: Value,
}

fn checked(input: &PutPolicyInput) -> Result<Checked, Error> {
    let mut errors = Vec::new();
    if let Some(hours) = &input.business_hours {
        check_hours(hours, &mut errors);
    }
    if input.holidays.len() > MAX_HOLIDAYS {
        errors.push(FieldError::new("holidays", format!("must hold at most {MAX_HOLIDAYS} dates")));
    }
    for (priority, target) in input.targets.each() {
        let Some(Target { first_response_minutes, resolution_minutes }) = target else { continue };
        for (name, minutes) in
            [("firstResponseMinutes", first_response_minutes), ("resolutionMinutes", resolution_minutes)]
        {
            if minutes.is_some_and(|m| !(1..=MAX_TARGET_MINUTES).contains(&m)) {
                errors.push(FieldError::new(
                    format!("targets.{priority}.{name}"),
                    format!("must be 1 to {MAX_TARGET_MINUTES} minutes"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let mut holidays = input.holidays.clone();
    holidays.sort_unstable();
    holidays.dedup();
    Ok(Checked {
        business_hours: input.business_hours.as_ref().map(as_json),
        holidays,
        targets: as_json(&input.targets),
    })
}

/// The policy's parts as the JSON columns store them: strings, numbers and nested lists
/// of them always serialize.
fn as_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Each day: at most [`MAX_INTERVALS_PER_DAY`] `["HH:MM", "HH:MM"]` intervals, each
/// starting before it ends, in order and not overlapping; some day must have one.
fn check_hours(hours: &BusinessHours, errors: &mut Vec<FieldError>) {
    let mut any = false;
    for (day, intervals) in hours.days() {
        let field = |i: usize| format!("businessHours.{day}[{i}]");
        if intervals.len() > MAX_INTERVALS_PER_DAY {
            errors.push(FieldError::new(
                format!("businessHours.{day}"),
                format!("must hold at most {MAX_INTERVALS_PER_DAY} intervals"),
            ));
            continue;
        }
        let mut previous_end = 0;
        for (i, interval) in intervals.iter().enumerate() {
            let [start, end] = interval.as_slice() else {
                errors.push(FieldError::new(field(i), "must be [\"HH:MM\", \"HH:MM\"]"));
                continue;
            };
            match (minute_of_day(start), minute_of_day(end)) {
                (Some(s), Some(e)) if s < e && s >= previous_end && s < 24 * 60 => {
                    previous_end = e;
                    any = true;
                }
                (Some(s), Some(e)) if s < e => {
                    errors.push(FieldError::new(field(i), "must start after the day's previous interval ends"));
                }
                (Some(_), Some(_)) => errors.push(FieldError::new(field(i), "must start before it ends")),
                _ => errors.push(FieldError::new(field(i), "times must be HH:MM, 00:00 to 24:00")),
            }
        }
    }
    if !any && errors.is_empty() {
        errors.push(FieldError::new("businessHours", "must open on at least one day (null means around the clock)"));
    }
}

/// "HH:MM" as minutes after midnight, "24:00" included.
fn minute_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// What one monitor run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MonitorRun {
    pub breaches: usize,
    pub recomputed: u64,
}

/// One run of `sla-monitor`: for every tenant with work, catches up due dates after a
/// policy change and records each breach once with its `ticket.sla_breached` event, in
/// the same transaction. Stops taking new batches after `budget`; the next run goes on.
pub async fn monitor(state: &AppState, budget: Duration) -> Result<MonitorRun, Error> {
    let started = Instant::now();
    let tx = state.db.begin_unscoped().await?;
    let tenants = sla_db::manager::due_tenants(&tx, 5000).await?;
    tx.commit().await?;
    let mut run = MonitorRun::default();
    for tenant in tenants {
        loop {
            let (recomputed, breaches) = monitor_tenant(state, tenant).await?;
            run.recomputed += recomputed;
            run.breaches += breaches;
            let more = recomputed as i64 >= RECOMPUTE_BATCH || breaches as i64 >= BREACH_BATCH;
            if !more || started.elapsed() >= budget {
                break;
            }
        }
        if started.elapsed() >= budget {
            break;
        }
    }
    Ok(run)
}

async fn monitor_tenant(state: &AppState, tenant: TenantId) -> Result<(u64, usize), Error> {
    let tx = state.db.begin_for(tenant).await?;
    let recomputed = sla_db::manager::recompute(&tx, tenant, RECOMPUTE_BATCH, false).await?;
    let breaches = sla_db::manager::record_breaches(&tx, tenant, BREACH_BATCH).await?;
    let events: Vec<OutboxEvent> = breaches.iter().map(|b| breach_event(tenant, b)).collect();
    if !events.is_empty() {
        outbox_db::manager::insert(&tx, tenant, &events).await?;
    }
    tx.commit().await?;
    metrics::count(metrics::SLA_BREACHES, events.len() as u64);
    let count = events.len();
    pipeline::publish_committed(state, events).await;
    Ok((recomputed, count))
}

fn breach_event(tenant: TenantId, breach: &Breach) -> OutboxEvent {
    OutboxEvent::by_service(
        EventId::generate(),
        "ticket.sla_breached",
        tenant,
        breach.ticket_id,
        Value::Null,
        json!({"kind": breach.kind, "dueAt": breach.due_at}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(mon: &[[&str; 2]]) -> BusinessHours {
        BusinessHours {
            mon: mon.iter().map(|[a, b]| vec![(*a).to_owned(), (*b).to_owned()]).collect(),
            ..BusinessHours::default()
        }
    }

    fn errors(h: &BusinessHours) -> Vec<String> {
        let mut errors = Vec::new();
        check_hours(h, &mut errors);
        errors.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect()
    }

    #[test]
    fn times_are_hh_mm_up_to_24_00() {
        assert_eq!(minute_of_day("00:00"), Some(0));
        assert_eq!(minute_of_day("24:00"), Some(1440));
        assert_eq!(minute_of_day("09:30"), Some(570));
        for bad in ["24:01", "9:00", "09:60", "0900", "aa:bb", "09:00:00", "+9:00"] {
            assert_eq!(minute_of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn intervals_must_be_ordered_and_disjoint() {
        assert!(errors(&hours(&[["09:00", "12:00"], ["13:00", "24:00"]])).is_empty());
        assert_eq!(errors(&hours(&[["09:00", "12:00"], ["11:00", "13:00"]])).len(), 1);
        assert_eq!(errors(&hours(&[["12:00", "09:00"]])), ["businessHours.mon[0]: must start before it ends"]);
        assert_eq!(errors(&hours(&[])), ["businessHours: must open on at least one day (null means around the clock)"]);
        let three = BusinessHours { mon: vec![vec!["09:00".into()]], ..BusinessHours::default() };
        assert_eq!(errors(&three).len(), 1);
    }
}
