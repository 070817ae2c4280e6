//! Webhook endpoints and their delivery log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{DeliveryId, EventId, WebhookId};

/// An endpoint the tenant's events are posted to, signed per Standard Webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    /// Event types posted to it, or `["*"]` for all.
    pub events: Vec<String>,
    pub description: String,
    /// Inactive endpoints get no deliveries: set by an admin, or by the dispatcher after
    /// the endpoint failed too long (its admins are mailed).
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// `whsec_` and the base64 of 32 random bytes: the HMAC key of `webhook-signature`.
    pub secret: String,
}

/// The endpoint's new signing secret, shown this once. For 24 hours deliveries carry a
/// signature by the new and one by the previous secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RotatedSecret {
    pub secret: String,
}

wire_enum! {
    /// What an endpoint subscribes to: an event type of the feed, or `*` for all of them.
    EventSubscription {
        All => "*",
        TicketCreated => "ticket.created",
        TicketUpdated => "ticket.updated",
        TicketStatusChanged => "ticket.status_changed",
        TicketAssigned => "ticket.assigned",
        TicketSlaBreached => "ticket.sla_breached",
        CommentCreated => "comment.created",
        AttachmentAdded => "attachment.added",
    }
}

wire_enum! {
    /// `PENDING` while attempts remain, then `SUCCEEDED` (a 2xx within 10 s) or `FAILED`.
    DeliveryStatus {
        Pending => "PENDING",
        Succeeded => "SUCCEEDED",
        Failed => "FAILED",
    }
}

/// One event on its way to one endpoint: the last attempt's outcome and when the next is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: DeliveryId,
    /// The `webhook-id` header of every attempt.
    pub event_id: EventId,
    pub event_type: String,
    /// Attempts made so far.
    pub attempt: i32,
    pub status: DeliveryStatus,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub response_status: Option<i32>,
    pub duration_ms: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due; null once SUCCEEDED or FAILED.
    pub next_attempt_at: Option<DateTime<Utc>>,
}
