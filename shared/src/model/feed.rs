//! The change feed: every event of a tenant, in one stable order.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    ids::{EventId, TicketId},
    model::ActorType,
};

wire_enum! {
    /// What happened. Webhook deliveries also carry `webhook.test`, which the feed never holds.
    FeedEventType {
        TicketCreated => "ticket.created",
        TicketUpdated => "ticket.updated",
        TicketStatusChanged => "ticket.status_changed",
        TicketAssigned => "ticket.assigned",
        TicketSlaBreached => "ticket.sla_breached",
        CommentCreated => "comment.created",
        AttachmentAdded => "attachment.added",
    }
}

/// Who caused an event: a user of the tenant, one of its API keys, or the service itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventActor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The user's id, or the API key's; null for the service.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub id: Option<uuid::Uuid>,
}

/// One event of the feed, as it was committed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    /// The event id: the same as a webhook delivery's `webhook-id`.
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: FeedEventType,
    pub occurred_at: DateTime<Utc>,
    pub ticket_id: TicketId,
    pub actor: EventActor,
    /// `{before, after}`: the changed fields as they were and as they became (`before` is
    /// null for a creation).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of the feed. Read on with `after=nextCursor`; at `endOfStream` every event
/// committed so far has been handed out, and polling later with the same cursor hands out
/// what committed since, each event exactly once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    /// At most the `limit` asked for, in feed order.
    #[schema(max_items = 1000)]
    pub items: Vec<FeedEvent>,
    /// Where this page ends: pass it as `after`. Never null, so a client can always poll on.
    #[schema(min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$")]
    pub next_cursor: String,
    /// No further event has committed yet.
    pub end_of_stream: bool,
}
