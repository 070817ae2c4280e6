//! The audit log as the API shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

wire_enum!(
    /// Who wrote: a user, an API key, or the service itself.
    AuditActorType { User => "user", ApiKey => "apiKey", System => "system" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditActor {
    #[serde(rename = "type")]
    pub kind: AuditActorType,
    /// The user's or the API key's id; null for the service.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub id: Option<uuid::Uuid>,
}

/// One write: who, what (`action`: the function that served it, e.g. `tickets-update`),
/// on what, the fields it changed, and the request it came in.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    pub action: String,
    /// `ticket`, `customer`, `user`, ...
    pub target_type: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub target_id: Option<uuid::Uuid>,
    /// `{field: [old, new]}`; never a secret, hash or password.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// The `x-request-id` of the request.
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}
