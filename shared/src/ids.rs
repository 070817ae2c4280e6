//! Identifiers as types, so a tenant id can never be passed where a user id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        // 36: the hyphenated form the uuid format names. The parser also takes the simple,
        // braced and URN spellings, so nothing the document allows is refused.
        #[schema(value_type = String, format = Uuid, max_length = 36)]
        pub struct $name(pub Uuid);

        impl $name {
            /// UUIDv7: time-ordered, so `ORDER BY id DESC` is newest first.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A company signed up to SimpleCRM.
    TenantId
);
id_type!(
    /// A person who logs in: an admin or an agent of one tenant.
    UserId
);
id_type!(
    /// One refresh token (a row of `refresh_tokens`).
    RefreshTokenId
);
id_type!(
    /// The chain of refresh tokens rotated from one login.
    TokenFamilyId
);
id_type!(
    /// A customer of a tenant.
    CustomerId
);
id_type!(
    /// A support ticket.
    TicketId
);
id_type!(
    /// A timeline entry, and the id of the outbox event it produced, if any.
    EventId
);
id_type!(
    /// A row of the notification log.
    NotificationId
);
id_type!(
    /// An API key of a tenant (its row, not its secret).
    ApiKeyId
);
id_type!(
    /// A public reply or an internal note on a ticket.
    CommentId
);
id_type!(
    /// A file on a ticket.
    AttachmentId
);
id_type!(
    /// An endpoint a tenant's events are posted to.
    WebhookId
);
id_type!(
    /// One event on its way to one webhook endpoint, with its attempts.
    DeliveryId
);
id_type!(
    /// One export of a tenant's data to the blob store.
    ExportId
);
