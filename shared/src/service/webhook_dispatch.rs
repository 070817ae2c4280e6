//! Getting deliveries to their endpoints: fan-out of consumed events, hand-over to the
//! dispatcher's queue, one attempt per lease, retries on `WEBHOOK_RETRY_SCHEDULE`, and
//! deactivation of an endpoint that keeps failing.
//!
//! A delivery row is the truth; queue messages only say "look at this row". The
//! dispatcher leases a due row before posting it, so duplicate messages (a re-drive, a
//! retry) never post twice, and a lost message only delays a delivery until the sweeper
//! re-drives due rows. A retry due within SQS's 15-minute delay goes back on the queue
//! delayed; a later one waits for the re-drive.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    db::webhooks::{self as webhooks_db, Leased, Outcome},
    error::Error,
    ids::{DeliveryId, TenantId},
    mail::Mail,
    model::DeliveryStatus,
    state::AppState,
    webhooks::{
        self, DELIVERY_TIMEOUT, DISABLE_AFTER_FAILING_FOR, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sender,
        target::{self, TargetPolicy},
    },
};

/// Deliveries posted at once by one dispatcher: a slow receiver holds one slot for at
/// most [`DELIVERY_TIMEOUT`], never the others.
pub const CONCURRENCY: usize = 8;
/// How long a dispatcher holds a delivery it is posting.
const LEASE: Duration = Duration::from_secs(DELIVERY_TIMEOUT.as_secs() + 20);
/// A due delivery older than this has lost its message (or never had one): re-drive it.
const REDRIVE_AFTER: Duration = Duration::from_secs(60);
/// A re-driven delivery is not re-driven again before this.
const REQUEUE: Duration = Duration::from_secs(5 * 60);

/// The body of a dispatcher queue message.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryMessage {
    pub tenant_id: TenantId,
    pub delivery_id: DeliveryId,
}

pub fn target_policy(state: &AppState) -> TargetPolicy {
    TargetPolicy {
        allow_private: state.config.webhooks.allow_private_targets,
        require_https: state.config.is_production(),
    }
}

/// What a delivery posts: `{type, timestamp, data}`.
pub fn body(event_type: &str, timestamp: DateTime<Utc>, data: Value) -> Value {
    json!({"type": event_type, "timestamp": timestamp, "data": data})
}

/// Tells the dispatcher about new or newly due deliveries. Never fails its caller: a
/// message that is not sent leaves a due row the sweeper re-drives. Without a queue
/// (`crm-local`), its own dispatcher loop finds due rows.
pub async fn hand_over(state: &AppState, tenant: TenantId, ids: &[DeliveryId]) {
    let due: Vec<(TenantId, DeliveryId, Duration)> = ids.iter().map(|id| (tenant, *id, Duration::ZERO)).collect();
    send(state, &due).await;
}

/// One message per delivery, each hidden for its delay, sent in batches.
async fn send(state: &AppState, deliveries: &[(TenantId, DeliveryId, Duration)]) {
    let Some(queue) = &state.events.webhook_queue else {
        return;
    };
    if deliveries.is_empty() {
        return;
    }
    let messages: Vec<(String, Duration)> = deliveries
        .iter()
        .map(|(tenant, id, delay)| {
            (json!(DeliveryMessage { tenant_id: *tenant, delivery_id: *id }).to_string(), *delay)
        })
        .collect();
    if let Err(e) = queue.send_messages(&messages).await {
        tracing::warn!(error = %e, count = messages.len(), "deliveries not handed over; the sweeper will re-drive them");
    }
}

