//! `sla_business_add` (migrations/V16__sla_and_tags.sql) against a brute-force oracle.
//!
//! The oracle shares nothing with the SQL but the definition: chrono-tz's own copy of the
//! IANA rules resolves every wall-clock time, and business minutes are counted one at a
//! time, so a wrong offset, a lost or doubled hour, or an off-by-one at a closing time shows
//! as a different due instant. Starts cluster around each zone's clock changes, and opening
//! hours around the wall-clock times those changes skip or repeat.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono::{Weekday, Weekday::Sun};
use chrono_tz::{America, Asia, Australia, Europe, Pacific, Tz};
use crm_core::db::testing::TestDb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio_postgres::Client;

/// Opening hours of one weekday: [open, close) in minutes of the local day, sorted and
/// disjoint; 1440 is "24:00".
type Day = Vec<(i32, i32)>;

/// Opening hours of a week, Monday first.
type Week = [Day; 7];

/// Business time as instants: [open, close).
type Span = (DateTime<Utc>, DateTime<Utc>);

/// One question to both sides.
#[derive(Clone)]
struct Case {
    zone: Tz,
    /// `None` is 24/7.
    week: Option<Week>,
    holidays: Vec<NaiveDate>,
    start: DateTime<Utc>,
    minutes: i32,
}

impl fmt::Debug for Case {
    // What a failure report needs to replay the query by hand, in the SQL's own terms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("zone", &self.zone.name())
            .field("start", &self.start.to_rfc3339())
            .field("local_start", &self.start.with_timezone(&self.zone).to_rfc3339())
            .field("minutes", &self.minutes)
            .field("hours", &self.week.as_ref().map(|week| hours_json(week).to_string()))
            .field("holidays", &self.holidays.iter().map(NaiveDate::to_string).collect::<Vec<_>>())
            .finish()
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// 24/7 as the day-by-day walk sees it.
const ALL_DAY: &[(i32, i32)] = &[(0, 1440)];

/// The policy's `business_hours` document; a weekday without hours has no key.
fn hours_json(week: &Week) -> Value {
    let days = WEEKDAYS.iter().zip(week).filter(|(_, day)| !day.is_empty());
    let spans = |day: &Day| day.iter().map(|&(open, close)| json!([clock(open), clock(close)])).collect();
    Value::Object(days.map(|(name, day)| ((*name).to_owned(), spans(day))).collect())
}

fn clock(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

// ---------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------

/// How far the oracle counts; the generators keep nearly every target well inside it.
const HORIZON_DAYS: i64 = 70;

#[derive(Debug, PartialEq)]
enum Outcome {
    /// The end of the N-th business minute.
    Due(DateTime<Utc>),
    /// Fewer than N business minutes before this instant: the due instant is later.
    After(DateTime<Utc>),
}

/// The instant a wall-clock time names: the earlier of two, or for a skipped time the first
/// minute after it that exists. `None` only if a whole day were skipped.
fn resolve(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=1440)
        .find_map(|step| match zone.from_local_datetime(&(local + Duration::minutes(step))) {
            LocalResult::Single(t) => Some(t),
            LocalResult::Ambiguous(a, b) => Some(a.min(b)),
            LocalResult::None => None,
        })
        .map(|t| t.with_timezone(&Utc))
}

fn day_hours(case: &Case, date: NaiveDate) -> &[(i32, i32)] {
    match &case.week {
        None => ALL_DAY,
        Some(week) => &week[date.weekday().num_days_from_monday() as usize],
    }
}

/// The business time of the local dates `from..=to`, as a sorted union of spans.
fn business_spans(case: &Case, from: NaiveDate, to: NaiveDate) -> Option<Vec<Span>> {
    let mut spans = Vec::new();
    for date in from.iter_days().take_while(|date| *date <= to) {
        if case.holidays.contains(&date) {
            continue;
        }
        let midnight = date.and_time(NaiveTime::MIN);
        for &(open, close) in day_hours(case, date) {
            let at = |minute: i32| resolve(case.zone, midnight + Duration::minutes(minute.into()));
            spans.push((at(open)?, at(close)?));
        }
    }
    Some(union(spans))
}

/// Sorted and merged, so that the walk needs one pointer; overlaps are not expected, but
/// a merge makes "inside any span" hold without relying on that.
fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|(open, close)| open < close);
    spans.sort();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for (open, close) in spans {
        match merged.last_mut() {
            Some(last) if open <= last.1 => last.1 = last.1.max(close),
            _ => merged.push((open, close)),
        }
    }
    merged
}

