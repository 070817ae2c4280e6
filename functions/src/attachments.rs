//! `/api/v1/tickets/{id}/attachments*`: files on a ticket, moved through signed URLs.

use crm_core::{
    AppState,
    error::Problem,
    ids::{AttachmentId, TicketId},
    model::{Attachment, AttachmentWithDownload, CreatedAttachment},
    pagination::AttachmentPage,
    service::attachments::{self, CreateAttachmentInput},
};
use lambda_http::{Request, http::StatusCode};

use crate::{HandlerResult, http};

fn ids(req: &Request) -> Result<(TicketId, AttachmentId), crm_core::Error> {
    Ok((TicketId(http::path_uuid(req, "id")?), AttachmentId(http::path_uuid(req, "attachmentId")?)))
}

/// Declares a file (PENDING) and answers the signed `PUT` that uploads it to the blob
/// store, valid 15 minutes and only for the declared size and content type. Then call
/// `complete`.
#[utoipa::path(post, operation_id = "createAttachment", path = "/api/v1/tickets/{id}/attachments", tag = "attachments", security(("bearer" = [])), request_body = CreateAttachmentInput,
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id")),
    responses((status = 201, description = "The PENDING attachment and its upload request", body = CreatedAttachment),
        (status = 404, description = "No such ticket in this tenant, or `commentId` is not one of its comments", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`size` is over 25 MiB", body = Problem, content_type = "application/problem+json")))]
pub async fn create(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let input = http::json_body(&req)?;
    http::json(StatusCode::CREATED, &attachments::create(&state, &caller, id, input).await?)
}

/// Marks the attachment READY once the store holds its object with the declared size.
#[utoipa::path(post, operation_id = "completeAttachment", path = "/api/v1/tickets/{id}/attachments/{attachmentId}/complete", tag = "attachments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("attachmentId" = uuid::Uuid, Path, max_length = 36, description = "Attachment id")),
    responses((status = 200, description = "The READY attachment", body = Attachment),
        (status = 404, description = "No such attachment on this ticket", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The store does not hold the file yet, or holds another size", body = Problem, content_type = "application/problem+json")))]
pub async fn complete(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let (ticket, id) = ids(&req)?;
    http::json(StatusCode::OK, &attachments::complete(&state, &caller, ticket, id).await?)
}

/// The ticket's READY attachments, oldest first, in keyset pages.
#[utoipa::path(get, operation_id = "listAttachments", path = "/api/v1/tickets/{id}/attachments", tag = "attachments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, min_length = 24, max_length = 24, pattern = r"^[A-Za-z0-9_-]{24}$", description = "`nextCursor` of the previous page")),
    responses((status = 200, description = "A page of READY attachments, oldest first", body = AttachmentPage),
        (status = 404, description = "No such ticket in this tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn list(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let id = TicketId(http::path_uuid(&req, "id")?);
    let page = http::page(&req)?;
    http::json(StatusCode::OK, &attachments::list(&state, &caller, id, page).await?)
}

/// The attachment and, once READY, a download link valid 5 minutes.
#[utoipa::path(get, operation_id = "getAttachment", path = "/api/v1/tickets/{id}/attachments/{attachmentId}", tag = "attachments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("attachmentId" = uuid::Uuid, Path, max_length = 36, description = "Attachment id")),
    responses((status = 200, description = "The attachment; `downloadUrl` is null while it is PENDING", body = AttachmentWithDownload),
        (status = 404, description = "No such attachment on this ticket", body = Problem, content_type = "application/problem+json")))]
pub async fn get(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let (ticket, id) = ids(&req)?;
    http::json(StatusCode::OK, &attachments::get(&state, &caller, ticket, id).await?)
}

/// Deletes the attachment and its object in the store.
#[utoipa::path(delete, operation_id = "deleteAttachment", path = "/api/v1/tickets/{id}/attachments/{attachmentId}", tag = "attachments", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, max_length = 36, description = "Ticket id"),
        ("attachmentId" = uuid::Uuid, Path, max_length = 36, description = "Attachment id")),
    responses((status = 204, description = "Deleted, object and all"),
        (status = 404, description = "No such attachment on this ticket", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(state: AppState, req: Request) -> HandlerResult {
    let caller = http::credential(&state, &req)?;
    let (ticket, id) = ids(&req)?;
    attachments::delete(&state, &caller, ticket, id).await?;
    http::no_content()
}
