//! Files on a ticket. The bytes go straight between the client and the blob store through
//! signed URLs; these units of work keep the rows and ask the store what it holds. No
//! database lock is held while the store is called.

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::pipeline;
use crate::{
    blobs::{BlobKey, Blobs},
    db::{attachments as attachments_db, attachments::NewAttachment, tickets as tickets_db},
    error::Error,
    events::OutboxEvent,
    ids::{AttachmentId, CommentId, EventId, TenantId, TicketId},
    model::{Attachment, AttachmentStatus, AttachmentWithDownload, CreatedAttachment, Upload},
    pagination::{Page, PageRequest},
    security::{Credential, Requires},
    state::AppState,
};

/// 25 MiB: the most one attachment may hold.
pub const MAX_SIZE: u64 = 25 * 1024 * 1024;

pub const ATTACHMENT_ADDED: &str = "attachment.added";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAttachmentInput {
    /// 1 to 255 characters; no `/`, `\`, control characters, and not `.` or `..`.
    #[validate(length(min = 1, max = 255, message = "must be 1 to 255 characters"), custom(function = "file_name"))]
    #[schema(min_length = 1, max_length = 255, pattern = r#"^[^/\\\x00-\x1f\x7f]+$"#)]
    pub file_name: String,
    /// A media type, such as `image/png` or `text/plain; charset=utf-8`.
    #[validate(length(min = 3, max = 255, message = "must be 3 to 255 characters"), custom(function = "media_type"))]
    #[schema(min_length = 3, max_length = 255)]
    pub content_type: String,
    /// Bytes, 1 to 26,214,400 (25 MiB); larger is refused with 413.
    #[validate(range(min = 1, message = "must be at least 1 byte"))]
    #[schema(minimum = 1, maximum = 26214400)]
    pub size: i64,
    /// A comment of this ticket the file belongs to.
    pub comment_id: Option<CommentId>,
}

fn file_name(name: &str) -> Result<(), ValidationError> {
    let bad = name.chars().any(|c| c == '/' || c == '\\' || c.is_control()) || name == "." || name == "..";
    if bad {
        Err(ValidationError::new("file_name")
            .with_message("must not contain path separators or control characters, nor be `.` or `..`".into()))
    } else {
        Ok(())
    }
}

fn media_type(value: &str) -> Result<(), ValidationError> {
    match value.parse::<mime::Mime>() {
        Ok(_) if !value.chars().any(char::is_control) => Ok(()),
        _ => Err(ValidationError::new("media_type").with_message("must be a media type such as `image/png`".into())),
    }
}

/// The blob store, or 500 in a function deployed without one.
pub(super) fn store(state: &AppState) -> Result<&Blobs, Error> {
    state.blobs.as_ref().ok_or_else(|| Error::Internal("no blob store: ATTACHMENTS_BUCKET is not set".into()))
}

fn key(tenant: TenantId, attachment: &Attachment) -> BlobKey {
    BlobKey::new(tenant, attachment.ticket_id, attachment.id.0)
}

/// A PENDING attachment and the signed PUT that uploads its bytes.
pub async fn create(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    input: CreateAttachmentInput,
) -> Result<CreatedAttachment, Error> {
    if input.size as u64 > MAX_SIZE {
        return Err(Error::FileTooLarge { limit: MAX_SIZE });
    }
    let blobs = store(state)?;
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let new = NewAttachment {
        id: AttachmentId::generate(),
        ticket,
        comment: input.comment_id,
        file_name: &input.file_name,
        content_type: &input.content_type,
        size: input.size,
        author: principal.actor,
    };
    let Some(attachment) = attachments_db::manager::create(&tx, tenant, &new).await? else {
        // Which of the two was not found: the ticket first, as everywhere.
        tickets_db::manager::get(&tx, tenant, ticket).await?;
        return Err(Error::NotFound("comment"));
    };
    tx.commit().await?;
    let signed = blobs.upload(&key(tenant, &attachment), &attachment.content_type, input.size as u64).await?;
    let upload = Upload { method: "PUT", url: signed.url, headers: signed.headers, expires_at: signed.expires_at };
    Ok(CreatedAttachment { attachment, upload })
}

