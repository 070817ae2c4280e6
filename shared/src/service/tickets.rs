//! Tickets: opened for a customer, worked by agents, assigned by admins. Every change is
//! recorded on the ticket's timeline, and creation, status changes and assignments put
//! an event in the outbox, all in the transaction of the change itself.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    idempotency::{self, Created, IdempotencyKey},
    pipeline, tags,
    validate::not_blank,
};
use crate::{
    db::{
        tickets as tickets_db,
        tickets::{NewEvent, NewTicket, Outboxed, TicketFilter, TicketPatch},
        users as users_db,
    },
    error::Error,
    events::OutboxEvent,
    ids::{CustomerId, EventId, TicketId, UserId},
    metrics,
    model::{EventType, Priority, Ticket, TicketEvent, TicketStatus},
    pagination::{Page, PageRequest},
    security::{ActorId, Credential, Principal, Requires},
    state::AppState,
};

const CREATE_ROUTE: &str = "POST /api/v1/tickets";

#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTicketInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[validate(length(max = 10000, message = "must be at most 10000 characters"))]
    #[schema(max_length = 10000)]
    pub description: String,
    pub customer_id: CustomerId,
    /// `MEDIUM` when absent.
    pub priority: Option<Priority>,
    /// Stored lower-case, duplicates dropped; at most 20, each 1 to 50 characters.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<crate::model::TagName>)]
    pub tags: Vec<String>,
}

/// Any of these; absent ones stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTicketInput {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[validate(length(max = 10000, message = "must be at most 10000 characters"))]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub priority: Option<Priority>,
    /// Replaces the ticket's tags (an empty list removes them all); normalised as on create.
    #[schema(max_items = 20, value_type = Option<Vec<crate::model::TagName>>)]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatusInput {
    pub status: TicketStatus,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignInput {
    /// A user of this tenant, or null to unassign. Required, so that a forgotten field
    /// never unassigns by accident.
    #[serde(default, deserialize_with = "present")]
    #[validate(required(message = "is required (null unassigns)"))]
    #[schema(value_type = Option<uuid::Uuid>, required = true, max_length = 36)]
    pub assignee_id: Option<Option<UserId>>,
}

/// Tells a field given as `null` (Some(None)) from a missing one (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<UserId>>, D::Error> {
    Option::<UserId>::deserialize(d).map(Some)
}

pub async fn create(
    state: &AppState,
    caller: &Credential,
    input: CreateTicketInput,
    key: Option<IdempotencyKey>,
) -> Result<Created<Ticket>, Error> {
    let tags = tags::normalise(&input.tags)?;
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    if let Some(replay) = idempotency::claim(&tx, tenant, CREATE_ROUTE, key.as_ref(), &input).await? {
        tx.rollback().await?;
        return Ok(Created::Replayed(replay));
    }
    let new = NewTicket {
        id: TicketId::generate(),
        customer_id: input.customer_id,
        title: input.title.trim(),
        description: &input.description,
        priority: input.priority.unwrap_or(Priority::DEFAULT),
        tags: &tags,
    };
    let after = json!({
        "title": new.title, "status": TicketStatus::Open, "priority": new.priority,
        "customerId": new.customer_id, "assigneeId": None::<UserId>, "tags": new.tags,
    });
    let change = Change::new(&principal, new.id, EventType::Created, Value::Null, after);
    if let Some(entry) = tx.audit() {
        entry.target("ticket", new.id.0);
    }
    // Without a key nothing follows the insert, so it commits in the same round trip.
    let ticket = match key.as_ref() {
        None => tickets_db::manager::create_and_commit(tx, tenant, &new, &change.event()).await?,
        Some(key) => {
            let ticket = tickets_db::manager::create(&tx, tenant, &new, &change.event()).await?;
            idempotency::remember(&tx, tenant, CREATE_ROUTE, Some(key), 201, &ticket).await?;
            tx.commit().await?;
            ticket
        }
    };
    metrics::count(metrics::TICKETS_CREATED, 1);
    pipeline::publish_committed(state, change.into_outbox().into_iter().collect()).await;
    tracing::info!(tenant_id = %tenant, ticket_id = %ticket.id, "ticket created");
    Ok(Created::New(ticket))
}

pub async fn list(
    state: &AppState,
    caller: &Credential,
    filter: TicketFilter,
    page: PageRequest,
) -> Result<Page<Ticket>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let rows = tickets_db::manager::list(&tx, principal.tenant_id, &filter, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(page.into_page(rows, |t| t.id.0))
}

