//! The event pipeline's rules: publish right after commit, sweep what was left behind,
//! and consume events into one notification row per event id. Delivery is at least once
//! (a send whose mark is lost is sent again), so the consumer deduplicates by event id.

use std::{sync::Arc, time::Duration};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;

use serde_json::json;

use super::{ticket_mail, webhook_dispatch};
use crate::{
    db::{notifications as notifications_db, outbox as outbox_db, webhooks as webhooks_db},
    error::Error,
    events::{
        EventPayload, OutboxEvent,
        mailer::{LogMailer, Mailer, Notice},
        sqs::{BATCH, EventsQueue, MAX_VISIBILITY},
    },
    ids::{EventId, TenantId},
    metrics,
    state::AppState,
};

/// The pipeline's clients, built once per container.
pub struct Events {
    /// The SQS events queue; `None` runs the embedded pipeline (`crm-local` without SQS).
    pub queue: Option<EventsQueue>,
    /// The webhook dispatcher's queue; `None` dispatches in process (`crm-local`).
    pub webhook_queue: Option<EventsQueue>,
    /// `tenant-export`'s queue; `None` runs exports in process (`crm-local`).
    pub export_queue: Option<EventsQueue>,
    pub mailer: Arc<dyn Mailer>,
}

impl Events {
    /// The queues at their URLs (the events', the webhook dispatcher's, the exports'), on
    /// `endpoint` when given (moto, LocalStack).
    pub fn new(urls: [Option<&str>; 3], endpoint: Option<&str>) -> Self {
        let [queue, webhook_queue, export_queue] =
            urls.map(|u| u.map(|url| EventsQueue::new(url, endpoint.map(str::to_owned))));
        Self { queue, webhook_queue, export_queue, mailer: Arc::new(LogMailer) }
    }
}

/// Sends events that were just committed and marks them published. Never fails the
/// request that made them: whatever is not sent stays in the outbox for the sweeper.
pub async fn publish_committed(state: &AppState, events: Vec<OutboxEvent>) {
    let Some(queue) = &state.events.queue else {
        return;
    };
    if events.is_empty() {
        return;
    }
    let sent = match queue.send(&events).await {
        Ok(sent) => {
            metrics::count(metrics::EVENTS_PUBLISHED, sent.len() as u64);
            sent
        }
        Err(e) => {
            tracing::warn!(error = %e, count = events.len(), "events stay in the outbox; the sweeper will publish them");
            return;
        }
    };
    if let Err(e) = mark_published(state, &sent).await {
        // Sent but not marked: the sweeper sends them again and the consumer deduplicates.
        tracing::warn!(error = %e, count = sent.len(), "published events not marked; they will be sent again");
    }
}

async fn mark_published(state: &AppState, ids: &[EventId]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox_db::manager::mark_published_alone(&state.db, ids).await
}

/// How long a sweep run keeps the rows it took from other runs: longer than the sweeper
/// function's 30 s timeout, so a live run's rows are never taken twice, and short enough
/// that the rows of a run that died go out again within a minute.
pub const SWEEP_LEASE: Duration = Duration::from_secs(60);

/// Publishes up to `limit` events left unpublished for at least `min_age`, oldest first.
/// The rows are leased in a short transaction of their own, so no row lock is held while
/// SQS is called; each batch SQS accepts is marked published at once, and the first batch
/// call that fails ends the run and gives the unsent rows back to the next one. A run
/// that dies between a send and its mark leaves the rows to be sent again when the lease
/// passes: at least once, deduplicated by the consumer.
pub async fn sweep(state: &AppState, queue: &EventsQueue, min_age: Duration, limit: i32) -> Result<usize, Error> {
    let tx = state.db.begin_unscoped().await?;
    let events = outbox_db::manager::lease_stale(&tx, min_age, limit, SWEEP_LEASE).await?;
    tx.commit().await?;
    // Oldest first: the first leased row is the lag; nothing leased means none beyond `min_age`.
    let lag = events.first().map_or(0.0, |oldest| (Utc::now() - oldest.created_at).as_seconds_f64());
    metrics::outbox_lag(lag);
    let mut published = 0;
    let mut unsent = Vec::new();
    let mut failure = None;
    for batch in events.chunks(BATCH) {
        if failure.is_some() {
            unsent.extend(batch.iter().map(|e| e.id));
            continue;
        }
        match queue.send(batch).await {
            Ok(sent) => {
                metrics::count(metrics::EVENTS_PUBLISHED, sent.len() as u64);
                unsent.extend(batch.iter().map(|e| e.id).filter(|id| !sent.contains(id)));
                if let Err(e) = mark_published(state, &sent).await {
                    // Sent, not marked: sent again when the lease passes; the consumer deduplicates.
                    failure = Some(e);
                    continue;
                }
                published += sent.len();
            }
            Err(e) => {
                unsent.extend(batch.iter().map(|e| e.id));
                failure = Some(e);
            }
        }
    }
    if !unsent.is_empty() {
        if let Err(e) = release(state, &unsent).await {
            tracing::warn!(error = %e, count = unsent.len(), "leases not given back; the rows wait for them to pass");
        }
    }
    if let Some(oldest) = events.first() {
        let lag = (Utc::now() - oldest.created_at).num_milliseconds();
        tracing::info!(published, leased = events.len(), oldest_lag_ms = lag, "outbox swept");
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(published),
    }
}

