//! The notification log the event consumer writes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{NotificationId, TicketId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub ticket_id: TicketId,
    /// `ticket.created`, `ticket.status_changed` or `ticket.assigned`.
    pub event_type: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}
