//! Webhook endpoints, managed by a tenant's admins: register (the URL checked against
//! SSRF), change, remove, rotate the signing secret, send a test event, read the delivery
//! log and redeliver.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::webhook_dispatch;
use crate::{
    db::webhooks::{self as webhooks_db, NewWebhook, WebhookChanges},
    error::Error,
    ids::{DeliveryId, EventId, WebhookId},
    model::{CreatedWebhook, EventSubscription, RotatedSecret, Webhook, WebhookDelivery},
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
    webhooks::{self, ROTATION_OVERLAP, target},
};

const ALL_EVENTS: &str = "*";
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateWebhookInput {
    /// Where deliveries are posted: `https` (plain `http` only in local development), a
    /// host that resolves to public addresses only.
    #[validate(length(min = 8, max = 2048, message = "must be 8 to 2048 characters"))]
    #[schema(min_length = 8, max_length = 2048, pattern = r"^https?://")]
    pub url: String,
    /// Event types to post, or `["*"]` for all of them.
    #[validate(length(min = 1, max = 20, message = "must name 1 to 20 event types"))]
    #[schema(min_items = 1, max_items = 20)]
    pub events: Vec<EventSubscription>,
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateWebhookInput {
    #[validate(length(min = 8, max = 2048, message = "must be 8 to 2048 characters"))]
    #[schema(min_length = 8, max_length = 2048, pattern = r"^https?://")]
    pub url: Option<String>,
    #[validate(length(min = 1, max = 20, message = "must name 1 to 20 event types"))]
    #[schema(min_items = 1, max_items = 20)]
    pub events: Option<Vec<EventSubscription>>,
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `false` stops deliveries; `true` resumes them (and forgets past failures).
    pub active: Option<bool>,
}

/// `*` alone, or distinct types.
fn event_list(names: Vec<EventSubscription>) -> Result<Vec<String>, Error> {
    let mut events: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !events.iter().any(|e| e == name.as_str()) {
            events.push(name.as_str().to_owned());
        }
    }
    if events.len() > 1 && events.iter().any(|e| e == ALL_EVENTS) {
        return Err(Error::validation("events", "`*` already names every type: send it alone"));
    }
    Ok(events)
}

/// Refuses a URL that is malformed, not `https` in production, or whose host resolves to
/// an address a tenant must not make us reach (422 on `url`).
async fn checked_url(state: &AppState, raw: &str) -> Result<String, Error> {
    let policy = webhook_dispatch::target_policy(state);
    let invalid = |e: target::TargetError| Error::validation("url", e.to_string());
    let url = target::parse(raw, &policy).map_err(invalid)?;
    target::resolve(&url, &policy).await.map_err(invalid)?;
    Ok(url.to_string())
}

pub async fn create(state: &AppState, caller: &Credential, input: CreateWebhookInput) -> Result<CreatedWebhook, Error> {
    // The caller first: only an admin of an active account learns what a host resolves to.
    // The transaction holds no lock while the host is resolved (at most 3 s).
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let events = event_list(input.events)?;
    let url = checked_url(state, &input.url).await?;
    let secret = webhooks::new_secret();
    let new = NewWebhook {
        id: WebhookId::generate(),
        url: &url,
        events: &events,
        description: input.description.as_deref().map(str::trim).unwrap_or_default(),
        secret: &secret,
    };
    let webhook = webhooks_db::manager::create(&tx, principal.tenant_id, &new).await?;
    if let Some(entry) = tx.audit() {
        entry.target("webhook", webhook.id.0);
    }
    tx.commit().await?;
    Ok(CreatedWebhook { webhook, secret })
}

pub async fn list(state: &AppState, caller: &Credential, page: PageRequest) -> Result<Page<Webhook>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let rows = webhooks_db::manager::list(&tx, principal.tenant_id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |w| w.id.0))
}

pub async fn update(
    state: &AppState,
    caller: &Credential,
    id: WebhookId,
    input: UpdateWebhookInput,
) -> Result<Webhook, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let events = input.events.map(event_list).transpose()?;
    let url = match &input.url {
        Some(raw) => Some(checked_url(state, raw).await?),
        None => None,
    };
    let description = input.description.as_deref().map(str::trim);
    let changes = WebhookChanges { url: url.as_deref(), events: events.as_deref(), description, active: input.active };
    let webhook = webhooks_db::manager::update(&tx, principal.tenant_id, id, &changes).await?;
    tx.commit().await?;
    Ok(webhook)
}

pub async fn delete(state: &AppState, caller: &Credential, id: WebhookId) -> Result<(), Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    webhooks_db::manager::delete(&tx, principal.tenant_id, id).await?;
    tx.commit().await
}

pub async fn rotate_secret(state: &AppState, caller: &Credential, id: WebhookId) -> Result<RotatedSecret, Error> {
    let secret = webhooks::new_secret();
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    webhooks_db::manager::rotate_secret(&tx, principal.tenant_id, id, &secret, ROTATION_OVERLAP).await?;
    tx.commit().await?;
    Ok(RotatedSecret { secret })
}

/// Queues a `webhook.test` delivery to the endpoint, active or not, and hands it to the
/// dispatcher.
pub async fn test(state: &AppState, caller: &Credential, id: WebhookId) -> Result<WebhookDelivery, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let event = EventId::generate();
    let payload = webhook_dispatch::body(TEST_EVENT, chrono::Utc::now(), json!({"webhookId": id}));
    let delivery = webhooks_db::manager::enqueue(&tx, tenant, id, event, TEST_EVENT, &payload).await?;
    tx.commit().await?;
    webhook_dispatch::hand_over(state, tenant, &[delivery.id]).await;
    Ok(delivery)
}

/// The endpoint's deliveries, newest first.
pub async fn deliveries(
    state: &AppState,
    caller: &Credential,
    id: WebhookId,
    page: PageRequest,
) -> Result<Page<WebhookDelivery>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let rows = webhooks_db::manager::deliveries(&tx, principal.tenant_id, id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |d| d.id.0))
}

/// Makes the delivery due now, whatever its status, and hands it to the dispatcher.
pub async fn redeliver(
    state: &AppState,
    caller: &Credential,
    webhook: WebhookId,
    id: DeliveryId,
) -> Result<WebhookDelivery, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let delivery = webhooks_db::manager::redeliver(&tx, tenant, webhook, id).await?;
    tx.commit().await?;
    webhook_dispatch::hand_over(state, tenant, &[delivery.id]).await;
    Ok(delivery)
}