pub async fn get(state: &AppState, caller: &Credential, id: TicketId) -> Result<Ticket, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let ticket = tickets_db::manager::get(&tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Edits title, description or priority; the timeline records what changed.
pub async fn update(
    state: &AppState,
    caller: &Credential,
    id: TicketId,
    input: UpdateTicketInput,
) -> Result<Ticket, Error> {
    let tags = input.tags.as_deref().map(tags::normalise).transpose()?;
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let current = tickets_db::manager::lock(&tx, tenant, id).await?;
    let patch = TicketPatch {
        title: input.title.map(|t| t.trim().to_owned()),
        description: input.description,
        priority: input.priority,
        tags,
    };
    let (mut before, mut after) = (Map::new(), Map::new());
    let mut changed = |field: &str, old: Value, new: Option<Value>| {
        if let Some(new) = new.filter(|n| *n != old) {
            before.insert(field.to_owned(), old);
            after.insert(field.to_owned(), new);
        }
    };
    changed("title", json!(current.title), patch.title.as_ref().map(|v| json!(v)));
    changed("description", json!(current.description), patch.description.as_ref().map(|v| json!(v)));
    changed("priority", json!(current.priority), patch.priority.map(|v| json!(v)));
    changed("tags", json!(current.tags), patch.tags.as_ref().map(|v| json!(v)));
    if after.is_empty() {
        tx.rollback().await?;
        return Ok(current);
    }
    let change = Change::new(&principal, id, EventType::Updated, Value::Object(before), Value::Object(after));
    change.audit(&mut tx);
    let ticket = tickets_db::manager::update(&tx, tenant, id, &patch, &change.event()).await?;
    tx.commit().await?;
    pipeline::publish_committed(state, change.into_outbox().into_iter().collect()).await;
    Ok(ticket)
}

/// Admins and agents move a ticket between OPEN, IN_PROGRESS and RESOLVED. Setting the
/// status it already has changes nothing and records nothing.
pub async fn set_status(
    state: &AppState,
    caller: &Credential,
    id: TicketId,
    input: StatusInput,
) -> Result<Ticket, Error> {
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let current = tickets_db::manager::lock(&tx, tenant, id).await?;
    if current.status == input.status {
        tx.rollback().await?;
        return Ok(current);
    }
    let change = Change::new(
        &principal,
        id,
        EventType::StatusChanged,
        json!({"status": current.status}),
        json!({"status": input.status}),
    );
    change.audit(&mut tx);
    let ticket = tickets_db::manager::set_status(&tx, tenant, id, input.status, &change.event()).await?;
    tx.commit().await?;
    pipeline::publish_committed(state, change.into_outbox().into_iter().collect()).await;
    Ok(ticket)
}

/// Admins assign a ticket to an active user of their tenant, or unassign it (null).
pub async fn assign(state: &AppState, caller: &Credential, id: TicketId, input: AssignInput) -> Result<Ticket, Error> {
    let (mut tx, principal) = state.db.begin_as(caller, Requires::Admin).await?;
    let tenant = principal.tenant_id;
    let assignee = input.assignee_id.flatten();
    let current = tickets_db::manager::lock(&tx, tenant, id).await?;
    if let Some(user) = assignee {
        let active = match users_db::manager::get(&tx, tenant, user).await {
            Ok(u) => !u.disabled,
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if !active {
            tx.rollback().await?;
            return Err(Error::NotFound("assignee"));
        }
    }
    if current.assignee_id == assignee {
        tx.rollback().await?;
        return Ok(current);
    }
    let change = Change::new(
        &principal,
        id,
        EventType::Assigned,
        json!({"assigneeId": current.assignee_id}),
        json!({"assigneeId": assignee}),
    );
    change.audit(&mut tx);
    let ticket = tickets_db::manager::set_assignee(&tx, tenant, id, assignee, &change.event()).await?;
    tx.commit().await?;
    pipeline::publish_committed(state, change.into_outbox().into_iter().collect()).await;
    Ok(ticket)
}

/// One page of the ticket's timeline, oldest first.
pub async fn events(
    state: &AppState,
    caller: &Credential,
    id: TicketId,
    page: PageRequest,
) -> Result<Page<TicketEvent>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    // A ticket of another tenant is as absent as one that never existed.
    tickets_db::manager::get(&tx, tenant, id).await?;
    let events = tickets_db::manager::events(&tx, tenant, id, page).await?;
    tx.commit().await?;
    Ok(page.into_page(events, |e| e.id.0))
}

/// The outbox event type a timeline entry publishes: every kind, so the change feed and
/// webhooks see edits too.
fn published_as(kind: EventType) -> Option<&'static str> {
    match kind {
        EventType::Created => Some("ticket.created"),
        EventType::StatusChanged => Some("ticket.status_changed"),
        EventType::Assigned => Some("ticket.assigned"),
        EventType::Updated => Some("ticket.updated"),
    }
}

/// A change's timeline entry and, for the published kinds, its outbox event under the
/// same id: made before the write, so that the database takes all three in the write's
/// own statement.
struct Change {
    actor: ActorId,
    kind: EventType,
    data: Value,
    outbox: Option<OutboxEvent>,
    id: EventId,
}

impl Change {
    fn new(principal: &Principal, ticket: TicketId, kind: EventType, before: Value, after: Value) -> Self {
        let id = EventId::generate();
        let data = json!({"before": before, "after": after});
        let outbox = published_as(kind).map(|event_type| {
            let before = data["before"].clone();
            let after = data["after"].clone();
            OutboxEvent::new(id, event_type, principal.tenant_id, ticket, principal.actor, before, after)
        });
        Self { actor: principal.actor, kind, data, outbox, id }
    }

    fn event(&self) -> NewEvent<'_> {
        NewEvent {
            id: self.id,
            actor: self.actor,
            kind: self.kind,
            data: &self.data,
            outbox: self.outbox.as_ref().map(|o| Outboxed { event_type: &o.event_type, payload: &o.payload }),
        }
    }

    /// The changed fields into the unit of work's audit entry, as `{field: [old, new]}`.
    fn audit(&self, tx: &mut crate::db::Tx) {
        let Some(entry) = tx.audit() else { return };
        if let Some(after) = self.data["after"].as_object() {
            for (field, new) in after {
                entry.changed(field, self.data["before"][field].clone(), new.clone());
            }
        }
    }

    fn into_outbox(self) -> Option<OutboxEvent> {
        self.outbox
    }
}