/// READY once the store holds the object with the declared size; 409 until then.
pub async fn complete(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    id: AttachmentId,
) -> Result<Attachment, Error> {
    let blobs = store(state)?;
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let pending = attachments_db::manager::get(&tx, tenant, ticket, id).await?;
    tx.commit().await?;
    if pending.status == AttachmentStatus::Ready {
        return Ok(pending);
    }
    match blobs.head(&key(tenant, &pending)).await? {
        None => return Err(Error::Conflict("the file has not been uploaded yet".into())),
        Some(stored) if stored.size as i64 != pending.size => {
            return Err(Error::Conflict(format!(
                "the stored file has {} bytes, not the {} declared",
                stored.size, pending.size
            )));
        }
        Some(_) => {}
    }
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let after = json!({
        "attachmentId": pending.id,
        "commentId": pending.comment_id,
        "fileName": pending.file_name,
        "contentType": pending.content_type,
        "size": pending.size,
    });
    let event =
        OutboxEvent::new(EventId::generate(), ATTACHMENT_ADDED, tenant, ticket, principal.actor, Value::Null, after);
    match attachments_db::manager::mark_ready(&tx, tenant, ticket, id, &event).await? {
        Some(ready) => {
            tx.commit().await?;
            pipeline::publish_committed(state, vec![event]).await;
            Ok(ready)
        }
        // Completed meanwhile by a concurrent call (which emitted the event), or deleted.
        None => {
            let current = attachments_db::manager::get(&tx, tenant, ticket, id).await?;
            tx.commit().await?;
            Ok(current)
        }
    }
}

/// One page of the ticket's READY attachments, oldest first.
pub async fn list(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Page<Attachment>, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let tenant = principal.tenant_id;
    let (_, rows) = tokio::try_join!(
        tickets_db::manager::get(&tx, tenant, ticket),
        attachments_db::manager::list_ready(&tx, tenant, ticket, page)
    )?;
    tx.commit().await?;
    Ok(page.into_page(rows, |a| a.id.0))
}

/// The attachment, with a download link once it is READY.
pub async fn get(
    state: &AppState,
    caller: &Credential,
    ticket: TicketId,
    id: AttachmentId,
) -> Result<AttachmentWithDownload, Error> {
    let blobs = store(state)?;
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let attachment = attachments_db::manager::get(&tx, principal.tenant_id, ticket, id).await?;
    tx.commit().await?;
    let download = match attachment.status {
        AttachmentStatus::Ready => Some(
            blobs
                .download(&key(principal.tenant_id, &attachment), &attachment.file_name, &attachment.content_type)
                .await?,
        ),
        AttachmentStatus::Pending => None,
    };
    Ok(AttachmentWithDownload {
        download_url: download.as_ref().map(|d| d.url.clone()),
        download_expires_at: download.map(|d| d.expires_at),
        attachment,
    })
}

/// Deletes the object, then the row: a failure between the two leaves a row whose delete
/// can be retried, never an object nobody can reach.
pub async fn delete(state: &AppState, caller: &Credential, ticket: TicketId, id: AttachmentId) -> Result<(), Error> {
    let blobs = store(state)?;
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let attachment = attachments_db::manager::get(&tx, principal.tenant_id, ticket, id).await?;
    tx.commit().await?;
    blobs.delete(&key(principal.tenant_id, &attachment)).await?;
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    attachments_db::manager::delete(&tx, principal.tenant_id, ticket, id).await?;
    tx.commit().await
}

/// Deletes the objects of attachments whose rows are about to go, before they do: the
/// first that fails stops it, so the rows stay and a later try deletes the rest (deleting
/// an object that is gone succeeds). Without a blob store there are no objects.
pub async fn erase_or_fail(
    state: &AppState,
    tenant: TenantId,
    files: &[(TicketId, AttachmentId)],
) -> Result<(), Error> {
    let Some(blobs) = state.blobs.as_ref() else {
        return Ok(());
    };
    for (ticket, id) in files {
        blobs.delete(&BlobKey::new(tenant, *ticket, id.0)).await?;
    }
    Ok(())
}

/// Deletes the objects of attachments whose rows are gone (a deleted customer's tickets).
/// Each object is tried once; one that fails is logged by key for an operator, since no
/// row names it any more.
pub async fn erase(state: &AppState, tenant: TenantId, files: &[(TicketId, AttachmentId)]) {
    if files.is_empty() {
        return;
    }
    let Some(blobs) = state.blobs.as_ref() else {
        tracing::error!(count = files.len(), "attachment objects not erased: no blob store configured");
        return;
    };
    for (ticket, id) in files {
        let key = BlobKey::new(tenant, *ticket, id.0);
        if let Err(e) = blobs.delete(&key).await {
            tracing::error!(key = key.as_str(), error = %e, "attachment object not erased; delete it by hand");
        }
    }
}
