//! Ticket events on their way out: the outbox row, the SQS adapter that carries it, and
//! the mailer that finally tells people.

pub mod mailer;
pub mod sqs;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ids::{EventId, TenantId, TicketId},
    model::ActorType,
};

/// One outbox row: what the ticket services commit and the publishers send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub event_type: String,
    pub ticket_id: TicketId,
    /// The message body: an [`EventPayload`] as JSON.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The body of an events-queue message, as the ticket services write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPayload {
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub tenant_id: TenantId,
    pub ticket_id: TicketId,
    /// A user's id, or an API key's (`actorType`).
    pub actor_id: uuid::Uuid,
    #[serde(default)]
    pub actor_type: ActorType,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub before: serde_json::Value,
    #[serde(default)]
    pub after: serde_json::Value,
}