async fn release(state: &AppState, ids: &[EventId]) -> Result<(), Error> {
    let tx = state.db.begin_unscoped().await?;
    outbox_db::manager::release(&tx, ids).await?;
    tx.commit().await
}

/// Without SQS: hands unpublished events straight to the consumer, in process, and marks
/// those it handled. What fails stays unpublished and is tried again on the next tick.
pub async fn dispatch_embedded(state: &AppState, limit: i32) -> Result<usize, Error> {
    let tx = state.db.begin_unscoped().await?;
    let events = outbox_db::manager::claim_stale(&tx, Duration::ZERO, limit).await?;
    let mut notices = Vec::with_capacity(events.len());
    for event in &events {
        match serde_json::from_value::<EventPayload>(event.payload.clone()).map_err(malformed).and_then(notice) {
            Ok(notice) => notices.push(notice),
            Err(e) => tracing::warn!(event_id = %event.id, error = %e, "event not consumed; will retry"),
        }
    }
    let mut done = Vec::with_capacity(notices.len());
    for (tenant, group) in by_tenant(notices.iter().map(|n| (n.tenant_id, n))) {
        match consume_notices(state, tenant, &group).await {
            Ok(()) => done.extend(group.iter().map(|n| n.event_id)),
            Err(e) => {
                tracing::warn!(tenant_id = %tenant, count = group.len(), error = %e, "events not consumed; will retry")
            }
        }
    }
    outbox_db::manager::mark_published(&tx, &done).await?;
    tx.commit().await?;
    Ok(done.len())
}

/// The consumer. Each tenant's records of the batch are one unit of work (one statement
/// writes their notifications); the response lists only the records that failed, so SQS
/// retries those alone (and dead-letters them after maxReceiveCount).
///
/// A record that fails because a dependency is unavailable (the database down or
/// restarting, the mailer unreachable) says nothing about the record: the rest of the
/// batch is failed untried, and all of them are hidden for longer on each receive
/// ([`backoff`]), so an outage spends a few of the queue's receives instead of every one
/// and the dead-letter queue keeps only messages that fail on their own.
pub async fn consume_batch(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut fail = |record: &SqsMessage| {
        metrics::count(metrics::CONSUMER_FAILED, 1);
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = record.message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(failure);
    };
    let mut readable = Vec::with_capacity(event.records.len());
    for record in &event.records {
        match record_notice(record) {
            Ok(notice) => readable.push((record, notice)),
            Err(e) => {
                tracing::warn!(message_id = ?record.message_id, error = %e, "event record failed");
                fail(record);
            }
        }
    }
    let mut outage: Vec<&SqsMessage> = Vec::new();
    for (tenant, group) in by_tenant(readable.into_iter().map(|(record, notice)| (notice.tenant_id, (record, notice))))
    {
        if outage.is_empty() {
            let notices: Vec<&Notice> = group.iter().map(|(_, notice)| notice).collect();
            match consume_notices(state, tenant, &notices).await {
                Ok(()) => {
                    metrics::count(metrics::CONSUMER_PROCESSED, group.len() as u64);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(tenant_id = %tenant, count = group.len(), error = %e, "event records failed");
                    if matches!(e, Error::Unavailable(_)) {
                        outage.extend(group.iter().map(|(record, _)| *record));
                    }
                }
            }
        } else {
            outage.extend(group.iter().map(|(record, _)| *record));
        }
        for (record, _) in &group {
            fail(record);
        }
    }
    if !outage.is_empty() {
        hide_for_backoff(state, &outage).await;
    }
    response
}

/// Groups `items` by tenant, each group in the order of its items, the groups in the
/// order of their first item: one unit of work per tenant, as row-level security wants.
fn by_tenant<T>(items: impl IntoIterator<Item = (TenantId, T)>) -> Vec<(TenantId, Vec<T>)> {
    let mut groups: Vec<(TenantId, Vec<T>)> = Vec::new();
    for (tenant, item) in items {
        match groups.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, group)) => group.push(item),
            None => groups.push((tenant, vec![item])),
        }
    }
    groups
}

fn record_notice(record: &SqsMessage) -> Result<Notice, Error> {
    let body = record.body.as_deref().ok_or_else(|| Error::MalformedBody("an event message without a body".into()))?;
    notice(serde_json::from_str(body).map_err(malformed)?)
}

fn malformed(e: serde_json::Error) -> Error {
    Error::MalformedBody(format!("not a ticket event: {e}"))
}

