//! `/api/v1/tickets/{id}/comments`: a ticket's conversation.

use crm_core::{
    AppState,
    error::Problem,
    ids::TicketId,
    model::Comment,
    pagination::CommentPage,
    service::comments::{self, CreateCommentInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

/// Adds a public reply (the default; the customer is mailed) or an internal note
/// (`public: false`) to the ticket; emits `comment.created`. The first public comment by a
/// user (not an API key) sets the ticket's `firstRespondedAt`.
#[utoipa::path(post, operation_id = "createComment", path = "/api/v1/tickets/{id}/comments", tag = "comments", security(("bearer" = [])), request_body = CreateCommentInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 201, description = "The new comment", body = Comment),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    http::json(StatusCode::CREATED, &comments::create(&state, &caller, id, input).await?)
}

/// The ticket's conversation, oldest first, in keyset pages.
#[utoipa::path(get, operation_id = "listComments", path = "/api/v1/tickets/{id}/comments", tag = "comments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of comments, oldest first", body = CommentPage),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let page = http::page(&req)?;
    http::json(StatusCode::OK, &comments::list(&state, &caller, id, page).await?)
}
