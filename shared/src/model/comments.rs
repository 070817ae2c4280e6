//! The conversation of a ticket.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    ids::{CommentId, TicketId},
    model::Actor,
};

/// A public reply (`public: true`, mailed to the ticket's customer) or an internal note
/// (`public: false`, seen by the tenant's users only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: TicketId,
    pub author: Actor,
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    pub public: bool,
    pub created_at: DateTime<Utc>,
}