fn notice(event: EventPayload) -> Result<Notice, Error> {
    metrics::outbox_lag((Utc::now() - event.occurred_at).as_seconds_f64());
    Ok(Notice {
        tenant_id: event.tenant_id,
        ticket_id: event.ticket_id,
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        message: message(&event)?,
        mail: ticket_mail::mail_of(&event),
        webhook_body: webhook_dispatch::body(
            &event.event_type,
            event.occurred_at,
            json!({
                "ticketId": event.ticket_id,
                "actor": {"type": event.actor_type, "id": event.actor_id},
                "before": event.before,
                "after": event.after,
            }),
        ),
    })
}

/// Writes one tenant's notifications in one statement (once per event id; none for a
/// ticket that is gone) and sends those written now, with their mail, in one
/// transaction: a redelivered event finds its notification written and sends nothing
/// again. A crash or a failed send between sending and committing rolls the notifications
/// back, and the retry sends again: at least once, never lost.
async fn consume_notices(state: &AppState, tenant: TenantId, notices: &[&Notice]) -> Result<(), Error> {
    let tx = state.db.begin_for(tenant).await?;
    let written = notifications_db::manager::record_all(&tx, tenant, notices).await?;
    // One delivery per subscribed endpoint, in the same transaction: a redelivered event
    // adds none, a rolled-back one none either.
    let event_ids: Vec<uuid::Uuid> = notices.iter().map(|n| n.event_id.0).collect();
    let types: Vec<&str> = notices.iter().map(|n| n.event_type.as_str()).collect();
    let bodies: Vec<serde_json::Value> = notices.iter().map(|n| n.webhook_body.clone()).collect();
    let deliveries = webhooks_db::manager::fan_out(&tx, tenant, &event_ids, &types, &bodies).await?;
    for to in &written {
        let Some(notice) = notices.iter().find(|n| n.event_id == to.event_id) else { continue };
        state.events.mailer.send(notice).await?;
        if let Some(mail) = ticket_mail::compose(notice, to, &state.mailer) {
            // Boxed: the SES call's future, nested inside the consumer's, is deeper than
            // the compiler lays out by default.
            Box::pin(state.mailer.send(mail)).await?;
        }
    }
    if written.len() < notices.len() {
        tracing::info!(count = notices.len() - written.len(), "events already consumed, or their tickets gone");
    }
    tx.commit().await?;
    webhook_dispatch::hand_over(state, tenant, &deliveries).await;
    Ok(())
}

/// How long a message that met an outage stays hidden after its `receive_count`th
/// receive: `base` doubled on each receive, at most SQS's 12 h. With the 60 s default and
/// five receives, an outage of a quarter of an hour dead-letters nothing.
pub fn backoff(base: Duration, receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(MAX_VISIBILITY)
}

async fn hide_for_backoff(state: &AppState, records: &[&SqsMessage]) {
    let Some(queue) = &state.events.queue else {
        return;
    };
    let base = Duration::from_secs(state.config.consumer_backoff_secs.into());
    let hidden: Vec<(String, Duration)> = records
        .iter()
        .filter_map(|r| {
            let receives = r.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
            Some((r.receipt_handle.clone()?, backoff(base, receives)))
        })
        .collect();
    tracing::warn!(count = hidden.len(), "a dependency is unavailable; the batch's records back off");
    if let Err(e) = queue.hide(&hidden).await {
        tracing::warn!(error = %e, "backoff not set; the records return after the queue's visibility timeout");
    }
}

fn message(event: &EventPayload) -> Result<String, Error> {
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or("?").to_owned();
    Ok(match event.event_type.as_str() {
        "ticket.created" => format!("Ticket \"{}\" was opened", text(&event.after, "title")),
        "ticket.updated" => {
            let mut fields: Vec<&str> =
                event.after.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            fields.sort_unstable();
            format!("Ticket edited ({})", fields.join(", "))
        }
        "ticket.status_changed" => {
            format!("Ticket status changed from {} to {}", text(&event.before, "status"), text(&event.after, "status"))
        }
        "ticket.assigned" => match event.after.get("assigneeId").and_then(|v| v.as_str()) {
            Some(user) => format!("Ticket assigned to user {user}"),
            None => "Ticket unassigned".to_owned(),
        },
        "attachment.added" => format!("File \"{}\" attached", text(&event.after, "fileName")),
        "ticket.sla_breached" => match event.after.get("kind").and_then(|v| v.as_str()) {
            Some("firstResponse") => "First-response target missed".to_owned(),
            _ => "Resolution target missed".to_owned(),
        },
        "comment.created" => match event.after.get("public").and_then(|v| v.as_bool()) {
            Some(false) => "Internal note added".to_owned(),
            _ => "Public reply added".to_owned(),
        },
        other => {
            return Err(Error::MalformedBody(format!("unknown event type `{other}`")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_receive_up_to_the_sqs_limit() {
        let base = Duration::from_secs(60);
        let hidden: Vec<u64> = (1..=5).map(|n| backoff(base, n).as_secs()).collect();
        assert_eq!(hidden, [60, 120, 240, 480, 960]);
        assert_eq!(backoff(base, 0), base, "a record without its receive count backs off once");
        assert_eq!(backoff(base, 40), MAX_VISIBILITY);
    }
}
