//! The non-HTTP functions of the event pipeline.
//!
//! `ticket-consumer` is fed by the SQS event source mapping with `ReportBatchItemFailures`;
//! `outbox-sweeper` runs on an EventBridge schedule, re-drives webhook deliveries whose
//! message was lost and prunes dead rows on each tick; `webhook-dispatcher` is fed by the
//! webhook queue; `sla-monitor` runs every minute and records breached service levels;
//! `tenant-export` is fed by the export queue, one export per message.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use crm_core::{
    AppState, Error, metrics,
    service::{exports, housekeeping, pipeline, sla, tenancy, webhook_dispatch},
};
use lambda_http::{LambdaEvent, lambda_runtime, service_fn};
use serde_json::{Value, json};

use crate::lambda::{CONSUMER_POOL_SIZE, DISPATCHER_POOL_SIZE, SWEEPER_POOL_SIZE, init};

/// Events younger than this were probably just published by their own request.
pub const SWEEP_MIN_AGE: Duration = Duration::from_secs(5);
/// Work per run is capped (20 send calls of at most 2 s each) so a backlog spreads over
/// the next ticks. That is not a promise to finish inside the 30 s timeout: each batch is
/// marked as soon as it is sent, and a run cut short between a send and its mark leaves
/// that batch to be sent again when its lease passes.
pub const SWEEP_LIMIT: i32 = 200;

pub async fn consume(state: AppState, event: SqsEvent) -> SqsBatchResponse {
    let response = pipeline::consume_batch(&state, event).await;
    state.db.settle().await;
    metrics::flush();
    response
}

pub async fn sweep(state: AppState) -> Result<Value, Error> {
    let queue = state.events.queue.as_ref().ok_or_else(|| Error::Internal("SQS_QUEUE_URL is not set".into()))?;
    let published = pipeline::sweep(&state, queue, SWEEP_MIN_AGE, SWEEP_LIMIT).await;
    let redriven = webhook_dispatch::redrive(&state, SWEEP_LIMIT).await;
    let exports_queued = exports::redrive(&state, EXPORT_REDRIVE_LIMIT).await;
    // Pruning needs only the database: it runs even when SQS does not answer.
    let pruned = housekeeping::prune(&state, housekeeping::PRUNE_BATCH).await;
    let expired = housekeeping::expire_stale_uploads(&state, housekeeping::PRUNE_BATCH).await;
    let tenants_deleted = tenancy::purge(&state, TENANT_PURGE_BUDGET, tenancy::PURGE_AFTER).await;
    state.db.settle().await;
    metrics::flush();
    let (published, redriven, exports_queued, pruned, expired, tenants_deleted) =
        (published?, redriven?, exports_queued?, pruned?, expired?, tenants_deleted?);
    Ok(json!({
        "published": published,
        "redrivenDeliveries": redriven,
        "redrivenExports": exports_queued,
        "pruned": {"refreshTokens": pruned.refresh_tokens, "idempotencyKeys": pruned.idempotency_keys},
        "expiredUploads": expired,
        "tenantsDeleted": tenants_deleted,
    }))
}

/// Exports queued again per sweep: each is a long job, a few at a time is plenty.
pub const EXPORT_REDRIVE_LIMIT: i32 = 20;

/// Deleted tenants' batches stop being taken after this in a sweep, well inside its
/// 30 s timeout; the next tick goes on.
pub const TENANT_PURGE_BUDGET: Duration = Duration::from_secs(10);

/// A monitor run stops taking new batches after this, well inside its 60 s timeout; the
/// next tick goes on where it stopped.
pub const SLA_MONITOR_BUDGET: Duration = Duration::from_secs(30);

pub async fn monitor_sla(state: AppState) -> Result<Value, Error> {
    let run = sla::monitor(&state, SLA_MONITOR_BUDGET).await;
    state.db.settle().await;
    metrics::flush();
    let run = run?;
    Ok(json!({"breaches": run.breaches, "recomputedTickets": run.recomputed}))
}

pub async fn run_sla_monitor() -> Result<(), lambda_runtime::Error> {
    let state = init("sla-monitor", SWEEPER_POOL_SIZE);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let state = state.clone();
        async move { monitor_sla(state).await.map_err(|e| lambda_runtime::Error::from(e.to_string())) }
    }))
    .await
}

pub async fn run_consumer() -> Result<(), lambda_runtime::Error> {
    let state = init("ticket-consumer", CONSUMER_POOL_SIZE);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, lambda_runtime::Error>(consume(state, event.payload).await) }
    }))
    .await
}

/// `webhook-dispatcher`: one attempt per delivery message, a few at once.
pub async fn dispatch(state: AppState, event: SqsEvent) -> SqsBatchResponse {
    let response = webhook_dispatch::dispatch_batch(&state, event).await;
    state.db.settle().await;
    metrics::flush();
    response
}

/// `tenant-export`: runs the exports its messages name.
pub async fn export(state: AppState, event: SqsEvent) -> SqsBatchResponse {
    let response = exports::run_batch(&state, event).await;
    state.db.settle().await;
    metrics::flush();
    response
}

pub async fn run_exporter() -> Result<(), lambda_runtime::Error> {
    let state = init("tenant-export", SWEEPER_POOL_SIZE);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, lambda_runtime::Error>(export(state, event.payload).await) }
    }))
    .await
}

pub async fn run_dispatcher() -> Result<(), lambda_runtime::Error> {
    let state = init("webhook-dispatcher", DISPATCHER_POOL_SIZE);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, lambda_runtime::Error>(dispatch(state, event.payload).await) }
    }))
    .await
}

pub async fn run_sweeper() -> Result<(), lambda_runtime::Error> {
    let state = init("outbox-sweeper", SWEEPER_POOL_SIZE);
    // Whatever the schedule sends (an EventBridge "Scheduled Event", or the Scheduler's
    // own input, `{}` by default): a tick is a tick, and a strict type would fail them all.
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let state = state.clone();
        async move { sweep(state).await.map_err(|e| lambda_runtime::Error::from(e.to_string())) }
    }))
    .await
}
