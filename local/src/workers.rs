//! The event pipeline of a local run, standing in for what AWS does around the functions:
//! with `SQS_QUEUE_URL`, the SQS event source mapping (long-poll, hand batches to the
//! consumer, delete what succeeded) and the sweeper's schedule; without it, the embedded
//! pipeline that hands the outbox straight to the consumer. Either way, the pruning of
//! dead rows the sweeper does on each tick in AWS. Webhook deliveries likewise: with
//! `WEBHOOK_QUEUE_URL`, the dispatcher fed from that queue and the sweeper's re-drive;
//! without it, a loop that posts every due delivery in process. And `sla-monitor`'s
//! schedule, every few seconds. Tenant exports: with `EXPORT_QUEUE_URL`, `tenant-export`
//! fed from that queue and the sweeper's re-drive; without it, run in process.

use std::{collections::HashSet, future::Future, sync::Arc, time::Duration};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use crm_core::{
    AppState,
    events::sqs::EventsQueue,
    service::{exports, housekeeping, pipeline, sla, tenancy, webhook_dispatch},
};
use crm_functions::pipeline::{
    EXPORT_REDRIVE_LIMIT, SLA_MONITOR_BUDGET, SWEEP_LIMIT, TENANT_PURGE_BUDGET, consume, dispatch, export,
};
use tokio::{
    sync::{Semaphore, watch},
    task::JoinHandle,
};

/// Locally a few seconds of lag is too long to wait for; AWS runs the sweeper each minute.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
const SWEEP_MIN_AGE: Duration = Duration::from_secs(2);
const EMBEDDED_EVERY: Duration = Duration::from_millis(200);
const POLL_WAIT_SECONDS: i32 = 1;
const EMBEDDED_EXPORTS_EVERY: Duration = Duration::from_millis(500);

/// Starts the workers; each finishes its current batch and stops once `stop` turns true.
pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut workers = vec![
        tokio::spawn(prune_dead_rows(state.clone(), stop.clone())),
        tokio::spawn(monitor_sla(state.clone(), stop.clone())),
    ];
    if state.events.queue.is_some() {
        workers.push(tokio::spawn(poll_queue(state.clone(), stop.clone())));
        workers.push(tokio::spawn(sweep_outbox(state.clone(), stop.clone())));
    } else {
        workers.push(tokio::spawn(dispatch_embedded(state.clone(), stop.clone())));
    }
    if state.events.export_queue.is_some() {
        workers.push(tokio::spawn(poll_export_queue(state.clone(), stop.clone())));
        workers.push(tokio::spawn(redrive_exports(state.clone(), stop.clone())));
    } else {
        workers.push(tokio::spawn(run_exports_embedded(state.clone(), stop.clone())));
    }
    if state.events.webhook_queue.is_some() {
        workers.push(tokio::spawn(poll_webhook_queue(state.clone(), stop.clone())));
        workers.push(tokio::spawn(redrive_deliveries(state, stop)));
    } else {
        workers.push(tokio::spawn(deliver_embedded(state, stop)));
    }
    workers
}

/// Batches handed to the consumer at once. AWS's event source mapping polls with several
/// pollers and invokes the consumer concurrently; here it keeps the next receive and the
/// last delete off the consumer's path, and no message waits received but unprocessed
/// for more than this many batches.
const BATCHES_IN_FLIGHT: usize = 3;

async fn poll_queue(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(queue) = &state.events.queue else {
        return;
    };
    let in_flight = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    while !*stop.borrow() {
        let slot = tokio::select! {
            slot = in_flight.clone().acquire_owned() => slot,
            _ = stop.changed() => break,
        };
        let Ok(slot) = slot else { break };
        let records = tokio::select! {
            received = queue.receive(POLL_WAIT_SECONDS) => received,
            _ = stop.changed() => break,
        };
        match records {
            Ok(records) if records.is_empty() => {}
            Ok(records) => {
                let state = state.clone();
                tokio::spawn(async move {
                    consume_batch(&state, records).await;
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "events queue unreachable; retrying");
                pause(&mut stop, Duration::from_secs(1)).await;
            }
        }
    }
    // Stopping lets the batches in flight finish, as a Lambda invocation would.
    let _ = in_flight.acquire_many(BATCHES_IN_FLIGHT as u32).await;
}

/// One invocation of the consumer, and what the event source mapping does with its answer:
/// deletes what succeeded; failures reappear after their visibility timeout and, past
/// maxReceiveCount, move to the dead-letter queue.
async fn consume_batch(state: &AppState, records: Vec<SqsMessage>) {
    let Some(queue) = &state.events.queue else {
        return;
    };
    let mut event = SqsEvent::default();
    event.records = records;
    let receipts: Vec<(String, String)> =
        event.records.iter().filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?))).collect();
    let response = consume(state.clone(), event).await;
    let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    let done: Vec<String> =
        receipts.into_iter().filter(|(id, _)| !failed.contains(id.as_str())).map(|(_, r)| r).collect();
    if let Err(e) = queue.delete(&done).await {
        tracing::warn!(error = %e, "could not delete consumed messages; they will be redelivered and deduplicated");
    }
}

async fn sweep_outbox(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(queue) = &state.events.queue else {
        return;
    };
    while !*stop.borrow() {
        if let Err(e) = pipeline::sweep(&state, queue, SWEEP_MIN_AGE, SWEEP_LIMIT).await {
            tracing::warn!(error = %e, "outbox sweep failed; retrying");
        }
        pause(&mut stop, SWEEP_EVERY).await;
    }
}

async fn dispatch_embedded(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match pipeline::dispatch_embedded(&state, SWEEP_LIMIT).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "embedded event dispatch failed; retrying"),
        }
        pause(&mut stop, EMBEDDED_EVERY).await;
    }
}