/// The business time the oracle looks at: from two dates before the start's local date (a
/// date's hours end by the next date's midnight, so one would do; the margin keeps the
/// oracle free of that argument) to a date past the horizon.
fn spans_near(case: &Case) -> Option<Vec<Span>> {
    let local_start = case.start.with_timezone(&case.zone).date_naive();
    business_spans(case, local_start - Duration::days(2), local_start + Duration::days(HORIZON_DAYS + 1))
}

/// Walks whole minutes from the start and stops at the end of the N-th one that lies in
/// business time. Every zone offset and every start is a whole number of minutes, so a
/// minute is either wholly inside business time or wholly outside.
fn oracle(case: &Case) -> Option<Outcome> {
    let spans = spans_near(case)?;
    let limit = case.start + Duration::days(HORIZON_DAYS);
    let (mut counted, mut next, mut minute) = (0, 0, case.start);
    while minute < limit {
        while spans.get(next).is_some_and(|&(_, close)| close <= minute) {
            next += 1;
        }
        if spans.get(next).is_some_and(|&(open, _)| open <= minute) {
            counted += 1;
            if counted == case.minutes {
                return Some(Outcome::Due(minute + Duration::minutes(1)));
            }
        }
        minute += Duration::minutes(1);
    }
    Some(Outcome::After(limit))
}

// ---------------------------------------------------------------------------------------
// The SQL side
// ---------------------------------------------------------------------------------------

async fn sql_due(client: &Client, case: &Case) -> Result<Option<DateTime<Utc>>, tokio_postgres::Error> {
    // SQL NULL, not JSON null, is 24/7: a JSON null would be a week without any hours.
    let hours: Option<Value> = case.week.as_ref().map(hours_json);
    let row = client
        .query_one(
            "SELECT sla_business_add($1, $2, $3, $4, $5)",
            &[&case.zone.name(), &hours, &case.holidays, &case.start, &case.minutes],
        )
        .await?;
    row.try_get(0)
}

/// One database for all the cases of a property: proptest calls synchronously, so each
/// query is driven to completion on this runtime.
struct Sql {
    client: Client,
    _db: TestDb,
    runtime: Runtime,
}

impl Sql {
    fn open() -> Self {
        let runtime = Runtime::new().expect("a tokio runtime");
        let (db, client) = runtime.block_on(async {
            let db = TestDb::create().await;
            let client = db.connect().await;
            (db, client)
        });
        Self { client, _db: db, runtime }
    }

    fn agrees_with_oracle(&self, case: &Case) -> Result<(), TestCaseError> {
        let sql = self
            .runtime
            .block_on(sql_due(&self.client, case))
            .map_err(|e| TestCaseError::fail(format!("sla_business_add failed: {e}")))?;
        match oracle(case) {
            Some(Outcome::Due(due)) => prop_assert_eq!(sql, Some(due), "SQL (left) vs oracle (right)"),
            // Every generated week has hours and few holidays: a due instant always exists.
            Some(Outcome::After(limit)) => {
                prop_assert!(
                    sql.is_some_and(|t| t > limit),
                    "SQL gave {sql:?}, the oracle counts too few minutes before {limit}"
                )
            }
            None => return Err(TestCaseError::fail("chrono-tz skipped a whole day")),
        }
        Ok(())
    }
}

