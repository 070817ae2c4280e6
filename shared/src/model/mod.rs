//! What the API shows: the shapes of API.md, camelCase on the wire.

mod api_keys;
mod comments;
mod customers;
mod notifications;
mod stats;
mod tickets;
mod users;

pub use api_keys::{ApiKey, CreatedApiKey};
pub use comments::Comment;
pub use customers::Customer;
pub use notifications::Notification;
pub use stats::{PriorityCounts, Stats};
pub use tickets::{Actor, ActorType, CustomerSummary, EventType, Priority, Ticket, TicketEvent, TicketStatus};
pub use users::{AuthSession, Invitation, Me, Role, SignupAccepted, Tenant, User};