/// The webhook queue's event source mapping: batches to the dispatcher, what succeeded deleted.
async fn poll_webhook_queue(state: AppState, stop: watch::Receiver<bool>) {
    let events = state.events.clone();
    let Some(queue) = &events.webhook_queue else {
        return;
    };
    poll_into(state, queue, stop, "webhook", dispatch).await;
}

/// The export queue's event source mapping: each message to `tenant-export`.
async fn poll_export_queue(state: AppState, stop: watch::Receiver<bool>) {
    let events = state.events.clone();
    let Some(queue) = &events.export_queue else {
        return;
    };
    poll_into(state, queue, stop, "export", export).await;
}

/// An event source mapping: long-polls `queue`, hands each batch to `handler`, deletes
/// the messages it did not report failed.
async fn poll_into<F, Fut>(
    state: AppState,
    queue: &EventsQueue,
    mut stop: watch::Receiver<bool>,
    name: &str,
    handler: F,
) where
    F: Fn(AppState, SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    while !*stop.borrow() {
        let records = tokio::select! {
            received = queue.receive(POLL_WAIT_SECONDS) => received,
            _ = stop.changed() => break,
        };
        match records {
            Ok(records) if records.is_empty() => {}
            Ok(records) => {
                let receipts: Vec<(String, String)> =
                    records.iter().filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?))).collect();
                let mut event = SqsEvent::default();
                event.records = records;
                let response = handler(state.clone(), event).await;
                let failed: HashSet<&str> =
                    response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
                let done: Vec<String> =
                    receipts.into_iter().filter(|(id, _)| !failed.contains(id.as_str())).map(|(_, r)| r).collect();
                if let Err(e) = queue.delete(&done).await {
                    tracing::warn!(queue = name, error = %e, "could not delete messages; their leases make them no-ops");
                }
            }
            Err(e) => {
                tracing::warn!(queue = name, error = %e, "queue unreachable; retrying");
                pause(&mut stop, Duration::from_secs(1)).await;
            }
        }
    }
}

/// Without an export queue: every unfinished export, run here as soon as it is seen.
async fn run_exports_embedded(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match exports::due(&state, Duration::ZERO, EXPORT_REDRIVE_LIMIT).await {
            Ok(due) => {
                for (tenant, id) in due {
                    if let Err(e) = Box::pin(exports::run(&state, tenant, id)).await {
                        tracing::warn!(error = %e, export_id = %id, "export failed; retrying");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "finding exports failed; retrying"),
        }
        pause(&mut stop, EMBEDDED_EXPORTS_EVERY).await;
    }
}

/// With an export queue: the sweeper's re-drive of exports whose message was lost.
async fn redrive_exports(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = exports::redrive(&state, EXPORT_REDRIVE_LIMIT).await {
            tracing::warn!(error = %e, "export re-drive failed; retrying");
        }
        pause(&mut stop, SWEEP_EVERY).await;
    }
}

async fn redrive_deliveries(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = webhook_dispatch::redrive(&state, SWEEP_LIMIT).await {
            tracing::warn!(error = %e, "webhook re-drive failed; retrying");
        }
        pause(&mut stop, SWEEP_EVERY).await;
    }
}

/// Posts due deliveries in process, each in its own task (at most
/// [`webhook_dispatch::CONCURRENCY`] at once), so a slow receiver holds up no other.
async fn deliver_embedded(state: AppState, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(webhook_dispatch::CONCURRENCY));
    while !*stop.borrow() {
        // Wait for a free slot, then take as many due deliveries as there are free slots;
        // idle only when nothing is due.
        let Ok(first) = slots.clone().acquire_owned().await else { return };
        let free = slots.available_permits() + 1;
        let due = match webhook_dispatch::due_now(&state, free as i32).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "finding due webhook deliveries failed; retrying");
                Vec::new()
            }
        };
        if due.is_empty() {
            drop(first);
            pause(&mut stop, EMBEDDED_EVERY).await;
            continue;
        }
        let mut first = Some(first);
        for (tenant, id) in due {
            let slot = match first.take() {
                Some(slot) => slot,
                None => match slots.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
            };
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = webhook_dispatch::deliver(&state, tenant, id).await {
                    tracing::warn!(error = %e, "webhook delivery failed; retrying");
                }
                drop(slot);
            });
        }
    }
    let _ = slots.acquire_many(webhook_dispatch::CONCURRENCY as u32).await;
}

async fn prune_dead_rows(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = housekeeping::prune(&state, housekeeping::PRUNE_BATCH).await {
            tracing::warn!(error = %e, "pruning dead rows failed; retrying");
        }
        if let Err(e) = housekeeping::expire_stale_uploads(&state, housekeeping::PRUNE_BATCH).await {
            tracing::warn!(error = %e, "expiring stale uploads failed; retrying");
        }
        if let Err(e) = tenancy::purge(&state, TENANT_PURGE_BUDGET, tenancy::PURGE_AFTER).await {
            tracing::warn!(error = %e, "deleting tenants failed; retrying");
        }
        pause(&mut stop, SWEEP_EVERY).await;
    }
}

/// `sla-monitor`'s schedule: every minute in AWS, every few seconds here.
async fn monitor_sla(state: AppState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = sla::monitor(&state, SLA_MONITOR_BUDGET).await {
            tracing::warn!(error = %e, "the SLA monitor failed; retrying");
        }
        pause(&mut stop, SWEEP_EVERY).await;
    }
}

/// Sleeps, waking early on stop.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) {
    tokio::select! {
        () = tokio::time::sleep(duration) => {}
        _ = stop.changed() => {}
    }
}
