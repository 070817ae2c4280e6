//! SQL for the notification log.

use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    db::{DbError, Tx, keyset::KeysetQuery},
    ids::{EventId, NotificationId, TenantId, TicketId, UserId},
    model::Notification,
};

fn notification(row: &Row) -> Result<Notification, DbError> {
    Ok(Notification {
        id: NotificationId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        event_type: row.try_get("event_type")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Newest first, optionally for one ticket.
pub(super) async fn list(
    tx: &Tx,
    tenant: TenantId,
    ticket: Option<TicketId>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, DbError> {
    let ticket = ticket.map(|t| t.0);
    let select = "SELECT id, ticket_id, event_type, message, created_at FROM notifications".to_owned();
    let rows = KeysetQuery::new(select, "tenant_id", &tenant.0)
        .and("ticket_id =", &ticket)
        .fetch(tx, "id", &after, &limit)
        .await?;
    rows.iter().map(notification).collect()
}

/// Writes one tenant's notifications in one statement, one per event id: an event
/// recorded before, or whose ticket is gone (its customer was deleted meanwhile), writes
/// nothing. Answers, for each event written now, who its mail would go to.
pub(super) async fn record_all(
    tx: &Tx,
    tenant: TenantId,
    rows: &[NewNotification<'_>],
) -> Result<Vec<Written>, DbError> {
    let stmt = tx
        .client()
        .prepare_cached(
            "WITH n AS (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::uuid[])
                            AS n (id, event_id, ticket_id, event_type, message, mail_user)),
                  w AS (INSERT INTO notifications (tenant_id, id, event_id, ticket_id, event_type, message)
                        SELECT $1, n.id, n.event_id, n.ticket_id, n.event_type, n.message FROM n
                        WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.tenant_id = $1 AND t.id = n.ticket_id)
                        ON CONFLICT (event_id) DO NOTHING
                        RETURNING event_id)
             SELECT w.event_id, t.title, c.name AS customer_name, c.email AS customer_email, u.email AS user_email
             FROM w
             JOIN n ON n.event_id = w.event_id
             JOIN tickets t ON t.tenant_id = $1 AND t.id = n.ticket_id
             JOIN customers c ON c.tenant_id = $1 AND c.id = t.customer_id
             LEFT JOIN users u ON u.tenant_id = $1 AND u.id = n.mail_user AND NOT u.disabled",
        )
        .await?;
    let column = |f: fn(&NewNotification<'_>) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let text = |f: for<'a> fn(&'a NewNotification<'a>) -> &'a str| rows.iter().map(f).collect::<Vec<_>>();
    let mail_users: Vec<Option<Uuid>> = rows.iter().map(|n| n.mail_user.map(|u| u.0)).collect();
    let written = tx
        .client()
        .query(
            &stmt,
            &[
                &tenant.0,
                &column(|n| n.id.0),
                &column(|n| n.event_id),
                &column(|n| n.ticket_id.0),
                &text(|n| n.event_type),
                &text(|n| n.message),
                &mail_users,
            ],
        )
        .await?;
    written
        .iter()
        .map(|row| {
            Ok(Written {
                event_id: EventId(row.try_get("event_id")?),
                ticket_title: row.try_get("title")?,
                customer_name: row.try_get("customer_name")?,
                customer_email: row.try_get("customer_email")?,
                user_email: row.try_get("user_email")?,
            })
        })
        .collect()
}

/// An event's notification, written now, and the people its mail may go to.
#[derive(Debug, Clone)]
pub struct Written {
    pub event_id: EventId,
    pub ticket_title: String,
    pub customer_name: String,
    pub customer_email: String,
    /// The address of the notice's `mail_user`, when that user exists and is active.
    pub user_email: Option<String>,
}

/// A notification to write.
pub(super) struct NewNotification<'a> {
    pub id: NotificationId,
    pub event_id: Uuid,
    pub ticket_id: TicketId,
    pub event_type: &'a str,
    pub message: &'a str,
    /// The user whose address the answer carries (an assignee to mail).
    pub mail_user: Option<UserId>,
}