/// Runs a property against one fresh database; a failure panics with the shrunk input.
fn check(cases: u32, strategy: impl Strategy<Value = Case>) {
    let sql = Sql::open();
    // No regression file beside this source: the shrunk input is in the panic message.
    let config = Config { failure_persistence: None, ..Config::with_cases(cases) };
    if let Err(failure) = TestRunner::new(config).run(&strategy, |case| sql.agrees_with_oracle(&case)) {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Clocks set forward and back by an hour at different local times, by 30 minutes (Lord
/// Howe), at midnight (Santiago), at odd offsets (Chatham +12:45, Kolkata +05:30), and not
/// at all.
const ZONES: [Tz; 9] = [
    America::New_York,
    Europe::Berlin,
    Australia::Lord_Howe,
    Asia::Kolkata,
    America::Sao_Paulo,
    Pacific::Chatham,
    Tz::UTC,
    Europe::London,
    America::Santiago,
];

/// 2025-01-01T00:00Z in minutes since the epoch; starts run through 2027-12-31.
const FIRST_START_MINUTE: i64 = 1_735_689_600 / 60;
const START_DAYS: i64 = 3 * 365;

/// Wall-clock times that one of the zones skips or repeats (01:30–02:30 Lord Howe, 02:45–
/// 03:45 Chatham, 00:00–01:00 and 23:00–24:00 Santiago, 01:00–03:00 elsewhere).
const CHANGE_TIMES: &[i32] = &[0, 30, 60, 90, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240, 1380, 1410, 1440];

const MAX_MINUTES: i32 = 5000;

fn minute_of_epoch(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::minutes(minute)
}

fn utc_offset(zone: Tz, at: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc()
}

/// The instants within the start range at which the zone's offset changes, to the minute:
/// offsets compared a day apart, then the day bisected.
fn clock_changes(zone: Tz) -> Vec<DateTime<Utc>> {
    let first = minute_of_epoch(FIRST_START_MINUTE);
    (0..START_DAYS)
        .map(|day| first + Duration::days(day))
        .filter(|&day| utc_offset(zone, day) != utc_offset(zone, day + Duration::days(1)))
        .map(|day| first_minute_of_new_offset(zone, day))
        .collect()
}

fn first_minute_of_new_offset(zone: Tz, before: DateTime<Utc>) -> DateTime<Utc> {
    let old = utc_offset(zone, before);
    let (mut low, mut high) = (before, before + Duration::days(1));
    while high - low > Duration::minutes(1) {
        let middle = low + Duration::minutes((high - low).num_minutes() / 2);
        if utc_offset(zone, middle) == old {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

fn any_zone_and_start() -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
    let start = (0..START_DAYS * 1440).prop_map(|minute| minute_of_epoch(FIRST_START_MINUTE + minute));
    (prop::sample::select(ZONES.to_vec()), start)
}

/// A start within three days of one of the zones' clock changes, often within three hours.
fn zone_and_start_near_a_change() -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
    let changes: Vec<(Tz, DateTime<Utc>)> =
        ZONES.iter().flat_map(|&zone| clock_changes(zone).into_iter().map(move |change| (zone, change))).collect();
    let offset = prop_oneof![-3 * 1440i64..=3 * 1440, -180i64..=180];
    (prop::sample::select(changes), offset)
        .prop_map(|((zone, change), minutes)| (zone, change + Duration::minutes(minutes)))
}

/// Mostly the wall-clock times around clock changes, then whole hours, then any minute.
fn boundary() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => prop::sample::select(CHANGE_TIMES),
        1 => (0..=24).prop_map(|hour| hour * 60),
        1 => 0..=1440,
    ]
}

/// Up to three intervals: up to six cut points, sorted and paired (equal cuts make
/// intervals that touch, or an empty one, which is dropped).
fn day() -> impl Strategy<Value = Day> {
    prop::collection::vec(boundary(), 0..=6).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts.chunks_exact(2).map(|pair| (pair[0], pair[1])).filter(|(open, close)| open < close).collect()
    })
}

fn week() -> impl Strategy<Value = Option<Week>> {
    let open_week = proptest::array::uniform7(day())
        .prop_filter("a week needs some business hours", |week| week.iter().any(|day| !day.is_empty()));
    prop_oneof![1 => Just(None), 4 => open_week.prop_map(Some)]
}

/// Days after the start's local date; 0 (the start's own date) often, -1 now and then.
fn holiday_offsets() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(prop_oneof![1 => Just(0i64), 4 => -1i64..=21], 0..=6)
}

/// How the target is picked once the rest of the case is known: anywhere (a seed reduced
/// modulo the largest target), or exactly at one of the next closing times, where a `>`
/// in place of a `>=` would move the answer to the next opening.
#[derive(Clone, Debug)]
enum Target {
    Anywhere(i32),
    AtClosing(usize),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => (0..MAX_MINUTES).prop_map(Target::Anywhere),
        1 => (0..60).prop_map(Target::Anywhere),
        2 => (0..40usize).prop_map(Target::AtClosing),
    ]
}

fn weekly_minutes(week: Option<&Week>) -> i32 {
    week.map_or(7 * 1440, |week| week.iter().flatten().map(|(open, close)| close - open).sum())
}

/// Business minutes from the start to each of the next closing times, up to `most`.
fn closing_targets(case: &Case, most: i32) -> Vec<i32> {
    let spans = spans_near(case).unwrap_or_default();
    let mut elapsed = 0;
    spans
        .iter()
        .filter(|&&(_, close)| close > case.start)
        .map(|&(open, close)| {
            elapsed += (close - open.max(case.start)).num_minutes();
            elapsed
        })
        .map_while(|minutes| i32::try_from(minutes).ok().filter(|&minutes| minutes <= most))
        .collect()
}

