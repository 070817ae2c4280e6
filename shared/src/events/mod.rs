//! Ticket events on their way out: the outbox row, the SQS adapter that carries it, and
//! the mailer that finally tells people.

pub mod mailer;
pub mod sqs;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    ids::{EventId, TenantId, TicketId},
    model::ActorType,
    security::ActorId,
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
    /// A user's id, or an API key's (`actorType`); none for the service itself.
    #[serde(default)]
    pub actor_id: Option<uuid::Uuid>,
    #[serde(default)]
    pub actor_type: ActorType,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub before: serde_json::Value,
    #[serde(default)]
    pub after: serde_json::Value,
}

impl OutboxEvent {
    /// The event `id` of type `event_type` about `ticket`, done by `actor` now; its
    /// payload is the [`EventPayload`] the consumer reads.
    pub fn new(
        id: EventId,
        event_type: &str,
        tenant: TenantId,
        ticket: TicketId,
        actor: ActorId,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> Self {
        let (actor_type, actor_id) = match actor {
            ActorId::User(id) => (ActorType::User, Some(id.0)),
            ActorId::ApiKey(id) => (ActorType::ApiKey, Some(id.0)),
        };
        Self::made(id, event_type, tenant, ticket, (actor_type, actor_id), before, after)
    }

    /// An event the service itself causes (a breached service level): no user, no key.
    pub fn by_service(
        id: EventId,
        event_type: &str,
        tenant: TenantId,
        ticket: TicketId,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> Self {
        Self::made(id, event_type, tenant, ticket, (ActorType::System, None), before, after)
    }

    fn made(
        id: EventId,
        event_type: &str,
        tenant: TenantId,
        ticket: TicketId,
        (actor_type, actor_id): (ActorType, Option<uuid::Uuid>),
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> Self {
        let now = Utc::now();
        let payload = EventPayload {
            event_id: id,
            event_type: event_type.to_owned(),
            tenant_id: tenant,
            ticket_id: ticket,
            actor_id,
            actor_type,
            occurred_at: now,
            before,
            after,
        };
        Self {
            id,
            tenant_id: tenant,
            event_type: event_type.to_owned(),
            ticket_id: ticket,
            // A struct of strings, ids and JSON values always serializes.
            payload: serde_json::to_value(&payload).unwrap_or_default(),
            created_at: now,
        }
    }
}
