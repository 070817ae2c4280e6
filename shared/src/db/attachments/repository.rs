//! SQL for attachments.

use std::sync::LazyLock;

use tokio_postgres::Row;

use crate::{
    db::{DbError, Tx},
    events::OutboxEvent,
    ids::{AttachmentId, CommentId, CustomerId, TenantId, TicketId},
    model::Attachment,
    pagination::PageRequest,
    security::ActorId,
};

pub struct NewAttachment<'a> {
    pub id: AttachmentId,
    pub ticket: TicketId,
    pub comment: Option<CommentId>,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub author: ActorId,
}

const COLUMNS: &str = "id, ticket_id, comment_id, file_name, content_type, size, status, created_at";

fn attachment(row: &Row) -> Result<Attachment, DbError> {
    let status: &str = row.try_get("status")?;
    Ok(Attachment {
        id: AttachmentId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        comment_id: row.try_get::<_, Option<uuid::Uuid>>("comment_id")?.map(CommentId),
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        status: status.parse().map_err(|_| DbError::Corrupt(format!("attachment status `{status}`")))?,
        created_at: row.try_get("created_at")?,
    })
}

/// The PENDING row, when the ticket is this tenant's and the comment (if named) is one of
/// the ticket's; nothing otherwise.
pub(super) async fn insert(tx: &Tx, tenant: TenantId, new: &NewAttachment<'_>) -> Result<Option<Attachment>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO attachments (tenant_id, id, ticket_id, comment_id, file_name, content_type, size,
                                      author_id, author_api_key_id)
             SELECT t.tenant_id, $3, t.id, $4, $5, $6, $7, $8, $9 FROM tickets t
             WHERE t.tenant_id = $1 AND t.id = $2
               AND ($4::uuid IS NULL OR EXISTS (
                   SELECT 1 FROM comments c WHERE c.tenant_id = $1 AND c.id = $4 AND c.ticket_id = $2))
             RETURNING {COLUMNS}"
        )
    });
    let (user, key) = new.author.columns();
    let stmt = tx.client().prepare_cached(&SQL).await?;
    let comment = new.comment.map(|c| c.0);
    let row = tx
        .client()
        .query_opt(
            &stmt,
            &[&tenant.0, &new.ticket.0, &new.id.0, &comment, &new.file_name, &new.content_type, &new.size, &user, &key],
        )
        .await?;
    row.as_ref().map(attachment).transpose()
}

pub(super) async fn get(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    id: AttachmentId,
) -> Result<Option<Attachment>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {COLUMNS} FROM attachments WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3")
    });
    let stmt = tx.client().prepare_cached(&SQL).await?;
    tx.client().query_opt(&stmt, &[&tenant.0, &ticket.0, &id.0]).await?.as_ref().map(attachment).transpose()
}

/// Marks a PENDING row READY; answers the row as it is afterwards (READY either way).
/// PENDING → READY with its `attachment.added` outbox event, in one statement; `None` when
/// the attachment is not PENDING (gone, or completed by a concurrent call).
pub(super) async fn mark_ready(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    id: AttachmentId,
    event: &OutboxEvent,
) -> Result<Option<Attachment>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH a AS (UPDATE attachments SET status = 'READY', completed_at = now()
                        WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3 AND status = 'PENDING'
                        RETURNING {COLUMNS}),
                  o AS (INSERT INTO outbox (tenant_id, id, event_type, ticket_id, payload)
                        SELECT $1, $4, $5, $2, $6 FROM a)
             SELECT * FROM a"
        )
    });
    let stmt = tx.client().prepare_cached(&SQL).await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
        [&tenant.0, &ticket.0, &id.0, &event.id.0, &event.event_type, &event.payload];
    tx.client().query_opt(&stmt, &params).await?.as_ref().map(attachment).transpose()
}

pub(super) async fn delete(tx: &Tx, tenant: TenantId, ticket: TicketId, id: AttachmentId) -> Result<u64, DbError> {
    let stmt = tx
        .client()
        .prepare_cached("DELETE FROM attachments WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3")
        .await?;
    Ok(tx.client().execute(&stmt, &[&tenant.0, &ticket.0, &id.0]).await?)
}

/// READY attachments, oldest first, after `page.after`, one row more than the page.
pub(super) async fn list_ready(
    tx: &Tx,
    tenant: TenantId,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Vec<Attachment>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {COLUMNS} FROM attachments
             WHERE tenant_id = $1 AND ticket_id = $2 AND status = 'READY' AND ($3::uuid IS NULL OR id > $3)
             ORDER BY id LIMIT $4"
        )
    });
    let stmt = tx.client().prepare_cached(&SQL).await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &ticket.0, &page.after, &page.fetch_limit()]).await?;
    rows.iter().map(attachment).collect()
}

/// The (ticket, attachment) ids of every attachment, in any state, on the customer's tickets.
pub(super) async fn of_customer(
    tx: &Tx,
    tenant: TenantId,
    customer: CustomerId,
) -> Result<Vec<(TicketId, AttachmentId)>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "SELECT a.ticket_id, a.id FROM attachments a
             JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
             WHERE a.tenant_id = $1 AND t.customer_id = $2",
        )
        .await?;
    let rows = tx.client().query(&stmt, &[&tenant.0, &customer.0]).await?;
    rows.iter().map(|r| Ok((TicketId(r.try_get(0)?), AttachmentId(r.try_get(1)?)))).collect()
}
