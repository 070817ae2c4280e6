//! CloudWatch metrics as Embedded Metric Format (EMF) log lines.
//!
//! Code records through the `metrics` facade; `metrics_cloudwatch_embedded` collects and
//! writes one JSON document per dimension set when [`flush`] is called (after each
//! invocation), and CloudWatch Logs turns those lines into metrics without an API call.
//! Without `METRICS_NAMESPACE` no recorder is installed and recording costs nothing.
//!
//! The names below are a contract with `template.yaml` (alarms and dashboard).

use std::sync::OnceLock;

use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

/// Per API route (dimension [`ROUTE`]): answers, 5xx answers, 4xx answers, latency.
pub const REQUESTS: &str = "Requests";
pub const ERRORS: &str = "Errors";
pub const CLIENT_ERRORS: &str = "ClientErrors";
pub const LATENCY: &str = "Latency";
/// The dimension: API Gateway's route key, e.g. `GET /api/v1/tickets/{id}`.
pub const ROUTE: &str = "Route";

pub const TICKETS_CREATED: &str = "TicketsCreated";
pub const EVENTS_PUBLISHED: &str = "EventsPublished";
pub const CONSUMER_PROCESSED: &str = "ConsumerProcessed";
pub const CONSUMER_FAILED: &str = "ConsumerFailed";
pub const SLA_BREACHES: &str = "SlaBreaches";
/// Seconds an event waited between its commit and its publication (sweeper) or its
/// consumption (consumer).
pub const OUTBOX_LAG: &str = "OutboxLag";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for `namespace` once per process; later calls are no-ops.
pub fn init(namespace: &str) {
    if COLLECTOR.get().is_some() {
        return;
    }
    match metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(namespace.to_owned()).init() {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
            describe();
        }
        Err(e) => tracing::warn!(error = %e, "metrics disabled: the recorder could not be installed"),
    }
}

fn describe() {
    metrics::describe_counter!(REQUESTS, Unit::Count, "answers per route");
    metrics::describe_counter!(ERRORS, Unit::Count, "5xx answers per route");
    metrics::describe_counter!(CLIENT_ERRORS, Unit::Count, "4xx answers per route");
    metrics::describe_histogram!(LATENCY, Unit::Milliseconds, "handler latency per route");
    metrics::describe_counter!(TICKETS_CREATED, Unit::Count, "tickets created");
    metrics::describe_counter!(EVENTS_PUBLISHED, Unit::Count, "events sent to the queue");
    metrics::describe_counter!(CONSUMER_PROCESSED, Unit::Count, "events consumed");
    metrics::describe_counter!(CONSUMER_FAILED, Unit::Count, "events the consumer failed");
    metrics::describe_histogram!(OUTBOX_LAG, Unit::Seconds, "commit-to-publication/consumption delay");
}

/// Records one HTTP answer.
pub fn request(route: &str, status: u16, latency_ms: f64) {
    let route = route.to_owned();
    metrics::counter!(REQUESTS, ROUTE => route.clone()).increment(1);
    if status >= 500 {
        metrics::counter!(ERRORS, ROUTE => route.clone()).increment(1);
    } else if status >= 400 {
        metrics::counter!(CLIENT_ERRORS, ROUTE => route.clone()).increment(1);
    }
    metrics::histogram!(LATENCY, ROUTE => route).record(latency_ms);
}

pub fn count(name: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(name).increment(n);
    }
}

pub fn outbox_lag(seconds: f64) {
    metrics::histogram!(OUTBOX_LAG).record(seconds.max(0.0));
}

/// Writes what was recorded since the last flush to stdout, where the Lambda log stream
/// picks it up. Called at the end of every invocation.
pub fn flush() {
    if let Some(collector) = COLLECTOR.get() {
        let out = std::io::stdout().lock();
        if let Err(e) = collector.flush(out) {
            tracing::warn!(error = %e, "metrics not written");
        }
    }
}