/// At most three nominal weeks of business time: with at most six holidays in the first
/// three weeks and one clock change, that fits in the oracle's horizon.
fn target_minutes(case: &Case, target: &Target) -> i32 {
    let most = (3 * weekly_minutes(case.week.as_ref())).clamp(1, MAX_MINUTES);
    match *target {
        Target::Anywhere(seed) => 1 + seed % most,
        Target::AtClosing(index) => {
            let closings = closing_targets(case, most);
            closings.get(index % closings.len().max(1)).copied().unwrap_or(most)
        }
    }
}

// The target is derived in a plain map (not a flat map) so that shrinking any part keeps
// the relation between the target and the hours.
fn cases(zone_and_start: impl Strategy<Value = (Tz, DateTime<Utc>)>) -> impl Strategy<Value = Case> {
    (zone_and_start, week(), holiday_offsets(), target()).prop_map(|((zone, start), week, offsets, target)| {
        let local_start = start.with_timezone(&zone).date_naive();
        let holidays = offsets.iter().map(|&days| local_start + Duration::days(days)).collect();
        let mut case = Case { zone, week, holidays, start, minutes: 1 };
        case.minutes = target_minutes(&case, &target);
        case
    })
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

#[test]
fn agrees_with_the_oracle_from_any_start() {
    check(150, cases(any_zone_and_start()));
}

#[test]
fn agrees_with_the_oracle_around_clock_changes() {
    check(350, cases(zone_and_start_near_a_change()));
}

/// The generator's clock changes are the real ones, or the DST-heavy share would test
/// ordinary days.
#[test]
fn clock_changes_are_found_to_the_minute() {
    let new_york: Vec<String> = clock_changes(America::New_York).iter().map(DateTime::to_rfc3339).collect();
    assert_eq!(new_york[..2], ["2025-03-09T07:00:00+00:00", "2025-11-02T06:00:00+00:00"]);
    assert_eq!(new_york.len(), 6);
    let lord_howe = clock_changes(Australia::Lord_Howe);
    assert_eq!(lord_howe.first().map(DateTime::to_rfc3339).as_deref(), Some("2025-04-05T15:00:00+00:00"));
    assert!(clock_changes(Asia::Kolkata).is_empty() && clock_changes(America::Sao_Paulo).is_empty());
}

// ---------------------------------------------------------------------------------------
// Worked examples: each answer computed by hand, asked of the oracle and of the SQL
// ---------------------------------------------------------------------------------------

fn utc(instant: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(instant).expect("a valid RFC 3339 instant").with_timezone(&Utc)
}

fn date(day: &str) -> NaiveDate {
    day.parse().expect("a valid date")
}

/// Hours on one weekday only, in minutes of the local day.
fn only(weekday: Weekday, spans: &[(i32, i32)]) -> Option<Week> {
    let mut week = Week::default();
    week[weekday.num_days_from_monday() as usize] = spans.to_vec();
    Some(week)
}

fn office_hours() -> Option<Week> {
    let mut week = Week::default();
    week[..5].fill(vec![(9 * 60, 17 * 60)]);
    Some(week)
}

async fn expect_due(client: &Client, case: Case, due: &str) {
    let due = utc(due);
    assert_eq!(oracle(&case), Some(Outcome::Due(due)), "oracle, {case:?}");
    assert_eq!(sql_due(client, &case).await.expect("sla_business_add"), Some(due), "SQL, {case:?}");
}

async fn database() -> (TestDb, Client) {
    let db = TestDb::create().await;
    let client = db.connect().await;
    (db, client)
}

/// 2025-03-09: 02:00 EST becomes 03:00 EDT; 01:00–04:00 holds two real hours.
#[tokio::test]
async fn new_york_spring_forward_day_is_an_hour_short() {
    let (_db, client) = database().await;
    let start = utc("2025-03-09T05:00:00Z"); // 00:00 EST
    let case = |week, minutes| Case { zone: America::New_York, week, holidays: vec![], start, minutes };
    let night = only(Sun, &[(60, 240)]);
    expect_due(&client, case(night.clone(), 60), "2025-03-09T07:00:00Z").await; // 03:00 EDT
    expect_due(&client, case(night.clone(), 120), "2025-03-09T08:00:00Z").await; // closing time
    expect_due(&client, case(night, 121), "2025-03-16T05:01:00Z").await; // next Sunday 01:01 EDT
    // Opening at the skipped 02:30 opens at the jump, 03:00 EDT.
    expect_due(&client, case(only(Sun, &[(150, 240)]), 30), "2025-03-09T07:30:00Z").await;
}

/// 2025-11-02: 02:00 EDT becomes 01:00 EST; 01:00–02:00 runs from the first 01:00 to the
/// only 02:00, 120 real minutes.
#[tokio::test]
async fn new_york_fall_back_hour_counts_twice() {
    let (_db, client) = database().await;
    let case = |start, minutes| Case {
        zone: America::New_York,
        week: only(Sun, &[(60, 120)]),
        holidays: vec![],
        start: utc(start),
        minutes,
    };
    expect_due(&client, case("2025-11-02T04:00:00Z", 90), "2025-11-02T06:30:00Z").await; // the second 01:30
    expect_due(&client, case("2025-11-02T04:00:00Z", 120), "2025-11-02T07:00:00Z").await;
    expect_due(&client, case("2025-11-02T04:00:00Z", 121), "2025-11-09T06:01:00Z").await;
    // Starting in the repeated hour leaves only what is left of it.
    expect_due(&client, case("2025-11-02T06:30:00Z", 30), "2025-11-02T07:00:00Z").await;
}

/// Christmas 2025 is a Thursday: the Wednesday's last hour, then Friday's first.
#[tokio::test]
async fn a_christmas_holiday_is_skipped() {
    let (_db, client) = database().await;
    let case = |start, holidays, minutes| Case {
        zone: America::New_York,
        week: office_hours(),
        holidays,
        start: utc(start),
        minutes,
    };
    let christmas = || vec![date("2025-12-25")];
    expect_due(&client, case("2025-12-24T21:00:00Z", christmas(), 120), "2025-12-26T15:00:00Z").await;
    expect_due(&client, case("2025-12-24T21:00:00Z", vec![], 120), "2025-12-25T15:00:00Z").await;
    // A start on the holiday itself waits for the next business day.
    expect_due(&client, case("2025-12-25T15:00:00Z", christmas(), 60), "2025-12-26T15:00:00Z").await;
}

/// Around the clock, business minutes are real minutes, clock changes or not.
#[tokio::test]
async fn around_the_clock_is_start_plus_minutes() {
    let (_db, client) = database().await;
    let case =
        |start, holidays, minutes| Case { zone: America::New_York, week: None, holidays, start: utc(start), minutes };
    expect_due(&client, case("2025-03-08T12:34:00Z", vec![], 5000), "2025-03-11T23:54:00Z").await;
    // A holiday far away makes the SQL walk the days instead of adding directly.
    let far = || vec![date("2026-01-01")];
    expect_due(&client, case("2025-03-08T12:00:00Z", far(), 2880), "2025-03-10T12:00:00Z").await;
    expect_due(&client, case("2025-11-01T12:00:00Z", far(), 2880), "2025-11-03T12:00:00Z").await;
    // A holiday on the start's own date: nothing until its local midnight, 00:00 EDT.
    expect_due(&client, case("2025-07-04T16:00:00Z", vec![date("2025-07-04")], 60), "2025-07-05T05:00:00Z").await;
}

/// Lord Howe moves its clocks by 30 minutes: +10:30 in winter, +11:00 in summer.
#[tokio::test]
async fn lord_howe_shifts_by_half_an_hour() {
    let (_db, client) = database().await;
    let case =
        |week, start, minutes| Case { zone: Australia::Lord_Howe, week, holidays: vec![], start: utc(start), minutes };
    // 2025-10-05: 02:00 becomes 02:30; 01:00–04:00 holds 150 minutes.
    let spring = "2025-10-04T13:30:00Z"; // 00:00 +10:30
    expect_due(&client, case(only(Sun, &[(60, 240)]), spring, 150), "2025-10-04T17:00:00Z").await;
    expect_due(&client, case(only(Sun, &[(60, 240)]), spring, 151), "2025-10-11T14:01:00Z").await;
    // Opening at the skipped 02:15 opens at the jump, 02:30 +11:00.
    expect_due(&client, case(only(Sun, &[(135, 180)]), spring, 30), "2025-10-04T16:00:00Z").await;
    // 2025-04-06: 02:00 becomes 01:30; 01:00–03:00 holds 150 minutes.
    let autumn = "2025-04-05T13:00:00Z"; // 00:00 +11:00
    expect_due(&client, case(only(Sun, &[(60, 180)]), autumn, 75), "2025-04-05T15:15:00Z").await; // the second 01:45
    expect_due(&client, case(only(Sun, &[(60, 180)]), autumn, 150), "2025-04-05T16:30:00Z").await;
    // Opening at the repeated 01:45 opens at its first occurrence, +11:00.
    expect_due(&client, case(only(Sun, &[(105, 180)]), autumn, 105), "2025-04-05T16:30:00Z").await;
}
