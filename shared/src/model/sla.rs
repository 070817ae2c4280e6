//! Service levels: a tenant's policy, a ticket's clocks, and the tags of tickets.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A ticket's service-level clocks: due dates in business time from `createdAt` under the
/// policy in force, and when a clock was recorded as breached (its due date). All null
/// while the tenant has no target for the ticket's priority.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketSla {
    /// A first public reply (or resolving the ticket) by then meets the target.
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// Resolving the ticket by then meets the target.
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub first_response_breached_at: Option<DateTime<Utc>>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
}

wire_enum!(
    /// Which clock of a ticket a `ticket.sla_breached` event is about.
    BreachKind { FirstResponse => "firstResponse", Resolution => "resolution" }
);

/// Opening hours per weekday: sorted, disjoint `["HH:MM", "HH:MM"]` intervals in the
/// policy's time zone (`"24:00"` ends a day). A weekday absent or empty has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub mon: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub tue: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub wed: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub thu: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub fri: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub sat: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Vec<Interval>, max_items = 6)]
    pub sun: Vec<Vec<String>>,
}

impl BusinessHours {
    pub fn days(&self) -> [(&'static str, &Vec<Vec<String>>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// How one opening interval is spelled, for the API document: `["HH:MM", "HH:MM"]`.
pub struct Interval;

impl utoipa::PartialSchema for Interval {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let time = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(5))
            .max_length(Some(5))
            .pattern(Some(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"));
        ArrayBuilder::new()
            .items(time)
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some(
                "Opens at the first time and closes at the second, which is later; \"24:00\" ends the day",
            ))
            .into()
    }
}

impl ToSchema for Interval {}

/// A calendar date, `YYYY-MM-DD`, for the API document.
pub struct IsoDate;

impl utoipa::PartialSchema for IsoDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .max_length(Some(10))
            .into()
    }
}

impl ToSchema for IsoDate {}

/// A ticket tag as given, for the API document (stored trimmed and lower-case).
pub struct TagName;

impl utoipa::PartialSchema for TagName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(50)).into()
    }
}

impl ToSchema for TagName {}

/// The targets of one priority, in business minutes; an absent one is not measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    #[schema(minimum = 1, maximum = 525600)]
    pub first_response_minutes: Option<i32>,
    #[schema(minimum = 1, maximum = 525600)]
    pub resolution_minutes: Option<i32>,
}

/// Targets per priority; a priority absent has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(rename = "LOW", default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Target>,
    #[serde(rename = "MEDIUM", default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<Target>,
    #[serde(rename = "HIGH", default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Target>,
    #[serde(rename = "URGENT", default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<Target>,
}

impl Targets {
    pub fn each(&self) -> [(&'static str, Option<Target>); 4] {
        [("LOW", self.low), ("MEDIUM", self.medium), ("HIGH", self.high), ("URGENT", self.urgent)]
    }
}

/// The tenant's service-level policy. A tenant that never set one has none: every field
/// is null (or empty) and no ticket has due dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicy {
    /// IANA time zone the hours and holidays are in.
    #[schema(max_length = 64)]
    pub timezone: Option<String>,
    /// Null: around the clock (or no policy).
    pub business_hours: Option<BusinessHours>,
    /// Local dates without business time, sorted.
    #[schema(value_type = Vec<IsoDate>, max_items = 400)]
    pub holidays: Vec<NaiveDate>,
    /// Null while the tenant has no policy.
    pub targets: Option<Targets>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A tag and how many of the tenant's tickets carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagCount {
    #[schema(max_length = 50)]
    pub tag: String,
    #[schema(minimum = 1)]
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TagList {
    #[schema(max_items = 1000)]
    pub items: Vec<TagCount>,
}
