//! API keys as their admins see them: never the secret, except once in [`CreatedApiKey`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Role;
use crate::ids::ApiKeyId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// The key's public part: `crm_<prefix>_…`, to tell keys apart.
    #[schema(example = "k3v7q2mxa4bc5def")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set once the key is revoked; it is refused from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What `POST /api-keys` answers: the only time the whole key is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    /// `crm_<prefix>_<secret>`: send it as `Authorization: Bearer`. It is stored only as a
    /// hash and cannot be shown again.
    #[schema(example = "crm_k3v7q2mxa4bc5def_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE")]
    pub key: String,
}