/// The dispatcher function: one attempt per message. A message fails (and SQS retries
/// it) only when the database is unreachable; a receiver's failure is the delivery's,
/// recorded and retried on the schedule.
pub async fn dispatch_batch(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let results: Vec<(String, Result<(), Error>)> = stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let parsed = record
                .body
                .as_deref()
                .ok_or_else(|| Error::MalformedBody("a delivery message without a body".into()))
                .and_then(|b| {
                    serde_json::from_str::<DeliveryMessage>(b)
                        .map_err(|e| Error::MalformedBody(format!("not a delivery message: {e}")))
                });
            let result = match parsed {
                Ok(m) => deliver(state, m.tenant_id, m.delivery_id).await,
                Err(e) => Err(e),
            };
            (id, result)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(message_id = %id, error = %e, "delivery message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// The sweeper: sends due deliveries whose message may be lost to the dispatcher's queue.
pub async fn redrive(state: &AppState, limit: i32) -> Result<usize, Error> {
    if state.events.webhook_queue.is_none() {
        return Ok(0);
    }
    let tx = state.db.begin_unscoped().await?;
    let due = webhooks_db::manager::redrive(&tx, REDRIVE_AFTER, limit, REQUEUE).await?;
    tx.commit().await?;
    let messages: Vec<(TenantId, DeliveryId, Duration)> =
        due.iter().map(|(tenant, id)| (*tenant, *id, Duration::ZERO)).collect();
    send(state, &messages).await;
    Ok(due.len())
}

/// `crm-local` without a queue: every delivery due now that nobody is posting, for its
/// dispatcher loop to [`deliver`]. A picked delivery is not picked again for a second,
/// time enough for its task to lease it; one picked twice is posted once all the same.
pub async fn due_now(state: &AppState, limit: i32) -> Result<Vec<(TenantId, DeliveryId)>, Error> {
    let tx = state.db.begin_unscoped().await?;
    let due = webhooks_db::manager::redrive(&tx, Duration::ZERO, limit, Duration::from_secs(1)).await?;
    tx.commit().await?;
    Ok(due)
}

/// One attempt at one delivery, if it is due and nobody else holds it.
pub async fn deliver(state: &AppState, tenant: TenantId, id: DeliveryId) -> Result<(), Error> {
    let tx = state.db.begin_for(tenant).await?;
    let leased = webhooks_db::manager::lease(&tx, tenant, id, LEASE).await?;
    tx.commit().await?;
    let Some(leased) = leased else {
        return Ok(());
    };
    let (outcome, retry) = attempt(state, &leased).await;
    let next_attempt_at = retry.map(|wait| Utc::now() + wait);
    let status = match (outcome.succeeded(), retry) {
        (true, _) => DeliveryStatus::Succeeded,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    let record = Outcome {
        status,
        response_status: outcome.status.map(i32::from),
        duration_ms: outcome.duration_ms,
        error: outcome.error.as_deref(),
        next_attempt_at,
    };
    let webhooks = &state.config.webhooks;
    let tx = state.db.begin_for(tenant).await?;
    let recorded = webhooks_db::manager::record(
        &tx,
        tenant,
        id,
        &record,
        webhooks.disable_after_failures,
        DISABLE_AFTER_FAILING_FOR,
    )
    .await?;
    let admins = match &recorded {
        Some(r) if r.deactivated => webhooks_db::manager::admin_addresses(&tx, tenant).await?,
        _ => Vec::new(),
    };
    tx.commit().await?;
    if let Some(wait) = retry.filter(|wait| *wait <= crate::events::sqs::MAX_DELAY) {
        send(state, &[(tenant, id, wait)]).await;
    }
    if let Some(recorded) = recorded.filter(|r| r.deactivated) {
        tracing::warn!(tenant_id = %tenant, webhook_id = %leased.webhook_id, "webhook endpoint deactivated after failing");
        mail_admins(state, &admins, &recorded.url).await;
    }
    Ok(())
}

/// Posts the delivery once; answers the outcome and, if it failed and the schedule has a
/// step left, how long to wait before the next attempt.
async fn attempt(state: &AppState, leased: &Leased) -> (sender::Outcome, Option<Duration>) {
    let schedule = &state.config.webhooks.retry_schedule;
    let retry_after =
        |leased: &Leased| usize::try_from(leased.attempt).ok().and_then(|made| schedule.get(made)).copied();
    let refused = |error: String| sender::Outcome { status: None, duration_ms: 0, error: Some(error) };
    // A test event checks an endpoint before an admin reactivates it.
    if !leased.active && leased.event_type != super::webhooks::TEST_EVENT {
        return (refused("the endpoint is inactive".into()), None);
    }
    let policy = target_policy(state);
    let url = match target::parse(&leased.url, &policy) {
        Ok(url) => url,
        Err(e) => return (refused(e.to_string()), None),
    };
    // Checked now, not only at registration (DNS changes); a refused address is final.
    let started = Instant::now();
    let addrs = match target::resolve(&url, &policy).await {
        Ok(addrs) => addrs,
        Err(e @ target::TargetError::Forbidden { .. }) => return (refused(e.to_string()), None),
        Err(e) => {
            let mut outcome = refused(e.to_string());
            outcome.duration_ms = elapsed_ms(started);
            return (outcome, retry_after(leased));
        }
    };
    let body = leased.payload.to_string();
    let timestamp = Utc::now().timestamp();
    let mut secrets = vec![leased.secret.as_str()];
    secrets.extend(leased.previous_secret.as_deref());
    let signature = match webhooks::signature(&secrets, &leased.event_id.to_string(), timestamp, body.as_bytes()) {
        Ok(signature) => signature,
        Err(e) => {
            tracing::error!(error = %e, "a delivery could not be signed");
            return (refused("the delivery could not be signed".into()), None);
        }
    };
    let headers = [
        (HEADER_ID, leased.event_id.to_string()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, signature),
    ];
    let outcome = sender::post(sender::Delivery {
        url: &url,
        addrs: &addrs,
        headers: &headers,
        body: body.as_bytes(),
        timeout: DELIVERY_TIMEOUT,
    })
    .await;
    let retry = if outcome.succeeded() { None } else { retry_after(leased) };
    (outcome, retry)
}

fn elapsed_ms(started: Instant) -> i32 {
    i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
}

async fn mail_admins(state: &AppState, admins: &[String], url: &str) {
    for to in admins {
        let mail = Mail {
            to: to.clone(),
            subject: "A webhook endpoint was turned off".into(),
            text: format!(
                "Deliveries to {url} kept failing, so SimpleCRM stopped sending to it.\n\n\
                 Its delivery log says why (GET /api/v1/webhooks/{{id}}/deliveries). Once the \
                 endpoint answers again, send it a test event and set it active again \
                 (PATCH /api/v1/webhooks/{{id}} with {{\"active\": true}}).\n\n{}",
                state.mailer.page("/")
            ),
        };
        if let Err(e) = state.mailer.send(mail).await {
            tracing::warn!(error = %e, "the deactivation mail was not sent");
        }
    }
}
