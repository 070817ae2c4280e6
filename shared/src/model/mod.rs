//! What the API shows: the shapes of API.md, camelCase on the wire.

/// An enum spelled on the wire (and in the database) as the given strings.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(()) }
            }
        }
    };
}

mod api_keys;
mod attachments;
mod audit;
mod comments;
mod customers;
mod feed;
mod notifications;
mod sla;
mod stats;
mod tickets;
mod users;
mod webhooks;

pub use api_keys::{ApiKey, CreatedApiKey};
pub use attachments::{Attachment, AttachmentStatus, AttachmentWithDownload, CreatedAttachment, Upload};
pub use audit::{AuditActor, AuditActorType, AuditRecord};
pub use comments::Comment;
pub use customers::Customer;
pub use feed::{EventActor, FeedEvent, FeedEventType, FeedPage};
pub use notifications::Notification;
pub use sla::{
    BreachKind, BusinessHours, Interval, IsoDate, SlaPolicy, TagCount, TagList, TagName, Target, Targets, TicketSla,
};
pub use stats::{PriorityCounts, Stats};
pub use tickets::{Actor, ActorType, CustomerSummary, EventType, Priority, Ticket, TicketEvent, TicketStatus};
pub use users::{AuthSession, Invitation, Me, Role, SignupAccepted, Tenant, User};
pub use webhooks::{CreatedWebhook, DeliveryStatus, EventSubscription, RotatedSecret, Webhook, WebhookDelivery};
