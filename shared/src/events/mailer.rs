//! How a notification reaches a person. The default transport writes a structured log
//! line; a real one (SES, SMTP) implements the same trait.

use std::{future::Future, pin::Pin};

use crate::{
    error::Error,
    ids::{EventId, TenantId, TicketId, UserId},
};

/// What is worth telling about a ticket event.
#[derive(Debug, Clone)]
pub struct Notice {
    pub tenant_id: TenantId,
    pub ticket_id: TicketId,
    pub event_id: EventId,
    pub event_type: String,
    pub message: String,
    /// The mail the event sends to a person, if any.
    pub mail: Option<TicketMail>,
    /// What a webhook delivery of the event posts: `{type, timestamp, data}`.
    pub webhook_body: serde_json::Value,
}

/// Mail a ticket event sends: the customer hears of public replies and of the ticket's
/// resolution, an assignee of the assignment. Internal notes mail nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketMail {
    /// A public reply, to the ticket's customer.
    Reply { body: String },
    /// The ticket was resolved, to its customer.
    Resolved,
    /// The ticket was assigned to `assignee`, to that user.
    Assigned { assignee: UserId },
}

impl TicketMail {
    /// The user the mail goes to, when it goes to a user rather than the customer.
    pub fn user(&self) -> Option<UserId> {
        match self {
            TicketMail::Assigned { assignee } => Some(*assignee),
            TicketMail::Reply { .. } | TicketMail::Resolved => None,
        }
    }
}

pub trait Mailer: Send + Sync {
    fn send<'a>(&'a self, notice: &'a Notice) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
}

/// Logs each notice as a JSON line instead of emailing it.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send<'a>(&'a self, notice: &'a Notice) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(
                tenant_id = %notice.tenant_id,
                ticket_id = %notice.ticket_id,
                event_id = %notice.event_id,
                event_type = %notice.event_type,
                message = %notice.message,
                "notification sent"
            );
            Ok(())
        })
    }
}
