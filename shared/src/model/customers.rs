//! Customers: the people and companies a tenant supports.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{CustomerId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
