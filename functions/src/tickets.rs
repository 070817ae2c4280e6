//! `/api/v1/tickets*`: support tickets, their status, assignment and timeline.

use crm_core::{
    AppState,
    db::tickets::TicketFilter,
    error::Error,
    error::Problem,
    ids::{CustomerId, TicketId, UserId},
    model::{Priority, Ticket, TicketEvent, TicketStatus},
    pagination::TicketPage,
    service::{
        tags,
        tickets::{self, AssignInput, CreateTicketInput, StatusInput, UpdateTicketInput},
    },
};
use lambda_http::{Request, http::StatusCode};
use uuid::Uuid;

use crate::{HandlerResult, http};

/// Opens a ticket for a customer of this tenant; emits `ticket.created`.
#[utoipa::path(post, operation_id = "createTicket", path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])), request_body = CreateTicketInput,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]+$", description = "Retrying with the same key and body answers the first response (one ticket, one event); another body answers 422")),
    responses((status = 201, description = "The new ticket, status OPEN", body = Ticket),
        (status = 404, description = "`customerId` is not a customer of this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let key = http::idempotency_key(&req)?;
    let input = http::json_body(&req)?;
    http::created(tickets::create(&state, &caller, input, key).await?)
}

/// The tenant's tickets, newest first, in keyset pages; every filter narrows.
#[utoipa::path(get, operation_id = "listTickets", path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(("status" = Option<TicketStatus>, Query, description = "Only this status"),
        ("priority" = Option<Priority>, Query, description = "Only this priority"),
        ("assigneeId" = Option<uuid::Uuid>, Query, max_length = 36, description = "Only tickets assigned to this user"),
        ("customerId" = Option<uuid::Uuid>, Query, max_length = 36, description = "Only this customer's tickets"),
        ("q" = Option<String>, Query, max_length = 200, description = "Part of the title or description, case-insensitive (at most 200 characters); not combined with `breached`, `dueBefore` or `tag`"),
        ("breached" = Option<bool>, Query, description = "true: a breach of either service-level clock was recorded; false: none was"),
        ("dueBefore" = Option<String>, Query, format = DateTime, max_length = 35, description = "A service-level clock whose outcome is still open (running, or stopped late and about to be recorded as breached) is due before this RFC 3339 instant"),
        ("tag" = Option<String>, Query, min_length = 1, max_length = 50, description = "Only tickets with this tag (compared lower-case)"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of tickets", body = TicketPage)))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let page = http::page(&req)?;
    let q = http::search(&req)?;
    let filter = TicketFilter {
        breached: http::query_parsed(&req, "breached", "true or false")?,
        due_before: http::query_date_time(&req, "dueBefore")?,
        tag: http::query(&req, "tag").as_deref().map(tags::filter).transpose()?,
        status: http::query_parsed(&req, "status", "OPEN, IN_PROGRESS or RESOLVED")?,
        priority: http::query_parsed(&req, "priority", "LOW, MEDIUM, HIGH or URGENT")?,
        assignee_id: http::query_parsed::<Uuid>(&req, "assigneeId", "a UUID")?.map(UserId),
        customer_id: http::query_parsed::<Uuid>(&req, "customerId", "a UUID")?.map(CustomerId),
        q,
    };
    if filter.q.is_some() && (filter.breached.is_some() || filter.due_before.is_some() || filter.tag.is_some()) {
        return Err(Error::invalid_parameter("q", "cannot be combined with breached, dueBefore or tag"));
    }
    http::json(StatusCode::OK, &tickets::list(&state, &caller, filter, page).await?)
}

/// One ticket with its customer's summary.
#[utoipa::path(get, operation_id = "getTicket", path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Ticket),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    http::json(StatusCode::OK, &tickets::get(&state, &caller, id).await?)
}

/// Edits the title, description or priority; the timeline records what changed.
#[utoipa::path(patch, operation_id = "updateTicket", path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])), request_body = UpdateTicketInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 200, description = "The updated ticket", body = Ticket),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn update(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    http::json(StatusCode::OK, &tickets::update(&state, &caller, id, input).await?)
}

/// Moves the ticket to OPEN, IN_PROGRESS or RESOLVED (`resolvedAt` set on entering
/// RESOLVED, cleared on leaving it); emits `ticket.status_changed`.
#[utoipa::path(patch, operation_id = "setTicketStatus", path = "/api/v1/tickets/{id}/status", tag = "tickets", security(("bearer" = [])), request_body = StatusInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Ticket),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn set_status(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    http::json(StatusCode::OK, &tickets::set_status(&state, &caller, id, input).await?)
}

/// Assigns the ticket to an active user of this tenant, or unassigns it (`null`). Admin
/// only; emits `ticket.assigned`.
#[utoipa::path(patch, operation_id = "assignTicket", path = "/api/v1/tickets/{id}/assign", tag = "tickets", security(("bearer" = [])), request_body = AssignInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 200, description = "The ticket", body = Ticket),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket, or the assignee is not an active user of this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn assign(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let input: AssignInput = http::json_body(&req)?;
    http::json(StatusCode::OK, &tickets::assign(&state, &caller, id, input).await?)
}

/// The ticket's timeline, oldest first: creation, edits, status changes and assignments,
/// each with who and when.
#[utoipa::path(get, operation_id = "listTicketEvents", path = "/api/v1/tickets/{id}/events", tag = "tickets", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Events per page, 1 to 100; 100 when absent"),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "The `cursor` of the previous answer's `Link: rel=\"next\"`")),
    responses((status = 200, description = "One page of the timeline, oldest first. When more events follow, a `Link` header names the next page: `<?limit=100&cursor=...>; rel=\"next\"`, relative to the request URL",
            body = Vec<TicketEvent>,
            headers(("Link" = String, description = "RFC 8288 link to the next page (`rel=\"next\"`), absent on the last page"))),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn events(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let page = http::widest_page(&req)?;
    http::json_array_page(&tickets::events(&state, &caller, id, page).await?, page.limit)
}
