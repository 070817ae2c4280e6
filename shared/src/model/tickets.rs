//! Tickets, their statuses and priorities, and the timeline of what happened to them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{CustomerId, EventId, TicketId, UserId};

wire_enum!(
    /// Where a ticket stands. `resolvedAt` is set exactly while it is `RESOLVED`.
    TicketStatus { Open => "OPEN", InProgress => "IN_PROGRESS", Resolved => "RESOLVED" }
);
wire_enum!(
    /// How urgent a ticket is; `MEDIUM` unless the creator says otherwise.
    Priority { Low => "LOW", Medium => "MEDIUM", High => "HIGH", Urgent => "URGENT" }
);
wire_enum!(
    /// What a timeline entry records.
    EventType { Created => "created", StatusChanged => "status_changed", Assigned => "assigned", Updated => "updated" }
);

impl Priority {
    /// What a ticket gets when its creator names no priority.
    pub const DEFAULT: Priority = Priority::Medium;
}

/// The customer as a ticket shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: TicketId,
    pub title: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub customer_id: CustomerId,
    pub customer: CustomerSummary,
    pub assignee_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When a user of the tenant first answered in public (the first public comment).
    pub first_responded_at: Option<DateTime<Utc>>,
    /// Public replies and internal notes.
    #[schema(minimum = 0)]
    pub comment_count: i32,
    /// Lower-case, each at most once.
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
    pub sla: super::TicketSla,
}

/// Who did something: a user of the tenant or one of its API keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The user's id, or the API key's.
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// The user's name, or the API key's.
    pub name: Option<String>,
    /// A user's address; absent for an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Email)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActorType {
    /// Events written before API keys existed name users only.
    #[default]
    User,
    ApiKey,
    /// The service itself (a breached service level).
    System,
}

/// One entry of a ticket's timeline: what changed (`data.before` / `data.after`), who, when.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketEvent {
    pub id: EventId,
    pub ticket_id: TicketId,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub actor: Actor,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}
