//! A tenant's helpdesk at a glance, read from counters in O(1).

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_tickets: i64,
    pub open: i64,
    pub in_progress: i64,
    pub resolved: i64,
    pub total_customers: i64,
    pub by_priority: PriorityCounts,
    /// Mean of `resolvedAt - createdAt` over the tickets resolved now; null while none is.
    pub avg_resolution_seconds: Option<f64>,
    /// Of the first-response clocks settled (met, or recorded as breached), the share met,
    /// 0 to 100; null while none is settled.
    pub sla_first_response_met_percent: Option<f64>,
    /// The same for resolution clocks.
    pub sla_resolution_met_percent: Option<f64>,
    /// Mean of `firstRespondedAt - createdAt` over the tickets answered; null while none is.
    pub avg_first_response_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PriorityCounts {
    #[serde(rename = "LOW")]
    pub low: i64,
    #[serde(rename = "MEDIUM")]
    pub medium: i64,
    #[serde(rename = "HIGH")]
    pub high: i64,
    #[serde(rename = "URGENT")]
    pub urgent: i64,
}
